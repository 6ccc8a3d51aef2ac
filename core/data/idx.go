package data

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/vaebm/vaebm/internal/atomicfile"
)

// idxFloat32 is the IDX type byte for 4-byte IEEE floats.
const idxFloat32 = 0x0D

// WriteIDXFloat32 writes values, row-major with shape dims, as a big-endian
// float32 IDX file (type 0x0D), the format ReadIDXFloat32 reads. It creates
// the parent folder and writes through a temporary file renamed into place,
// so that an interrupted run never leaves a truncated file that looks valid.
func WriteIDXFloat32(path string, dims []int, values []float32) (err error) {
	if len(dims) > math.MaxUint8 {
		return fmt.Errorf("idx %s: %d dimensions, at most %d fit the header", path, len(dims), math.MaxUint8)
	}
	total := 1
	for i, d := range dims {
		if d < 0 || uint64(d) > math.MaxUint32 {
			return fmt.Errorf("idx %s: dimension %d is %d, outside the header's uint32", path, i, d)
		}
		// Comparing before multiplying keeps the product from overflowing.
		if d != 0 && total > len(values)/d {
			return fmt.Errorf("idx %s: dims %v hold more than the %d values given", path, dims, len(values))
		}
		total *= d
	}
	if total != len(values) {
		return fmt.Errorf("idx %s: dims %v hold %d values, got %d", path, dims, total, len(values))
	}

	err = atomicfile.Write(path, func(w io.Writer) error {
		head := []byte{0, 0, idxFloat32, byte(len(dims))}
		for _, d := range dims {
			head = binary.BigEndian.AppendUint32(head, uint32(d))
		}
		return writeFloat32s(w, binary.BigEndian, head, values)
	})
	if err != nil {
		return fmt.Errorf("idx: %w", err)
	}
	return nil
}

// writeFloat32s writes a file's header, then values in order's bytes: the
// body of both sample formats, IDX (big-endian) and NPY (little-endian).
func writeFloat32s(w io.Writer, order binary.ByteOrder, head []byte, values []float32) error {
	if _, err := w.Write(head); err != nil {
		return err
	}
	var buf [4]byte
	for _, v := range values {
		order.PutUint32(buf[:], math.Float32bits(v))
		if _, err := w.Write(buf[:]); err != nil {
			return err
		}
	}
	return nil
}

// ReadIDXFloat32 reads a big-endian float32 IDX file (type 0x0D) of any
// number of dimensions. The file size must match the header exactly; the
// header is checked against the size before anything is allocated, so a
// corrupt or foreign file gives an error, not a huge allocation or a panic.
func ReadIDXFloat32(path string) (values []float32, dims []int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("idx: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("idx %s: %w", path, err)
	}
	size := st.Size()
	r := bufio.NewReader(f)
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, nil, fmt.Errorf("idx %s: truncated header (%d bytes): %w", path, size, err)
	}
	if head[0] != 0 || head[1] != 0 || head[2] != idxFloat32 {
		return nil, nil, fmt.Errorf("idx %s: header %x is not a float32 idx file (want 00 00 0d)", path, head)
	}
	ndim := int(head[3])
	headLen := int64(4 + 4*ndim)
	if size < headLen {
		return nil, nil, fmt.Errorf("idx %s: truncated header: %d dimensions need %d bytes, file has %d", path, ndim, headLen, size)
	}
	dims = make([]int, ndim)
	// Bounding the element count by what the file can hold keeps the
	// product from overflowing and the allocation below from exceeding
	// the file's own size.
	room := (size - headLen) / 4
	total := int64(1)
	for i := range dims {
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, nil, fmt.Errorf("idx %s: truncated header: %w", path, err)
		}
		d := int64(binary.BigEndian.Uint32(b[:]))
		dims[i] = int(d)
		if d != 0 && total > room/d {
			return nil, nil, fmt.Errorf("idx %s: header dims %v promise more than the %d values the %d-byte file can hold", path, dims[:i+1], room, size)
		}
		total *= d
	}
	if want := headLen + 4*total; size != want {
		return nil, nil, fmt.Errorf("idx %s: header dims %v promise %d bytes, file has %d", path, dims, want, size)
	}
	values = make([]float32, total)
	var buf [4096]byte
	for i := 0; i < len(values); {
		chunk := buf[:4*min(len(buf)/4, len(values)-i)]
		if _, err := io.ReadFull(r, chunk); err != nil {
			// The size matched, so the file changed while being read.
			return nil, nil, fmt.Errorf("idx %s: reading values: %w", path, err)
		}
		for j := 0; j < len(chunk); j += 4 {
			values[i] = math.Float32frombits(binary.BigEndian.Uint32(chunk[j:]))
			i++
		}
	}
	if _, err := r.ReadByte(); !errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("idx %s: file grew past the %d bytes its header promises", path, headLen+4*total)
	}
	return values, dims, nil
}
