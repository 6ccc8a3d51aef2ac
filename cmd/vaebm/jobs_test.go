package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaebm/vaebm/tracker"
)

// TestAblateJobs: `ablate --jobs 2` runs a table's cells two at a time as
// child processes into one database, each line labelled with its cell, and
// a second ablate finds every cell done.
func TestAblateJobs(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "vaebm")
	if b, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building vaebm: %v\n%s", err, b)
	}
	out := filepath.Join(dir, "out")
	ablate := []string{"--out", out, "ablate", "toy-25gaussians", "scale=smoke", "seeds=[0,1]", "--jobs", "2"}
	b, err := exec.Command(bin, ablate...).CombinedOutput()
	if err != nil {
		t.Fatalf("ablate --jobs 2: %v\n%s", err, b)
	}
	for _, want := range []string{"[toy-25gaussians: row 1 of 4, True, seed 1] run ", "[toy-25gaussians: row 4 of 4, EBM on x, seed 0] run "} {
		if !strings.Contains(string(b), want) {
			t.Errorf("output lacks %q:\n%s", want, b)
		}
	}
	db, err := tracker.Open(filepath.Join(out, "vaebm.db"))
	if err != nil {
		t.Fatal(err)
	}
	runs, err := db.Query(tracker.Filter{Status: tracker.Finished})
	db.Close()
	if err != nil || len(runs) != 4 {
		t.Fatalf("%d finished runs, want 4 (2 cells × 2 seeds): %v", len(runs), err)
	}
	// The four ran two at a time: some run started before another ended.
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatalf("time %q: %v", s, err)
		}
		return v
	}
	overlap := false
	for _, a := range runs {
		for _, b := range runs {
			if a.ID != b.ID && at(a.Started).Before(at(b.Ended)) && at(b.Started).Before(at(a.Ended)) {
				overlap = true
			}
		}
	}
	if !overlap {
		t.Error("no two runs overlapped in time: --jobs 2 ran them one by one")
	}
	again, err := exec.Command(bin, ablate...).CombinedOutput()
	if err != nil || strings.Count(string(again), "done: run") != 4 {
		t.Errorf("a second ablate: %v\n%s", err, again)
	}
}
