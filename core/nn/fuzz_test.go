package nn

import (
	"crypto/sha256"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// sealed gives body a checkpoint's magic and a valid SHA-256 trailer, so
// that fuzzing reaches the parser behind the checksum.
func sealed(magic string, body []byte) []byte {
	b := append([]byte(magic), body...)
	sum := sha256.Sum256(b)
	return append(b, sum[:]...)
}

// FuzzLoadParams: any file, raw or behind a valid checksum, loads into the
// model's parameters or gives an error; never a panic.
func FuzzLoadParams(f *testing.F) {
	m := NewMLP(rand.New(rand.NewPCG(1, 1)), "m", []int{2, 3, 1}, "swish")
	path := filepath.Join(f.TempDir(), "m.ckpt")
	if err := SaveParams(path, m.Params()); err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[len(checkpointMagic) : len(good)-sha256.Size])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "x.ckpt")
		for _, content := range [][]byte{b, sealed(checkpointMagic, b)} {
			if err := os.WriteFile(p, content, 0o644); err != nil {
				t.Fatal(err)
			}
			_ = LoadParams(p, m.Params())
		}
	})
}
