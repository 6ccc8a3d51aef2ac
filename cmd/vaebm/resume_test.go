package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vaebm/vaebm/tracker"
)

// childArgs, when set, makes this test binary act as `vaebm` with these
// arguments (separated by newlines), so the test can SIGKILL a real process.
const childArgs = "VAEBM_TEST_CHILD_ARGS"

func TestMain(m *testing.M) {
	if a := os.Getenv(childArgs); a != "" {
		os.Exit(run(context.Background(), strings.Split(a, "\n")))
	}
	os.Exit(m.Run())
}

// A training process killed with SIGKILL shows as crashed; `run --resume`
// continues it into the same run record from its last checkpoint, and the
// finished run has every metric step exactly once and the same values as
// an uninterrupted run with the same seed.
func TestKillAndResume(t *testing.T) {
	exp := []string{"run", "../../experiments/toy-25gaussians.yaml", "scale=smoke",
		"ebm.steps=800", "ebm.checkpoint_every=25", "ebm.log_every=5", "vae.checkpoint_every=10"}
	whole, killed := t.TempDir(), t.TempDir()
	if code := run(context.Background(), append([]string{"--out", whole}, exp...)); code != exitOK {
		t.Fatalf("uninterrupted run exited %d", code)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childArgs+"="+strings.Join(append([]string{"--out", killed}, exp...), "\n"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(killed, "runs", "1", "ebm.state")
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(state); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no EBM checkpoint %s after 2 minutes", state)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	db, err := tracker.Open(filepath.Join(killed, "vaebm.db"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := db.Get(1)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != tracker.Crashed {
		t.Fatalf("killed run reads as %q, want %q (if finished, the kill came too late: raise ebm.steps)", r.Status, tracker.Crashed)
	}
	if code := run(context.Background(), []string{"--out", killed, "run", "--resume", "1"}); code != exitOK {
		t.Fatalf("resume exited %d", code)
	}

	a, err := tracker.Open(filepath.Join(whole, "vaebm.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := tracker.Open(filepath.Join(killed, "vaebm.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ra, _ := a.Get(1)
	rb, err := b.Get(1)
	if err != nil {
		t.Fatal(err)
	}
	if rb.Status != tracker.Finished || rb.Resumes != 1 {
		t.Fatalf("resumed run: status %s, resumes %d", rb.Status, rb.Resumes)
	}
	var compared int
	for key := range ra.Metrics {
		if strings.HasPrefix(key, "time/") {
			continue // wall-clock times differ by nature
		}
		sa, va, _ := a.Series(1, key)
		sb, vb, _ := b.Series(1, key)
		for i := 1; i < len(sb); i++ {
			if sb[i] <= sb[i-1] {
				t.Fatalf("%s: step %d stored twice or out of order in the resumed run", key, sb[i])
			}
		}
		if !slices.Equal(sa, sb) || !slices.Equal(va, vb) {
			t.Errorf("%s differs: uninterrupted %d points, last %v; resumed %d points, last %v", key, len(sa), va[len(va)-1], len(sb), vb[len(vb)-1])
		}
		compared++
	}
	if len(rb.Metrics) != len(ra.Metrics) || compared < 20 {
		t.Fatalf("compared %d keys; uninterrupted run has %d keys, resumed %d", compared, len(ra.Metrics), len(rb.Metrics))
	}
	t.Logf("killed after the first EBM checkpoint, resumed; %d metric series identical to the uninterrupted run (eval/vaebm_ll %v)", compared, rb.Metrics["eval/vaebm_ll"])
	// The table written after the resume takes the first command's
	// overrides (scale=smoke …), so the resumed run fills its VAEBM cell.
	raw, err := os.ReadFile(filepath.Join(killed, "tables", "toy-25gaussians.csv"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	filled := false
	for _, r := range recs[1:] {
		if r[0] == "VAEBM" {
			filled = r[1] != ""
		}
	}
	if recs[0][1] != "test_ll_nats" || !filled {
		t.Fatalf("table after the resume has no VAEBM test LL:\n%s", raw)
	}
}

func TestRecordedOverrides(t *testing.T) {
	for _, tc := range []struct {
		command string
		want    []string
	}{
		{"vaebm run experiments/toy.yaml scale=smoke ebm.steps=800", []string{"scale=smoke", "ebm.steps=800"}},
		{"vaebm run --force experiments/toy.yaml seeds=[0,1]", []string{"seeds=[0,1]"}},
		{"vaebm run experiments/toy.yaml", nil},
		{"vaebm ablate ablations/table4.yaml seeds=[1]", nil},
		{"", nil},
	} {
		if got := recordedOverrides(tc.command); !slices.Equal(got, tc.want) {
			t.Errorf("%q: %q, want %q", tc.command, got, tc.want)
		}
	}
}

// Resuming from a corrupt training-state file fails with one message that
// names the file, and keeps everything the run recorded before.
func TestResumeFromCorruptState(t *testing.T) {
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	state := filepath.Join(out, "runs", "1", "ebm.state")
	go func() {
		for ctx.Err() == nil {
			if _, err := os.Stat(state); err == nil {
				cancel()
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	code := run(ctx, []string{"--out", out, "run", "../../experiments/toy-25gaussians.yaml", "scale=smoke",
		"ebm.steps=800", "ebm.checkpoint_every=25", "ebm.log_every=5"})
	cancel()
	if code != exitFailure {
		t.Fatalf("interrupted run exited %d, want %d", code, exitFailure)
	}
	db, err := tracker.Open(filepath.Join(out, "vaebm.db"))
	if err != nil {
		t.Fatal(err)
	}
	before, err := db.Get(1)
	db.Close()
	if err != nil || before.Status != tracker.Killed {
		t.Fatalf("interrupted run: %+v, %v", before.Status, err)
	}
	raw, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 0xff
	if err := os.WriteFile(state, raw, 0o644); err != nil {
		t.Fatal(err)
	}

	stderr := captureStderr(t, func() {
		if code := run(context.Background(), []string{"--out", out, "run", "--resume", "1"}); code != exitFailure {
			t.Errorf("resume from a corrupt state exited %d, want %d", code, exitFailure)
		}
	})
	t.Logf("resume said: %s", strings.TrimSpace(stderr))
	if !strings.Contains(stderr, state) || !strings.Contains(stderr, "corrupt checkpoint") {
		t.Errorf("message does not name the corrupt file %s:\n%s", state, stderr)
	}
	db, err = tracker.Open(filepath.Join(out, "vaebm.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	after, err := db.Get(1)
	if err != nil {
		t.Fatal(err)
	}
	if after.Status != tracker.Failed || after.Metrics["vae/neg_elbo"] != before.Metrics["vae/neg_elbo"] {
		t.Fatalf("after the failed resume: status %s, vae/neg_elbo %v (was %v)", after.Status, after.Metrics["vae/neg_elbo"], before.Metrics["vae/neg_elbo"])
	}
	steps, _, _ := db.Series(1, "vae/neg_elbo")
	if len(steps) == 0 {
		t.Fatal("the VAE's curve was lost")
	}
}
