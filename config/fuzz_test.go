package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad feeds the experiment loader arbitrary files (extending the
// shipped base.yaml) and the stored-config parser the same bytes: neither
// may panic, and a refused file must be named in the message. `go test`
// runs the seeds (every shipped experiment file); `make fuzz` explores.
func FuzzLoad(f *testing.F) {
	base, err := os.ReadFile("../experiments/base.yaml")
	if err != nil {
		f.Fatal(err)
	}
	files, _ := filepath.Glob("../experiments/*.yaml")
	for _, p := range files {
		src, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add([]byte("name: x\nscales: {quick: {ebm: {lr: [1]}}}\n"))
	f.Add([]byte("&a [*a, *a]"))
	f.Add([]byte("extends: fuzz.yaml\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "base.yaml"), base, 0o644); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "fuzz.yaml")
		if err := os.WriteFile(path, src, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(path, []string{"seed=1"}); err != nil && !strings.Contains(err.Error(), "fuzz.yaml") {
			t.Errorf("the error does not name the file: %v", err)
		}
		if _, err := Parse(src, "stored config"); err != nil && !strings.Contains(err.Error(), "stored config") {
			t.Errorf("the error does not name its origin: %v", err)
		}
	})
}
