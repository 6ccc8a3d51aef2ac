package slurm

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaebm/vaebm/internal/servertest"
)

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"plain":             "plain",
		"/a/b.yaml":         "/a/b.yaml",
		"seeds=[0]":         "'seeds=[0]'",
		"it's":              `'it'\''s'`,
		"":                  "''",
		"postgres://u@h/db": "postgres://u@h/db",
		"a b":               "'a b'",
	} {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestPlan(t *testing.T) {
	o := Options{Name: "t4", Partition: "gpu", Time: "1:00:00", CPUs: 4, GPUs: 1, Bin: "/bin/vaebm", Out: "/shared/out",
		DB: "postgres://u@h/db", Dir: "/shared/out/slurm/t4", Render: []string{"table", "/x/t4.yaml", "seeds=[0,1]"}}
	stages := []Task{{"A, seed 0", []string{"/x/a.yaml", "seeds=[0]"}}}
	rows := []Task{{"B, seed 0", []string{"/x/b.yaml", "seeds=[0]"}}, {"B, seed 1", []string{"/x/b.yaml", "seeds=[1]"}}}
	jobs := Plan(o, stages, rows)
	if len(jobs) != 3 {
		t.Fatalf("%d jobs, want stages, rows, table", len(jobs))
	}
	if jobs[1].After != "t4-stages" || jobs[1].AfterAny || jobs[2].After != "t4-rows" || !jobs[2].AfterAny {
		t.Errorf("dependencies: %+v", jobs)
	}
	for _, want := range []string{"#SBATCH --array=0-1", "#SBATCH --gpus=1", "#SBATCH --partition=gpu", "#SBATCH --cpus-per-task=4",
		"1) # B, seed 1\n   exec /bin/vaebm run /x/b.yaml 'seeds=[1]' ;;", "VAEBM_DB=postgres://u@h/db"} {
		if !strings.Contains(jobs[1].Script, want) {
			t.Errorf("rows script lacks %q:\n%s", want, jobs[1].Script)
		}
	}
	if strings.Contains(jobs[2].Script, "--gpus") || !strings.Contains(jobs[2].Script, "exec /bin/vaebm table /x/t4.yaml 'seeds=[0,1]'") {
		t.Errorf("table script:\n%s", jobs[2].Script)
	}
	if jobs := Plan(o, nil, rows); len(jobs) != 2 || jobs[0].After != "" || jobs[1].After != "t4-rows" {
		t.Errorf("without stage tasks: %+v", jobs)
	}
}

// waitJobs is Wait, failing the test on an error.
func waitJobs(t *testing.T, ids []string, timeout time.Duration) map[string]string {
	t.Helper()
	states, err := Wait(context.Background(), ids, timeout)
	if err != nil {
		t.Fatal(err)
	}
	return states
}

// TestDependencies on a real cluster: when the stage job fails, the job
// that needs it is cancelled rather than left waiting, and the table job
// (afterany) still runs.
func TestDependencies(t *testing.T) {
	servertest.NeedSlurm(t)
	dir := t.TempDir()
	jobs := []Job{
		{Name: "stages", Script: "#!/bin/bash\n#SBATCH --array=0-1\n#SBATCH --output=" + dir + "/s-%A_%a.log\n[ $SLURM_ARRAY_TASK_ID = 0 ] || exit 3\n", Path: filepath.Join(dir, "stages.sbatch"), Tasks: 2},
		{Name: "rows", Script: "#!/bin/bash\n#SBATCH --output=" + dir + "/r-%j.log\necho ran > " + dir + "/rows-ran\n", Path: filepath.Join(dir, "rows.sbatch"), After: "stages"},
		{Name: "table", Script: "#!/bin/bash\n#SBATCH --output=" + dir + "/t-%j.log\necho ran > " + dir + "/table-ran\n", Path: filepath.Join(dir, "table.sbatch"), After: "rows", AfterAny: true},
	}
	var log bytes.Buffer
	ids, err := Submit(context.Background(), jobs, &log)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(strings.TrimSpace(log.String()))
	states := waitJobs(t, ids, 2*time.Minute)
	if got := states[ids[0]+"_1"]; got != "FAILED" {
		t.Errorf("the failing stage task is %s, want FAILED (%v)", got, states)
	}
	if got := states[ids[1]]; got != "CANCELLED" {
		t.Errorf("the job after a failed one is %s, want CANCELLED (%v)", got, states)
	}
	if _, err := os.Stat(filepath.Join(dir, "rows-ran")); err == nil {
		t.Error("the rows job ran although its dependency failed")
	}
	if _, err := os.Stat(filepath.Join(dir, "table-ran")); err != nil {
		t.Errorf("the afterany table job did not run (%v)", states)
	}
}

// TestSubmitRefused: a job sbatch refuses (an unknown partition) stops
// Submit with sbatch's words and the jobs already submitted.
func TestSubmitRefused(t *testing.T) {
	servertest.NeedSlurm(t)
	dir := t.TempDir()
	jobs := []Job{
		{Name: "ok", Script: "#!/bin/bash\n#SBATCH --output=" + dir + "/ok-%j.log\ntrue\n", Path: filepath.Join(dir, "ok.sbatch")},
		{Name: "bad", Script: "#!/bin/bash\n#SBATCH --partition=no-such-partition\ntrue\n", Path: filepath.Join(dir, "bad.sbatch"), After: "ok"},
	}
	ids, err := Submit(context.Background(), jobs, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "sbatch refused") || !strings.Contains(err.Error(), "partition") || len(ids) != 1 ||
		!strings.Contains(err.Error(), ids[0]) {
		t.Fatalf("ids %v, err %v", ids, err)
	}
	waitJobs(t, ids, time.Minute)
}

func TestSubmitWithoutSlurm(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Submit(context.Background(), []Job{{Name: "x", Script: "#!/bin/bash\n", Path: filepath.Join(t.TempDir(), "x.sbatch")}}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "sbatch not found") {
		t.Fatalf("without sbatch: %v", err)
	}
}
