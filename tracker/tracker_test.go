package tracker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRoundTrip(t *testing.T) {
	path := testTarget(t)
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := db.StartRun(context.Background(), RunSpec{
		Experiment: "toy", Name: "toy-seed3", Config: "seed: 3\n", Seed: 3,
		GitCommit: "abc", Command: "vaebm run x.yaml", Params: map[string]string{"ebm.lr": "0.0001"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for s := 1; s <= 1000; s++ {
		r.Log("loss", s, float64(s))
	}
	art := filepath.Join(t.TempDir(), "a.txt")
	if err := writeFile(art, "hello"); err != nil {
		t.Fatal(err)
	}
	if err := r.Artifact(art, "table"); err != nil {
		t.Fatal(err)
	}
	if err := r.Finish(); err != nil {
		t.Fatal(err)
	}
	r2, err := db.StartRun(context.Background(), RunSpec{Experiment: "toy", Name: "bad", Config: "{}"})
	if err != nil {
		t.Fatal(err)
	}
	if err := r2.Fail(errors.New("ebm: energy became NaN at step 12")); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// Reopen: everything must have reached the disk.
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.Get(r.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := RunInfo{ID: r.ID, Experiment: "toy", Name: "toy-seed3", Status: Finished, Config: "seed: 3\n",
		Command: "vaebm run x.yaml", Seed: 3, GitCommit: "abc", Host: db.host, PID: os.Getpid(),
		Params: map[string]string{"ebm.lr": "0.0001"}, Metrics: map[string]float64{"loss": 1000},
		Artifacts: []Artifact{{Path: art, Kind: "table",
			SHA256: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}}}
	if diff := cmp.Diff(want, got, cmp.FilterPath(func(p cmp.Path) bool {
		n := p.Last().String()
		return n == ".Started" || n == ".Ended" || n == ".Heartbeat"
	}, cmp.Ignore())); diff != "" {
		t.Fatalf("run mismatch (-want +got):\n%s", diff)
	}
	steps, vals, err := db.Series(r.ID, "loss")
	if err != nil || len(steps) != 1000 || vals[999] != 1000 {
		t.Fatalf("series: %d points, err %v", len(steps), err)
	}
	bad, err := db.Get(r2.ID)
	if err != nil || bad.Status != Failed || bad.Error != "ebm: energy became NaN at step 12" {
		t.Fatalf("failed run stored as %+v (err %v)", bad, err)
	}
	runs, err := db.Runs("toy")
	if err != nil || len(runs) != 2 || runs[0].ID != r2.ID {
		t.Fatalf("runs: %+v (err %v)", runs, err)
	}
}

func TestOpenRejectsCorruptFile(t *testing.T) {
	sqliteOnly(t)
	path := filepath.Join(t.TempDir(), "runs.db")
	if err := writeFile(path, "this is not a database, just text that is long enough to have a header..."); err != nil {
		t.Fatal(err)
	}
	_, err := Open(path)
	if err == nil {
		t.Fatal("opening a corrupt file succeeded")
	}
	if want := path; !contains(err.Error(), want) {
		t.Fatalf("error %q does not name %s", err, want)
	}
}

func TestShortCommit(t *testing.T) {
	for _, tc := range []struct {
		commit string
		dirty  bool
		want   string
	}{
		{"e57b14349192" + "7e84bd396b8", false, "e57b14349192"},
		{"e57b14349192" + "7e84bd396b8", true, "e57b14349192-dirty"},
		{"unknown", true, "unknown-dirty"},
		{"", false, ""},
	} {
		if got := (RunInfo{GitCommit: tc.commit, GitDirty: tc.dirty}).ShortCommit(); got != tc.want {
			t.Errorf("%q dirty %v: %q, want %q", tc.commit, tc.dirty, got, tc.want)
		}
	}
}
