package data

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// WriteNPYFloat32 writes values, row-major with the given shape, as a NumPy
// .npy file: format version 1.0, dtype '<f4' (little-endian float32), C
// order, so that numpy.load returns an array of that shape. Like
// WriteIDXFloat32 it writes through a temporary file renamed into place.
func WriteNPYFloat32(path string, shape []int, values []float32) (err error) {
	total := 1
	dims := make([]string, len(shape))
	for i, d := range shape {
		if d < 0 {
			return fmt.Errorf("npy %s: dimension %d is %d", path, i, d)
		}
		total *= d
		dims[i] = fmt.Sprint(d)
	}
	if total != len(values) {
		return fmt.Errorf("npy %s: shape %v holds %d values, got %d", path, shape, total, len(values))
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	header := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", tuple)
	// Magic (6) + version (2) + header length (2) + header, padded with
	// spaces and ended by '\n' to a multiple of 64 bytes (NumPy's alignment).
	pad := 64 - (10+len(header)+1)%64
	if pad == 64 {
		pad = 0
	}
	header += strings.Repeat(" ", pad) + "\n"
	if len(header) > math.MaxUint16 {
		return fmt.Errorf("npy %s: header of %d bytes does not fit version 1.0", path, len(header))
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("npy %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("npy %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	w := bufio.NewWriter(f)
	w.WriteString("\x93NUMPY\x01\x00")
	binary.Write(w, binary.LittleEndian, uint16(len(header)))
	w.WriteString(header)
	var buf [4]byte
	for _, v := range values {
		binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
		w.Write(buf[:])
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("npy %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("npy %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("npy %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("npy %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("npy %s: %w", path, err)
	}
	return nil
}
