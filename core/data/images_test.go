package data

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// Fashion-MNIST is found through data.dir, then $VAEBM_FASHION_DIR, then
// Debian's folder; a missing set names the folder and how to get it.
func TestFashionMNISTFolder(t *testing.T) {
	set := ImageSets["fashion-mnist"]
	env := fixture(t, true)
	t.Setenv(FashionEnv, env)
	if d, _ := set.Dir(""); d != env {
		t.Errorf("with $%s set: %s", FashionEnv, d)
	}
	if d, _ := set.Dir("/elsewhere"); d != "/elsewhere" {
		t.Errorf("data.dir overrides the environment: %s", d)
	}
	t.Setenv(FashionEnv, "")
	if d, _ := set.Dir(""); d != FashionDebianDir {
		t.Errorf("default: %s", d)
	}
	// The fixture is 2×3, not 28×28: Load checks the set's shape.
	if _, err := set.Load(env, "train"); err == nil || !strings.Contains(err.Error(), "want 1×28×28") {
		t.Errorf("shape check: %v", err)
	}
	nowhere := filepath.Join(t.TempDir(), "nowhere")
	_, err := set.Load(nowhere, "train")
	if !errors.Is(err, ErrMissingDataset) || !strings.Contains(err.Error(), nowhere) ||
		!strings.Contains(err.Error(), "dataset-fashion-mnist") || !strings.Contains(err.Error(), FashionEnv) {
		t.Errorf("missing folder: %v", err)
	}
}

// Debian's package holds the real files: when installed they load with the
// documented sizes and labels.
func TestLoadRealFashionMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 30 MB")
	}
	set := ImageSets["fashion-mnist"]
	for split, n := range map[string]int{"train": 60000, "test": 10000} {
		m, err := set.Load(FashionDebianDir, split)
		if errors.Is(err, ErrMissingDataset) {
			t.Skip(err)
		}
		if err != nil {
			t.Fatal(err)
		}
		counts := make([]int, 10)
		for _, l := range m.Labels {
			counts[l]++
		}
		for c, k := range counts {
			if k != n/10 {
				t.Errorf("%s: class %d has %d images, want %d", split, c, k, n/10)
			}
		}
	}
}

func TestImagesFloat32(t *testing.T) {
	m := &Images{N: 3, C: 1, H: 1, W: 2, Pixels: []uint8{0, 255, 51, 102, 204, 1}, Labels: []uint8{0, 1, 2}}
	got := m.Float32(1, 2)
	want := []float32{0.2, 0.4, 0.8, 1.0 / 255}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Float32(1, 2) = %v, want %v", got, want)
		}
	}
}
