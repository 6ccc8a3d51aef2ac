package data

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeCIFAR writes n records per file of split into dir: record i of file
// f is labelled (f+i)%10 and its red, green and blue planes hold 10·f+i,
// 100+i and 200+i.
func writeCIFAR(t *testing.T, dir, split string, n int) {
	t.Helper()
	for f, name := range CIFAR10Files[split] {
		var b []byte
		for i := 0; i < n; i++ {
			rec := make([]byte, CIFARRecord)
			rec[0] = byte((f + i) % 10)
			for p := 0; p < 1024; p++ {
				rec[1+p], rec[1+1024+p], rec[1+2048+p] = byte(10*f+i), byte(100+i), byte(200+i)
			}
			b = append(b, rec...)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoadCIFAR10Fixture(t *testing.T) {
	dir := t.TempDir()
	writeCIFAR(t, dir, "train", 3)
	writeCIFAR(t, dir, "test", 4)
	m, err := ImageSets["cifar10"].Load(dir, "train")
	if err != nil {
		t.Fatal(err)
	}
	if m.N != 15 || m.C != 3 || m.H != 32 || m.W != 32 || len(m.Pixels) != 15*3072 {
		t.Fatalf("loaded %d×%d×%d×%d (%d bytes)", m.N, m.C, m.H, m.W, len(m.Pixels))
	}
	// Image 7 is record 1 of data_batch_3 (f = 2): label 3, planes 21, 101, 201.
	img := m.Image(7)
	if m.Labels[7] != 3 || img[0] != 21 || img[1023] != 21 || img[1024] != 101 || img[2048] != 201 || img[3071] != 201 {
		t.Errorf("image 7: label %d, planes start %d %d %d", m.Labels[7], img[0], img[1024], img[2048])
	}
	test, err := LoadCIFAR10(dir, "test")
	if err != nil || test.N != 4 {
		t.Fatalf("test split: %v, %v", test, err)
	}
	// The archive's own folder is found inside dir.
	sub := filepath.Join(t.TempDir(), "cifar-10-batches-bin")
	os.Mkdir(sub, 0o755)
	writeCIFAR(t, sub, "test", 2)
	if m, err := LoadCIFAR10(filepath.Dir(sub), "test"); err != nil || m.N != 2 {
		t.Errorf("from the parent of cifar-10-batches-bin: %v, %v", m, err)
	}
}

// Each broken input gives one error naming the file or folder and what is wrong.
func TestLoadCIFAR10Errors(t *testing.T) {
	cases := []struct {
		name    string
		breakIt func(dir string)
		want    []string
		missing bool
	}{
		{"no files", func(dir string) {
			for _, n := range CIFAR10Files["train"] {
				os.Remove(filepath.Join(dir, n))
			}
		}, []string{"data_batch_1.bin, data_batch_2.bin, data_batch_3.bin, data_batch_4.bin, data_batch_5.bin", "nothing is downloaded"}, true},
		{"one file missing", func(dir string) { os.Remove(filepath.Join(dir, "data_batch_4.bin")) },
			[]string{"lacks data_batch_4.bin"}, true},
		{"not whole records", func(dir string) {
			p := filepath.Join(dir, "data_batch_2.bin")
			raw, _ := os.ReadFile(p)
			os.WriteFile(p, raw[:len(raw)-100], 0o644)
		}, []string{"data_batch_2.bin", "not a positive multiple of the 3073-byte record"}, false},
		{"empty file", func(dir string) { os.WriteFile(filepath.Join(dir, "data_batch_5.bin"), nil, 0o644) },
			[]string{"data_batch_5.bin", "0 bytes"}, false},
		{"bad label", func(dir string) {
			p := filepath.Join(dir, "data_batch_1.bin")
			raw, _ := os.ReadFile(p)
			raw[CIFARRecord] = 10
			os.WriteFile(p, raw, 0o644)
		}, []string{"data_batch_1.bin", "record 1", "label 10"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeCIFAR(t, dir, "train", 2)
			tc.breakIt(dir)
			_, err := LoadCIFAR10(dir, "train")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range append(tc.want, dir) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if errors.Is(err, ErrMissingDataset) != tc.missing {
				t.Errorf("ErrMissingDataset: %v, want %v", errors.Is(err, ErrMissingDataset), tc.missing)
			}
		})
	}
	if _, err := ImageSets["cifar10"].Load("", "train"); err == nil || !strings.Contains(err.Error(), CIFAR10Env) {
		t.Errorf("no folder: %v", err)
	}
}
