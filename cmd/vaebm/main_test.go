package main

import (
	"context"
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := run(context.Background(), tc.args); got != tc.code {
				t.Fatalf("exit code %d, want %d", got, tc.code)
			}
		})
	}
}
