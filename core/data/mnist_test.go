package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeIDX writes an unsigned-byte idx file, gzipped when the name ends in .gz.
func writeIDX(t *testing.T, path string, dims []int, data []byte) {
	t.Helper()
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0x08, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	out := b.Bytes()
	if strings.HasSuffix(path, ".gz") {
		var z bytes.Buffer
		w := gzip.NewWriter(&z)
		w.Write(out)
		w.Close()
		out = z.Bytes()
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// fixture writes a 5-image 2×3 "MNIST" whose image i is filled with 10·i and labelled i.
func fixture(t *testing.T, gz bool) string {
	dir := t.TempDir()
	ext := ""
	if gz {
		ext = ".gz"
	}
	var pix []byte
	for i := 0; i < 5; i++ {
		for k := 0; k < 6; k++ {
			pix = append(pix, byte(10*i))
		}
	}
	writeIDX(t, filepath.Join(dir, "train-images-idx3-ubyte"+ext), []int{5, 2, 3}, pix)
	writeIDX(t, filepath.Join(dir, "train-labels-idx1-ubyte"+ext), []int{5}, []byte{0, 1, 2, 3, 4})
	return dir
}

func TestLoadMNISTFixture(t *testing.T) {
	for _, gz := range []bool{false, true} {
		m, err := LoadMNIST(fixture(t, gz), "train")
		if err != nil {
			t.Fatalf("gz=%v: %v", gz, err)
		}
		if m.N != 5 || m.H != 2 || m.W != 3 || m.Image(3)[5] != 30 || m.Labels[4] != 4 {
			t.Fatalf("gz=%v: loaded %d×%d×%d, image 3 %v, labels %v", gz, m.N, m.H, m.W, m.Image(3), m.Labels)
		}
	}
}

// Each broken input gives an error naming the file (or folder) and the problem.
func TestLoadMNISTErrors(t *testing.T) {
	cases := []struct {
		name, want string
		breakIt    func(dir string)
		missing    bool
	}{
		{"no files", "neither train-images-idx3-ubyte", func(dir string) {
			os.Remove(filepath.Join(dir, "train-images-idx3-ubyte"))
		}, true},
		{"bad magic", "is not an unsigned-byte idx file", func(dir string) {
			os.WriteFile(filepath.Join(dir, "train-images-idx3-ubyte"), []byte{0, 0, 0x0d, 3, 0, 0, 0, 1}, 0o644)
		}, false},
		{"truncated", "header promises 30 bytes", func(dir string) {
			p := filepath.Join(dir, "train-images-idx3-ubyte")
			raw, _ := os.ReadFile(p)
			os.WriteFile(p, raw[:len(raw)-4], 0o644)
		}, false},
		{"label count", "has 4 labels for 5 images", func(dir string) {
			writeIDX(t, filepath.Join(dir, "train-labels-idx1-ubyte"), []int{4}, []byte{0, 1, 2, 3})
		}, false},
		{"label range", "is not a digit", func(dir string) {
			writeIDX(t, filepath.Join(dir, "train-labels-idx1-ubyte"), []int{5}, []byte{0, 1, 2, 3, 12})
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := fixture(t, false)
			tc.breakIt(dir)
			_, err := LoadMNIST(dir, "train")
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("got %v, want an error with %q naming %s", err, tc.want, dir)
			}
			if errors.Is(err, ErrMissingDataset) != tc.missing {
				t.Fatalf("ErrMissingDataset: %v, want %v", errors.Is(err, ErrMissingDataset), tc.missing)
			}
		})
	}
}

func TestStackedMNIST(t *testing.T) {
	m, err := LoadMNIST(fixture(t, false), "train")
	if err != nil {
		t.Fatal(err)
	}
	imgs, labels := StackedMNIST(rand.New(rand.NewPCG(1, 2)), m, 200)
	again, labels2 := StackedMNIST(rand.New(rand.NewPCG(1, 2)), m, 200)
	if !slices.Equal(imgs, again) || !slices.Equal(labels, labels2) {
		t.Fatal("StackedMNIST is not deterministic given the seed")
	}
	seen := map[int]bool{}
	for i, l := range labels {
		// Fixture image k is filled with 10k/255 and labelled k, so each
		// channel's first pixel gives its digit.
		d := [3]int{}
		for c := range d {
			d[c] = int(imgs[(i*3+c)*6]*255/10 + 0.5)
		}
		if l != 100*d[0]+10*d[1]+d[2] {
			t.Fatalf("sample %d: label %d, channels hold digits %v", i, l, d)
		}
		seen[l] = true
	}
	// 125 possible triples of digits 0–4; 200 draws should find most.
	if len(seen) < 60 {
		t.Errorf("only %d distinct triples in 200 draws", len(seen))
	}
}

// The real files ship in the GoMNIST module: when it is present they must
// load with MNIST's documented sizes.
func TestLoadRealMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 11 MB")
	}
	dir, err := MNISTDir()
	if err != nil {
		t.Skip(err)
	}
	for split, n := range map[string]int{"train": 60000, "test": 10000} {
		m, err := LoadMNIST(dir, split)
		if err != nil {
			t.Fatal(err)
		}
		if m.N != n || m.H != 28 || m.W != 28 {
			t.Errorf("%s: %d×%d×%d", split, m.N, m.H, m.W)
		}
	}
}
