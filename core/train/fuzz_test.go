package train

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"

	"github.com/vaebm/vaebm/core/nn"
)

// FuzzLoadState: any training-state file, raw or behind a valid checksum,
// decodes into a stage's state or gives an error; never a panic.
func FuzzLoadState(f *testing.F) {
	const magic = "VAEBMSTATE1"
	path := filepath.Join(f.TempDir(), "s.state")
	st := &stageState{Step: 3, Params: [][]float32{{1, 2}}, RNG: []byte{1, 2, 3}, Sums: []float64{0.5},
		Replay: [][][]float32{{{1}}}, Spectral: [][]float64{{1, 2}}}
	if err := nn.SaveState(path, st); err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[len(magic) : len(good)-sha256.Size])
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "x.state")
		sealed := append([]byte(magic), b...)
		sum := sha256.Sum256(sealed)
		for _, content := range [][]byte{b, append(sealed, sum[:]...)} {
			if err := os.WriteFile(p, content, 0o644); err != nil {
				t.Fatal(err)
			}
			var got stageState
			_ = nn.LoadState(p, &got)
		}
	})
}
