package tracker

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// childEnv, when set to "<dbpath>,<index>,<steps>", makes
// TestConcurrentProcesses act as one writer process instead of the parent.
const childEnv = "VAEBM_TRACKER_CHILD"

const (
	concurrencyProcs = 8
	concurrencyKeys  = 5
)

var concurrencyKeyNames = [concurrencyKeys]string{"loss", "energy", "kl", "grad_norm", "lr"}

// concurrencyValue is what child i logs for key k at step s: it encodes all
// three, is exact in a float64 and has a fractional part.
func concurrencyValue(i, k, s int) float64 {
	return float64(i*10_000_000+k*1_000_000+s) + 0.25
}

// concurrencyChild is the body of one child process. It returns instead of
// calling t.Fatal so that the caller decides the exit status.
func concurrencyChild(spec string) error {
	// Split from the right so that a comma in the path does no harm.
	parts := strings.Split(spec, ",")
	if len(parts) < 3 {
		return fmt.Errorf("bad %s=%q", childEnv, spec)
	}
	path := strings.Join(parts[:len(parts)-2], ",")
	i, err := strconv.Atoi(parts[len(parts)-2])
	if err != nil {
		return fmt.Errorf("bad index in %s=%q: %v", childEnv, spec, err)
	}
	steps, err := strconv.Atoi(parts[len(parts)-1])
	if err != nil {
		return fmt.Errorf("bad step count in %s=%q: %v", childEnv, spec, err)
	}
	db, err := Open(path)
	if err != nil {
		return err
	}
	run, err := db.StartRun(context.Background(), RunSpec{
		Experiment: "concurrency", Name: fmt.Sprintf("child-%d", i), Config: "{}", Seed: uint64(i),
	})
	if err != nil {
		db.Close()
		return err
	}
	// Log flushes by itself once flushEvery points are buffered, but drops
	// that flush's error (it retries later), so a "database is locked" there
	// would go unseen. Flush just before Log would: the batches are the same
	// size and every write error reaches us.
	pending := 0
	for s := 0; s < steps; s++ {
		if pending+concurrencyKeys >= flushEvery {
			if err := run.Flush(); err != nil {
				run.Fail(err)
				db.Close()
				return err
			}
			pending = 0
		}
		for k, key := range concurrencyKeyNames {
			run.Log(key, s, concurrencyValue(i, k, s))
		}
		pending += concurrencyKeys
	}
	if err := run.Finish(); err != nil {
		db.Close()
		return err
	}
	return db.Close()
}

// TestConcurrentProcesses starts several processes that write runs and
// metric points to one database at the same time, and checks that every
// point arrives exactly once and no process sees "database is locked".
func TestConcurrentProcesses(t *testing.T) {
	if spec := os.Getenv(childEnv); spec != "" {
		if err := concurrencyChild(spec); err != nil {
			fmt.Fprintf(os.Stderr, "tracker child %s: %v\n", spec, err)
			os.Exit(1)
		}
		os.Exit(0)
	}

	steps := 10_000 // 5 keys x 10,000 steps = 50,000 points per process
	if testing.Short() {
		steps = 1_000
	}
	perChild := steps * concurrencyKeys
	path := testTarget(t)

	type child struct {
		cmd            *exec.Cmd
		stdout, stderr bytes.Buffer
	}
	children := make([]*child, concurrencyProcs)
	for i := range children {
		c := &child{cmd: exec.Command(os.Args[0], "-test.run=^TestConcurrentProcesses$")}
		c.cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%d,%d", childEnv, path, i, steps))
		c.cmd.Stdout, c.cmd.Stderr = &c.stdout, &c.stderr
		children[i] = c
	}
	start := time.Now()
	for i, c := range children {
		if err := c.cmd.Start(); err != nil {
			for _, started := range children[:i] {
				started.cmd.Process.Kill()
				started.cmd.Wait()
			}
			t.Fatalf("starting child %d: %v", i, err)
		}
	}
	failed := false
	for i, c := range children {
		err := c.cmd.Wait()
		if err != nil {
			t.Errorf("child %d: %v\nstderr:\n%s\nstdout:\n%s", i, err, c.stderr.String(), c.stdout.String())
			failed = true
		}
		if strings.Contains(c.stderr.String(), "database is locked") {
			t.Errorf("child %d saw \"database is locked\":\n%s", i, c.stderr.String())
			failed = true
		}
	}
	wall := time.Since(start)
	if failed {
		t.FailNow()
	}
	total := perChild * concurrencyProcs
	rate := float64(total) / wall.Seconds()
	backend := "SQLite"
	if IsServerURL(path) {
		backend = "PostgreSQL"
	}
	msg := fmt.Sprintf("%s: %d processes x %d points = %d points in %.2f s: %.0f points/s",
		backend, concurrencyProcs, perChild, total, wall.Seconds(), rate)
	t.Log(msg)
	if out := os.Getenv("VAEBM_THROUGHPUT_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(msg+"\n"), 0o644); err != nil {
			t.Errorf("writing throughput to %s: %v", out, err)
		}
	}

	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	runs, err := db.Runs("concurrency")
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != concurrencyProcs {
		t.Fatalf("%d runs in experiment concurrency, want %d: %+v", len(runs), concurrencyProcs, runs)
	}
	seen := map[int]bool{}
	for _, r := range runs {
		var i int
		if _, err := fmt.Sscanf(r.Name, "child-%d", &i); err != nil || i < 0 || i >= concurrencyProcs || seen[i] {
			t.Errorf("unexpected or repeated run name %q", r.Name)
			continue
		}
		seen[i] = true
		if r.Status != Finished {
			t.Errorf("run %d (%s): status %q, want %q", r.ID, r.Name, r.Status, Finished)
		}
		if r.Seed != uint64(i) {
			t.Errorf("run %d (%s): seed %d, want %d", r.ID, r.Name, r.Seed, i)
		}
		for k, key := range concurrencyKeyNames {
			ss, vs, err := db.Series(r.ID, key)
			if err != nil {
				t.Fatalf("run %d (%s), %s: %v", r.ID, r.Name, key, err)
			}
			if len(ss) != steps {
				t.Errorf("run %d (%s), %s: %d points, want %d", r.ID, r.Name, key, len(ss), steps)
			}
			bad := 0
			for j := range ss {
				if ss[j] != j || vs[j] != concurrencyValue(i, k, j) {
					if bad < 5 {
						t.Errorf("run %d (%s), %s: point %d is (step %d, %v), want (step %d, %v)",
							r.ID, r.Name, key, j, ss[j], vs[j], j, concurrencyValue(i, k, j))
					}
					bad++
				}
			}
			if bad > 0 {
				t.Errorf("run %d (%s), %s: %d wrong points", r.ID, r.Name, key, bad)
			}
		}
	}

	// Series sees only the keys asked for: count every row, so that a
	// stray key or a run outside the experiment would show too.
	raw := db.db
	var rows, runRows int
	if err := raw.QueryRow("SELECT COUNT(*) FROM metrics").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if err := raw.QueryRow("SELECT COUNT(*) FROM runs").Scan(&runRows); err != nil {
		t.Fatal(err)
	}
	if rows != total || runRows != concurrencyProcs {
		t.Errorf("database holds %d metric rows and %d runs, want %d and %d", rows, runRows, total, concurrencyProcs)
	}
}
