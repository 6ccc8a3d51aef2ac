package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bad input gives one clear message and a usage exit code, never a panic.
func TestBadInputExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("name: x\nmethod: vaebm\nvae:\n  hiden: 3\n"), 0o644)
	corruptDB := filepath.Join(dir, "corrupt")
	os.MkdirAll(corruptDB, 0o755)
	os.WriteFile(filepath.Join(corruptDB, "vaebm.db"), []byte(strings.Repeat("garbage ", 100)), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"no command", nil, exitUsage},
		{"unknown command", []string{"frobnicate"}, exitUsage},
		{"missing file", []string{"--out", dir, "run", filepath.Join(dir, "nope.yaml")}, exitFailure},
		{"unknown key", []string{"--out", dir, "run", bad}, exitUsage},
		{"bad override", []string{"--out", dir, "run", "../../experiments/toy-25gaussians.yaml", "ebm.nope=1"}, exitUsage},
		{"corrupt db", []string{"--out", corruptDB, "runs"}, exitFailure},
		{"unknown run", []string{"--out", dir, "runs", "show", "42"}, exitFailure},
		{"unknown table", []string{"--out", dir, "table", "table9"}, exitFailure},
		{"check with cells missing", []string{"--out", dir, "check", "toy-25gaussians"}, exitFailure},
		{"bad metric filter", []string{"--out", dir, "runs", "--metric", "eval/ll~1"}, exitUsage},
		{"bad status filter", []string{"--out", dir, "runs", "--status", "done"}, exitUsage},
		{"bad sort", []string{"--out", dir, "runs", "--sort", "name"}, exitUsage},
		{"resume unknown run", []string{"--out", dir, "run", "--resume", "42"}, exitFailure},
		{"resume with a file", []string{"--out", dir, "run", "--resume", "1", "x.yaml"}, exitUsage},
		{"unknown workload", []string{"bench", "resnet9"}, exitUsage},
		{"unknown bench flag", []string{"bench", "--bogus", "mlp"}, exitUsage},
		{"serve without a database", []string{"--out", filepath.Join(dir, "empty"), "serve"}, exitFailure},
		{"serve a corrupt database", []string{"--out", corruptDB, "serve", "--addr", "127.0.0.1:0"}, exitFailure},
		{"serve with an argument", []string{"--out", dir, "serve", "now"}, exitUsage},
		{"report without --html", []string{"--out", dir, "report"}, exitUsage},
		{"ablate without a table", []string{"--out", dir, "ablate"}, exitUsage},
		{"ablate a bad override", []string{"--out", dir, "ablate", "../../ablations/table4.yaml", "ebm.nope=1"}, exitUsage},
		{"ablate one seed", []string{"--out", dir, "ablate", "table4", "seed=1"}, exitUsage},
		{"ablate bad seeds", []string{"--out", dir, "ablate", "table4", "seeds=one"}, exitUsage},
		{"ablate a bad table", []string{"--out", dir, "ablate", bad}, exitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := run(context.Background(), tc.args); got != tc.code {
				t.Fatalf("exit code %d, want %d", got, tc.code)
			}
		})
	}
}

// stdout runs f and returns what it printed on standard output.
func stdout(t *testing.T, f func()) string { return capture(t, &os.Stdout, f) }

// captureStderr runs f and returns what it printed on standard error.
func captureStderr(t *testing.T, f func()) string { return capture(t, &os.Stderr, f) }

// capture runs f with *file redirected to a pipe and returns what was
// written to it.
func capture(t *testing.T, file **os.File, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := *file
	*file = w
	done := make(chan []byte)
	go func() { b, _ := io.ReadAll(r); done <- b }()
	f()
	*file = old
	w.Close()
	return string(<-done)
}

// runs --format json and csv carry each run's params and final metrics,
// so that a script can select runs by config and read their results.
func TestRunsForScripts(t *testing.T) {
	out := t.TempDir()
	if code := run(context.Background(), []string{"--out", out, "run", "../../experiments/toy-25gaussians.yaml", "scale=smoke", "ebm.lr=0.002"}); code != exitOK {
		t.Fatalf("smoke run exited %d", code)
	}
	var runs []struct {
		ID      int64              `json:"id"`
		Params  map[string]string  `json:"params"`
		Metrics map[string]float64 `json:"metrics"`
	}
	js := stdout(t, func() {
		run(context.Background(), []string{"--out", out, "runs", "--format", "json", "--param", "ebm.lr=0.002"})
	})
	if err := json.Unmarshal([]byte(js), &runs); err != nil {
		t.Fatalf("%v:\n%s", err, js)
	}
	if len(runs) != 1 || runs[0].Params["scale"] != "smoke" || runs[0].Params["ebm.lr"] != "0.002" {
		t.Fatalf("runs %+v", runs)
	}
	if _, ok := runs[0].Metrics["eval/vaebm_ll"]; !ok {
		t.Errorf("no final eval/vaebm_ll among %v", runs[0].Metrics)
	}
	c := stdout(t, func() { run(context.Background(), []string{"--out", out, "runs", "--format", "csv"}) })
	recs, err := csv.NewReader(strings.NewReader(c)).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("csv %q: %v", c, err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	for _, h := range []string{"params.ebm.lr", "metrics.eval/vaebm_ll"} {
		if i, ok := col[h]; !ok || recs[1][i] == "" {
			t.Errorf("csv column %s missing or empty: %v", h, recs[0])
		}
	}
}
