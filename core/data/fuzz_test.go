package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func idxBytes(typ byte, dims []int, body []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, typ, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(body)
	return b.Bytes()
}

func gzipped(b []byte) []byte {
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write(b)
	w.Close()
	return z.Bytes()
}

// FuzzDecodeIDX: any bytes, plain or gzipped, decode to data matching the
// header, or to an error; never a panic.
func FuzzDecodeIDX(f *testing.F) {
	img := idxBytes(0x08, []int{2, 2, 3}, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	lbl := idxBytes(0x08, []int{3}, []byte{0, 1, 9})
	for _, s := range [][]byte{img, lbl, gzipped(img), gzipped(lbl), img[:9], {0x1f, 0x8b}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, ndim := range []int{1, 3} {
			data, dims, err := DecodeIDX(bytes.NewReader(b), ndim)
			if err != nil {
				continue
			}
			total := 1
			for _, d := range dims {
				total *= d
			}
			if len(dims) != ndim || len(data) != total {
				t.Fatalf("dims %v with %d bytes", dims, len(data))
			}
		}
	})
}

// FuzzReadIDXFloat32: any file reads as values matching its header, or
// gives an error; never a panic.
func FuzzReadIDXFloat32(f *testing.F) {
	f.Add(idxBytes(0x0D, []int{2, 1}, []byte{0x3f, 0x80, 0, 0, 0xbf, 0x80, 0, 0}))
	f.Add(idxBytes(0x0D, []int{0}, nil))
	f.Add(idxBytes(0x0D, []int{1 << 30, 1 << 30}, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "x.idx")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		vals, dims, err := ReadIDXFloat32(path)
		if err != nil {
			return
		}
		total := 1
		for _, d := range dims {
			total *= d
		}
		if len(vals) != total {
			t.Fatalf("dims %v with %d values", dims, len(vals))
		}
	})
}

// FuzzDecodeCIFAR10: any bytes decode to whole records with labels 0–9, or
// to an error, also when the size claimed is not what the reader holds.
func FuzzDecodeCIFAR10(f *testing.F) {
	rec := make([]byte, 2*CIFARRecord)
	rec[0], rec[CIFARRecord] = 3, 9
	f.Add(rec, int64(0))
	f.Add(rec[:CIFARRecord+5], int64(CIFARRecord))
	f.Fuzz(func(t *testing.T, b []byte, extra int64) {
		for _, size := range []int64{int64(len(b)), int64(len(b)) + extra} {
			labels, pixels, err := DecodeCIFAR10(bytes.NewReader(b), size)
			if err != nil {
				continue
			}
			if len(pixels) != len(labels)*cifarImage || len(labels)*CIFARRecord != len(b) {
				t.Fatalf("%d labels, %d pixels from %d bytes", len(labels), len(pixels), len(b))
			}
			for _, l := range labels {
				if l > 9 {
					t.Fatalf("label %d", l)
				}
			}
		}
	})
}

// Headers that promise far more than a stream holds cost what the stream
// holds, not what they promise.
func TestDecodersAllocateWhatTheInputHolds(t *testing.T) {
	cases := map[string]func() error{
		"idx promising 1 GiB": func() error {
			_, _, err := DecodeIDX(bytes.NewReader(idxBytes(0x08, []int{1 << 14, 1 << 16}, make([]byte, 100))), 2)
			return err
		},
		"gzipped idx promising 1 GiB": func() error {
			_, _, err := DecodeIDX(bytes.NewReader(gzipped(idxBytes(0x08, []int{1 << 14, 1 << 16}, make([]byte, 100)))), 2)
			return err
		},
		"cifar promising 3 GB": func() error {
			_, _, err := DecodeCIFAR10(bytes.NewReader(make([]byte, CIFARRecord)), int64(CIFARRecord)*1_000_000)
			return err
		},
	}
	for name, decode := range cases {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		err := decode()
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("%s: no error", name)
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
			t.Errorf("%s: allocated %d bytes", name, got)
		}
	}
}
