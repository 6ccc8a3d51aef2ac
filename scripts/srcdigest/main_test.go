package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyModule copies this module's files (not .git, out/ or the binary)
// into a fresh folder and returns it.
func copyModule(t *testing.T) string {
	t.Helper()
	src, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			if rel != "." && (strings.HasPrefix(d.Name(), ".") || rel == "out") {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if rel == "vaebm" || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// The digest is the code's that stages run: a documentation or test edit
// keeps it, and so does an edit of the tables, the command line or the
// ablation runner, which no stage runs; an edit of core/vae changes it.
func TestDigestFollowsTheCode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list on a copy of the module")
	}
	dir := copyModule(t)
	digest := func() string {
		t.Helper()
		d, err := Digest(dir, "./pipeline")
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	appendTo := func(rel, text string) {
		t.Helper()
		f, err := os.OpenFile(filepath.Join(dir, rel), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(text); err != nil {
			t.Fatal(err)
		}
	}
	base := digest()
	tests := []struct {
		name, file, text string
		changes          bool
	}{
		{"a README edit", "README.md", "\nmore words\n", false},
		{"a test edit", "core/vae/vae_test.go", "\n// another comment\n", false},
		{"an ablations edit", "ablations/ablate.go", "\n// another comment\n", false},
		{"a command-line edit", "cmd/vaebm/main.go", "\n// another comment\n", false},
		{"a core/vae edit", "core/vae/vae.go", "\n// another comment\n", true},
	}
	for _, tc := range tests {
		appendTo(tc.file, tc.text)
		got := digest()
		if (got != base) != tc.changes {
			t.Errorf("%s: digest %s → %s, want a change: %v", tc.name, base, got, tc.changes)
		}
		base = got
	}
}
