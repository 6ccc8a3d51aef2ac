package tracker

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"sort"
	"testing"
	"time"
)

// snapshot is the content of a folder: file name to bytes.
type snapshot map[string][]byte

func takeSnapshot(t *testing.T, dir string) snapshot {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := snapshot{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		s[e.Name()] = b
	}
	return s
}

// sameSnapshot reports how after differs from before, or "" if it does not.
func sameSnapshot(before, after snapshot) string {
	var names []string
	for n := range before {
		names = append(names, n)
	}
	for n := range after {
		if _, ok := before[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var diff string
	for _, n := range names {
		b, inBefore := before[n]
		a, inAfter := after[n]
		switch {
		case !inBefore:
			diff += fmt.Sprintf("%s appeared (%d bytes); ", n, len(a))
		case !inAfter:
			diff += fmt.Sprintf("%s disappeared; ", n)
		case !bytes.Equal(a, b):
			diff += fmt.Sprintf("%s changed (%d -> %d bytes); ", n, len(b), len(a))
		}
	}
	return diff
}

// noPanic runs f and turns a panic into a test error.
func noPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("%s panicked: %v\n%s", what, p, debug.Stack())
		}
	}()
	f()
}

// fixedClock makes wall times, and so the file layout, the same every run.
func fixedClock() time.Time { return time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC) }

// makeRealDB writes a database with two finished runs of points steps each
// of key "loss" (value = run index * 1e6 + step) and closes it. It returns
// the run IDs.
func makeRealDB(t *testing.T, path string, points int) []int64 {
	t.Helper()
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	db.now = fixedClock
	var ids []int64
	for i := 0; i < 2; i++ {
		r, err := db.StartRun(context.Background(), RunSpec{
			Experiment: "fail", Name: fmt.Sprintf("run-%d", i), Config: "{}", Seed: uint64(i),
			Params: map[string]string{"i": fmt.Sprint(i)},
		})
		if err != nil {
			t.Fatal(err)
		}
		for s := 0; s < points; s++ {
			r.Log("loss", s, float64(i*1_000_000+s))
		}
		if err := r.Finish(); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Closing the last connection checkpoints the WAL and removes it: the
	// tests below rely on the database being one file.
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(path + suffix); err == nil {
			t.Fatalf("%s%s still there after Close", path, suffix)
		}
	}
	return ids
}

// TestOpenReadOnlyDB: a database that cannot be written (file and folder
// read-only) gives an error naming it, and Open leaves it as it was.
func TestOpenReadOnlyDB(t *testing.T) {
	sqliteOnly(t)
	for _, tc := range []struct {
		name    string
		dirMode os.FileMode
	}{
		{"dir 0444", 0o444}, // folder not even searchable
		{"dir 0555", 0o555}, // folder searchable, not writable
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "runs.db")
			makeRealDB(t, path, 100)
			before := takeSnapshot(t, dir)
			if err := os.Chmod(path, 0o444); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tc.dirMode); err != nil {
				t.Fatal(err)
			}
			// Registered after TempDir's cleanup, so it runs first and lets
			// TempDir remove the folder.
			t.Cleanup(func() {
				os.Chmod(dir, 0o755)
				os.Chmod(path, 0o644)
			})
			// As root (or with CAP_DAC_OVERRIDE) chmod does not stop writes.
			if f, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
				f.Close()
				t.Skip("chmod 0444 does not stop this user writing (running as root?)")
			}
			if f, err := os.CreateTemp(dir, "probe"); err == nil {
				f.Close()
				os.Remove(f.Name())
				t.Skip("chmod does not stop this user creating files (running as root?)")
			}

			var db *DB
			var err error
			noPanic(t, "Open", func() { db, err = Open(path) })
			if err == nil {
				db.Close()
				t.Fatalf("Open of a read-only database (file 0444, folder %o) succeeded", tc.dirMode)
			}
			if !contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
			t.Logf("Open: %v", err)

			os.Chmod(dir, 0o755)
			if diff := sameSnapshot(before, takeSnapshot(t, dir)); diff != "" {
				t.Errorf("failed Open modified the folder: %s", diff)
			}
		})
	}
}

// TestOpenCorruptDBLeavesFileUnchanged: a file that is not a SQLite database
// is refused (TestOpenRejectsCorruptFile checks the error names it) and not
// modified, nor are files created next to it.
func TestOpenCorruptDBLeavesFileUnchanged(t *testing.T) {
	sqliteOnly(t)
	header := "SQLite format 3\x00"
	for _, tc := range []struct {
		name    string
		content []byte
	}{
		{"text", []byte("this is not a database, just text that is long enough to have a header...")},
		{"sqlite header then garbage", append([]byte(header), bytes.Repeat([]byte{0xA5}, 8192)...)},
		{"real page 1 then garbage", nil}, // filled in below
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "runs.db")
			content := tc.content
			if content == nil {
				// A real database whose pages after the first are garbage.
				tmp := filepath.Join(t.TempDir(), "real.db")
				makeRealDB(t, tmp, 2000)
				real, err := os.ReadFile(tmp)
				if err != nil {
					t.Fatal(err)
				}
				content = append(real[:4096:4096], bytes.Repeat([]byte{0x5A}, len(real)-4096)...)
			}
			if err := os.WriteFile(path, content, 0o644); err != nil {
				t.Fatal(err)
			}
			before := takeSnapshot(t, dir)
			var db *DB
			var err error
			noPanic(t, "Open", func() { db, err = Open(path) })
			if err == nil {
				// Page 1 may be intact enough to open; reading must then fail.
				_, rerr := db.Runs("")
				db.Close()
				if rerr == nil {
					t.Fatal("Open and Runs of a corrupt file succeeded")
				}
				err = rerr
			}
			if !contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
			t.Logf("error: %v", err)
			if diff := sameSnapshot(before, takeSnapshot(t, dir)); diff != "" {
				t.Errorf("Open of a corrupt file modified the folder: %s", diff)
			}
		})
	}
}

// TestDamagedRealDB: a real database cut to half its size, or with its
// second half zeroed, gives errors naming the file from Open or from a
// later read, never a panic and never silently incomplete data.
func TestDamagedRealDB(t *testing.T) {
	sqliteOnly(t)
	const points = 20_000
	for _, tc := range []struct {
		name   string
		damage func(b []byte) []byte
	}{
		{"truncated to half", func(b []byte) []byte { return b[:len(b)/2] }},
		{"second half zeroed", func(b []byte) []byte {
			clear(b[len(b)/2:])
			return b
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "runs.db")
			ids := makeRealDB(t, path, points)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, tc.damage(b), 0o644); err != nil {
				t.Fatal(err)
			}
			st, _ := os.Stat(path)
			t.Logf("database was %d bytes, now %d", len(b), st.Size())
			before := takeSnapshot(t, dir)

			// checkErr requires an error to name the file.
			errs := 0
			checkErr := func(what string, err error) {
				t.Helper()
				if err == nil {
					return
				}
				errs++
				t.Logf("%s: %v", what, err)
				if !contains(err.Error(), path) {
					t.Errorf("%s: error %q does not name %s", what, err, path)
				}
			}

			var db *DB
			noPanic(t, "Open", func() { db, err = Open(path) })
			checkErr("Open", err)
			if err == nil {
				noPanic(t, "reads", func() {
					runs, err := db.Runs("fail")
					checkErr("Runs", err)
					if err == nil && len(runs) != 2 {
						t.Errorf("Runs: no error but %d runs, want 2", len(runs))
					}
					for i, id := range ids {
						want := float64(i*1_000_000 + points - 1)
						ri, err := db.Get(id)
						checkErr(fmt.Sprintf("Get(%d)", id), err)
						if err == nil && (ri.Status != Finished || len(ri.Params) != 1 ||
							!reflect.DeepEqual(ri.Metrics, map[string]float64{"loss": want})) {
							t.Errorf("Get(%d): no error but incomplete run: status %q, params %v, metrics %v (want loss %v)",
								id, ri.Status, ri.Params, ri.Metrics, want)
						}
						steps, _, err := db.Series(id, "loss")
						checkErr(fmt.Sprintf("Series(%d)", id), err)
						if err == nil && len(steps) != points {
							t.Errorf("Series(%d): no error but %d points, want %d", id, len(steps), points)
						}
					}
					_, err = db.LatestFinished("fail")
					checkErr("LatestFinished", err)
				})
				db.Close()
			}
			if errs == 0 && !t.Failed() {
				t.Errorf("no operation on the damaged database reported an error")
			}
			if diff := sameSnapshot(before, takeSnapshot(t, dir)); diff != "" {
				t.Errorf("reading the damaged database modified the folder: %s", diff)
			}
		})
	}
}
