package data

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// CIFAR10Env overrides where the CIFAR-10 binary files are looked for.
const CIFAR10Env = "VAEBM_CIFAR10_DIR"

// The CIFAR-10 binary version: each record is a label byte followed by a
// 32×32 image as 1,024 red, 1,024 green and 1,024 blue bytes, row by row
// (https://www.cs.toronto.edu/~kriz/cifar.html).
const (
	cifarSide   = 32
	cifarImage  = 3 * cifarSide * cifarSide
	CIFARRecord = 1 + cifarImage // 3,073 bytes
)

// CIFAR10Files lists the files of each split.
var CIFAR10Files = map[string][]string{
	"train": {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"},
	"test":  {"test_batch.bin"},
}

// LoadCIFAR10 reads split "train" (50,000 images) or "test" (10,000) of the
// CIFAR-10 binary version from dir (any whole number of records per file,
// so that subsets work; the official files hold 10,000 each), or from dir/cifar-10-batches-bin, where
// the archive unpacks. Nothing is downloaded: when files are missing the
// error names the folder and every file expected there.
func LoadCIFAR10(dir, split string) (*Images, error) {
	names, ok := CIFAR10Files[split]
	if !ok {
		return nil, fmt.Errorf("CIFAR-10: unknown split %q (want train or test)", split)
	}
	missing := func(d string) []string {
		var out []string
		for _, n := range names {
			if _, err := os.Stat(filepath.Join(d, n)); err != nil {
				out = append(out, n)
			}
		}
		return out
	}
	miss := missing(dir)
	if sub := filepath.Join(dir, "cifar-10-batches-bin"); len(miss) > 0 && len(missing(sub)) == 0 {
		dir, miss = sub, nil
	}
	if len(miss) > 0 {
		return nil, fmt.Errorf("CIFAR-10: %w: %s lacks %s (the %s split of the binary version is %s; nothing is downloaded)",
			ErrMissingDataset, dir, strings.Join(miss, ", "), split, strings.Join(names, ", "))
	}
	m := &Images{C: 3, H: cifarSide, W: cifarSide}
	for _, n := range names {
		path := filepath.Join(dir, n)
		labels, pixels, err := readCIFARFile(path)
		if err != nil {
			return nil, err
		}
		m.Labels = append(m.Labels, labels...)
		m.Pixels = append(m.Pixels, pixels...)
	}
	m.N = len(m.Labels)
	return m, nil
}

func readCIFARFile(path string) (labels, pixels []uint8, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("CIFAR-10: %w: %s", ErrMissingDataset, path)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("CIFAR-10: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("CIFAR-10: %w", err)
	}
	labels, pixels, err = DecodeCIFAR10(f, st.Size())
	if err != nil {
		return nil, nil, fmt.Errorf("CIFAR-10 %s: %w", path, err)
	}
	return labels, pixels, nil
}

// DecodeCIFAR10 reads size bytes of CIFAR-10 records from r: size must be a
// positive multiple of 3,073 and every label a class below 10. It allocates
// no more than what r holds, whatever size claims.
func DecodeCIFAR10(r io.Reader, size int64) (labels, pixels []uint8, err error) {
	if size <= 0 || size%CIFARRecord != 0 {
		return nil, nil, fmt.Errorf("%d bytes is not a positive multiple of the %d-byte record (a label and a 3×32×32 image)", size, CIFARRecord)
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(r, size)); err != nil {
		return nil, nil, fmt.Errorf("reading: %w", err)
	}
	raw := buf.Bytes()
	if int64(len(raw)) != size {
		return nil, nil, fmt.Errorf("expected %d bytes, read %d", size, len(raw))
	}
	n := len(raw) / CIFARRecord
	labels = make([]uint8, n)
	pixels = make([]uint8, n*cifarImage)
	for i := 0; i < n; i++ {
		rec := raw[i*CIFARRecord : (i+1)*CIFARRecord]
		if rec[0] > 9 {
			return nil, nil, fmt.Errorf("record %d (byte %d): label %d is not a class 0–9", i, i*CIFARRecord, rec[0])
		}
		labels[i] = rec[0]
		copy(pixels[i*cifarImage:], rec[1:])
	}
	return labels, pixels, nil
}
