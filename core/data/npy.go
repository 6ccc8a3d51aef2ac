package data

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/vaebm/vaebm/internal/atomicfile"
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
	err = atomicfile.Write(path, func(w io.Writer) error {
		var head bytes.Buffer
		head.WriteString("\x93NUMPY\x01\x00")
		binary.Write(&head, binary.LittleEndian, uint16(len(header)))
		head.WriteString(header)
		return writeFloat32s(w, binary.LittleEndian, head.Bytes(), values)
	})
	if err != nil {
		return fmt.Errorf("npy: %w", err)
	}
	return nil
}
