package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vaebm/vaebm/internal/servertest"
	"github.com/vaebm/vaebm/slurm"
	"github.com/vaebm/vaebm/tracker"
)

// TestSlurmAblation on a one-node Slurm cluster and a PostgreSQL database
// (scripts/test.sh starts both): `vaebm ablate --slurm` of a smoke toy
// table, 2 rows × 2 seeds, submits the stage array, the dependent row
// array and the table job; every task's run finishes in the shared
// database with its Slurm job and task recorded, and the table is written.
func TestSlurmAblation(t *testing.T) {
	servertest.NeedSlurm(t)
	dbURL := servertest.PostgresDB(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "vaebm")
	if b, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building vaebm: %v\n%s", err, b)
	}
	out := filepath.Join(dir, "out")
	cmd := exec.Command(bin, "--out", out, "--db", dbURL, "ablate", "toy-25gaussians", "scale=smoke", "seeds=[0,1]", "--slurm", "--cpus", "1", "--time", "10")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ablate --slurm: %v\n%s", err, b)
	}
	t.Logf("ablate --slurm said:\n%s", b)
	var ids []string
	for _, m := range regexp.MustCompile(`as job (\d+)`).FindAllStringSubmatch(string(b), -1) {
		ids = append(ids, m[1])
	}
	if len(ids) != 3 {
		t.Fatalf("%d jobs submitted, want 3 (stages, rows, table)", len(ids))
	}
	states, err := slurm.Wait(t.Context(), ids, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	logs, _ := filepath.Glob(filepath.Join(out, "slurm", "*", "*.log"))
	for k, v := range states {
		if v != "COMPLETED" {
			var text []string
			for _, l := range logs {
				lb, _ := os.ReadFile(l)
				text = append(text, l+":\n"+string(lb))
			}
			t.Fatalf("task %s is %s (all: %v)\n%s", k, v, states, strings.Join(text, "\n"))
		}
	}
	if len(states) != 5 {
		t.Errorf("%d tasks, want 2 + 2 + 1: %v", len(states), states)
	}

	db, err := tracker.Open(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	runs, err := db.Query(tracker.Filter{Status: tracker.Finished})
	if err != nil {
		t.Fatal(err)
	}
	task := regexp.MustCompile(`^(\d+)_[01]$`)
	got := map[string]int{}
	for _, r := range runs {
		m := task.FindStringSubmatch(r.SlurmJob)
		if m == nil || (m[1] != ids[0] && m[1] != ids[1]) {
			t.Errorf("run %d (%s, seed %d): Slurm job %q, want a task of job %s or %s", r.ID, r.Experiment, r.Seed, r.SlurmJob, ids[0], ids[1])
		}
		got[r.Experiment]++
	}
	if got["toy-25gaussians"] != 2 || got["toy-ebm-x"] != 2 || len(runs) != 4 {
		t.Errorf("finished runs by experiment: %v, want 2 of each", got)
	}
	if _, err := os.Stat(filepath.Join(out, "tables", "toy-25gaussians.md")); err != nil {
		t.Errorf("the table job wrote no table: %v", err)
	}
	listed, err := exec.Command(bin, "--db", dbURL, "runs").CombinedOutput()
	if err != nil || !strings.Contains(string(listed), "SLURM") || !strings.Contains(string(listed), ids[0]+"_0") {
		t.Errorf("vaebm runs does not show the Slurm jobs (%v):\n%s", err, listed)
	}

	// Bad input: a partition Slurm does not have, and no Slurm at all.
	refused, err := exec.Command(bin, "--out", out, "--db", dbURL, "ablate", "toy-25gaussians", "scale=smoke", "seeds=[2]", "--slurm", "--partition", "no-such").CombinedOutput()
	if err == nil || !strings.Contains(string(refused), "sbatch refused") || strings.Contains(string(refused), "goroutine") {
		t.Errorf("an unknown partition: %v\n%s", err, refused)
	}
	noSlurm := exec.Command(bin, "--out", out, "--db", dbURL, "ablate", "toy-25gaussians", "scale=smoke", "seeds=[2]", "--slurm")
	noSlurm.Env = append(os.Environ(), "PATH="+dir)
	if b, err := noSlurm.CombinedOutput(); err == nil || !strings.Contains(string(b), "sbatch not found") {
		t.Errorf("without sbatch on PATH: %v\n%s", err, b)
	}
}
