package data

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The header is what numpy.lib.format writes for version 1.0: the magic,
// a little-endian header length, a dict padded with spaces to a multiple
// of 64 bytes in all and ended by a newline; then the values.
func TestWriteNPYFloat32(t *testing.T) {
	for _, tc := range []struct {
		shape []int
		tuple string
	}{{[]int{3}, "(3,)"}, {[]int{2, 1, 2, 2}, "(2, 1, 2, 2)"}, {[]int{0, 3}, "(0, 3)"}} {
		n := 1
		for _, d := range tc.shape {
			n *= d
		}
		vals := make([]float32, n)
		for i := range vals {
			vals[i] = float32(i) / 7
		}
		path := filepath.Join(t.TempDir(), "x.npy")
		if err := WriteNPYFloat32(path, tc.shape, vals); err != nil {
			t.Fatal(err)
		}
		raw, _ := os.ReadFile(path)
		if string(raw[:8]) != "\x93NUMPY\x01\x00" {
			t.Fatalf("magic % x", raw[:8])
		}
		hl := int(binary.LittleEndian.Uint16(raw[8:10]))
		header := string(raw[10 : 10+hl])
		want := "{'descr': '<f4', 'fortran_order': False, 'shape': " + tc.tuple + ", }"
		if (10+hl)%64 != 0 || !strings.HasPrefix(header, want) || strings.TrimLeft(header[len(want):], " ") != "\n" {
			t.Errorf("header %q (length %d)", header, hl)
		}
		body := raw[10+hl:]
		if len(body) != 4*n {
			t.Fatalf("%d bytes of data, want %d", len(body), 4*n)
		}
		for i, v := range vals {
			if got := math.Float32frombits(binary.LittleEndian.Uint32(body[4*i:])); got != v {
				t.Fatalf("value %d: %v, want %v", i, got, v)
			}
		}
	}
	if err := WriteNPYFloat32(filepath.Join(t.TempDir(), "x.npy"), []int{2, 2}, make([]float32, 3)); err == nil {
		t.Error("shape (2, 2) with 3 values gave no error")
	}
}
