package data

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestIDXFloat32RoundTrip(t *testing.T) {
	dims := []int{2, 3, 4, 5}
	values := make([]float32, 2*3*4*5)
	for i := range values {
		values[i] = float32(i)*0.37 - 20
	}
	values[0], values[1], values[2] = float32(math.Inf(-1)), math.SmallestNonzeroFloat32, -0
	path := filepath.Join(t.TempDir(), "new", "samples.idx")
	if err := WriteIDXFloat32(path, dims, values); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(4 + 4*len(dims) + 4*len(values)); st.Size() != want {
		t.Errorf("file is %d bytes, want %d", st.Size(), want)
	}
	raw, _ := os.ReadFile(path)
	if got := raw[:8]; !slices.Equal(got, []byte{0, 0, 0x0D, 4, 0, 0, 0, 2}) {
		t.Errorf("header starts % x", got)
	}
	gotV, gotD, err := ReadIDXFloat32(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(gotD, dims) {
		t.Errorf("dims %v, want %v", gotD, dims)
	}
	for i := range values {
		if math.Float32bits(gotV[i]) != math.Float32bits(values[i]) {
			t.Fatalf("value %d = %v, want %v", i, gotV[i], values[i])
		}
	}
	// Overwriting replaces the file and leaves no temporary behind.
	if err := WriteIDXFloat32(path, []int{1}, []float32{7}); err != nil {
		t.Fatal(err)
	}
	if v, d, err := ReadIDXFloat32(path); err != nil || !slices.Equal(d, []int{1}) || v[0] != 7 {
		t.Errorf("after overwrite: %v %v %v", v, d, err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("folder holds %d entries, want only the idx file", len(entries))
	}
}

func TestIDXFloat32Errors(t *testing.T) {
	// valid is a 2×3 float32 idx file.
	valid := []byte{0, 0, 0x0D, 2}
	valid = binary.BigEndian.AppendUint32(valid, 2)
	valid = binary.BigEndian.AppendUint32(valid, 3)
	for i := 0; i < 6; i++ {
		valid = binary.BigEndian.AppendUint32(valid, math.Float32bits(float32(i)))
	}
	huge := []byte{0, 0, 0x0D, 3}
	for i := 0; i < 3; i++ {
		huge = binary.BigEndian.AppendUint32(huge, math.MaxUint32)
	}
	with := func(i int, b byte) []byte { c := slices.Clone(valid); c[i] = b; return c }

	for _, tc := range []struct {
		name string
		file []byte
		want string
	}{
		{"empty file", nil, "truncated header"},
		{"short magic", []byte{0, 0}, "truncated header"},
		{"uint8 type", with(2, 0x08), "not a float32 idx"},
		{"nonzero magic", with(0, 1), "not a float32 idx"},
		{"truncated dims", valid[:9], "truncated header"},
		{"truncated body", valid[:len(valid)-1], "promise"},
		{"extra bytes", append(slices.Clone(valid), 0, 0, 0, 0), "promise"},
		{"more dims than written", with(3, 5), "promise"},
		{"huge dims", huge, "promise more"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.idx")
			if err := os.WriteFile(path, tc.file, 0o644); err != nil {
				t.Fatal(err)
			}
			v, d, err := ReadIDXFloat32(path)
			if err == nil {
				t.Fatalf("read %v %v, want an error", v, d)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %q should mention %q and the path", err, tc.want)
			}
		})
	}

	t.Run("missing file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "absent.idx")
		if _, _, err := ReadIDXFloat32(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("error %v should name %s", err, path)
		}
	})

	for _, tc := range []struct {
		name string
		dims []int
		n    int
	}{
		{"too few values", []int{2, 3}, 5},
		{"too many values", []int{2, 3}, 7},
		{"negative dim", []int{-2, -3}, 6},
		{"overflowing dims", []int{1 << 40, 1 << 40, 1 << 40}, 6},
		{"zero dim with values", []int{0, 3}, 3},
	} {
		t.Run("write "+tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.idx")
			err := WriteIDXFloat32(path, tc.dims, make([]float32, tc.n))
			if err == nil || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %v should name %s", err, path)
			}
			if _, serr := os.Stat(path); !os.IsNotExist(serr) {
				t.Errorf("failed write left %s behind (%v)", path, serr)
			}
		})
	}
}
