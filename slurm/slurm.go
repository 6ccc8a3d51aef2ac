// Package slurm submits a table's runs to a Slurm cluster as batch jobs:
// a job array whose tasks train the stages the other rows share (the
// first row, one task per seed: the feature nets and that seed's VAE), a
// dependent job array of the other rows × seeds, and a last job that
// renders the table. Every task is a `vaebm run` into one shared database
// and output folder, so the stage cache and the claims on it (one job
// computes a stage, the others wait) work across the cluster's nodes.
package slurm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Options say where the jobs run and what they share.
type Options struct {
	Name      string // the table's name: job names and the scripts' folder
	Partition string // "" for the cluster's default
	Time      string // each task's time limit (sbatch --time), "" for the partition's
	CPUs      int    // CPUs per task (0: the cluster's default)
	GPUs      int    // GPUs per task (sbatch --gpus), 0 for none
	Bin       string // the vaebm binary the tasks run (absolute)
	Out       string // the shared output folder (absolute)
	DB        string // the shared tracker: a postgres:// URL (or a SQLite file on one node)
	Dir       string // where the scripts and the tasks' logs go
	// Render is the `vaebm` arguments of the last job, which writes the
	// table (e.g. table ablations/table4.yaml seeds=[0,1,2]).
	Render []string
}

// Task is one array task: a `vaebm run` with these arguments.
type Task struct {
	Label string // for people: row and seed
	Args  []string
}

// Job is one sbatch script and how it depends on the jobs before it.
type Job struct {
	Name   string
	Script string // its text
	Path   string // where it is written
	// After is the job it waits for ("" none) and AfterAny whether it runs
	// whatever that job's outcome (else only on success: a failed
	// dependency cancels it, so it never waits forever).
	After    string
	AfterAny bool
	Tasks    int
}

// dependency is the sbatch flags that make j wait for the job with id.
func (j Job) dependency(id string) []string {
	kind := "afterok"
	if j.AfterAny {
		kind = "afterany"
	}
	return []string{"--dependency=" + kind + ":" + id, "--kill-on-invalid-dep=yes"}
}

// Plan writes no files: it returns the jobs for the stage tasks and the
// row tasks (either may be empty) and the render job.
func Plan(o Options, stages, rows []Task) []Job {
	var jobs []Job
	prev := ""
	add := func(kind string, tasks []Task) {
		if len(tasks) == 0 {
			return
		}
		name := o.Name + "-" + kind
		jobs = append(jobs, Job{Name: name, Script: arrayScript(o, name, tasks), Path: filepath.Join(o.Dir, kind+".sbatch"), After: prev, Tasks: len(tasks)})
		prev = name
	}
	add("stages", stages)
	add("rows", rows)
	name := o.Name + "-table"
	jobs = append(jobs, Job{Name: name, Script: renderScript(o, name), Path: filepath.Join(o.Dir, "table.sbatch"), After: prev, AfterAny: true, Tasks: 0})
	return jobs
}

func header(o Options, name string) string {
	var b strings.Builder
	b.WriteString("#!/bin/bash\n")
	fmt.Fprintf(&b, "#SBATCH --job-name=%s\n", name)
	if o.Partition != "" {
		fmt.Fprintf(&b, "#SBATCH --partition=%s\n", o.Partition)
	}
	if o.Time != "" {
		fmt.Fprintf(&b, "#SBATCH --time=%s\n", o.Time)
	}
	if o.CPUs > 0 {
		fmt.Fprintf(&b, "#SBATCH --cpus-per-task=%d\n", o.CPUs)
	}
	return b.String()
}

func env(o Options) string {
	var b strings.Builder
	b.WriteString("set -euo pipefail\n")
	fmt.Fprintf(&b, "export VAEBM_OUT=%s VAEBM_DB=%s\n", quote(o.Out), quote(o.DB))
	// Go and OpenBLAS use what Slurm gave the task, not the whole node.
	b.WriteString("if [ -n \"${SLURM_CPUS_PER_TASK:-}\" ]; then export GOMAXPROCS=$SLURM_CPUS_PER_TASK OPENBLAS_NUM_THREADS=1; fi\n")
	return b.String()
}

func arrayScript(o Options, name string, tasks []Task) string {
	var b strings.Builder
	b.WriteString(header(o, name))
	fmt.Fprintf(&b, "#SBATCH --array=0-%d\n", len(tasks)-1)
	if o.GPUs > 0 {
		fmt.Fprintf(&b, "#SBATCH --gpus=%d\n", o.GPUs)
	}
	fmt.Fprintf(&b, "#SBATCH --output=%s\n", quote(filepath.Join(o.Dir, name+"-%A_%a.log")))
	b.WriteString(env(o))
	b.WriteString("case $SLURM_ARRAY_TASK_ID in\n")
	for i, t := range tasks {
		fmt.Fprintf(&b, "%d) # %s\n   exec %s run", i, t.Label, quote(o.Bin))
		for _, a := range t.Args {
			b.WriteString(" " + quote(a))
		}
		b.WriteString(" ;;\n")
	}
	b.WriteString("*) echo \"no task $SLURM_ARRAY_TASK_ID\" >&2; exit 2 ;;\nesac\n")
	return b.String()
}

func renderScript(o Options, name string) string {
	var b strings.Builder
	b.WriteString(header(o, name))
	fmt.Fprintf(&b, "#SBATCH --output=%s\n", quote(filepath.Join(o.Dir, name+"-%j.log")))
	b.WriteString(env(o))
	b.WriteString("exec " + quote(o.Bin))
	for _, a := range o.Render {
		b.WriteString(" " + quote(a))
	}
	b.WriteString("\n")
	return b.String()
}

// quote makes s one word for bash.
func quote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,@%+", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// ErrNoSlurm is what Submit wraps when sbatch is not on PATH.
var ErrNoSlurm = errors.New("sbatch not found on PATH (is this a Slurm login node?)")

// Submit writes the jobs' scripts and submits them in order, each
// depending on the one before; it prints each job's id to w. A refusal
// by sbatch stops it with sbatch's own words and the jobs already
// submitted, so that they can be cancelled (scancel).
func Submit(ctx context.Context, jobs []Job, w io.Writer) ([]string, error) {
	sbatch, err := exec.LookPath("sbatch")
	if err != nil {
		return nil, fmt.Errorf("slurm: %w", ErrNoSlurm)
	}
	var ids []string
	byName := map[string]string{}
	for _, j := range jobs {
		if err := os.MkdirAll(filepath.Dir(j.Path), 0o755); err != nil {
			return ids, fmt.Errorf("slurm: %w", err)
		}
		if err := os.WriteFile(j.Path, []byte(j.Script), 0o755); err != nil {
			return ids, fmt.Errorf("slurm: writing %s: %w", j.Path, err)
		}
		args := []string{"--parsable"}
		if j.After != "" {
			args = append(args, j.dependency(byName[j.After])...)
		}
		args = append(args, j.Path)
		var stdout, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, sbatch, args...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			msg := strings.TrimSpace(stderr.String())
			if msg == "" {
				msg = err.Error()
			}
			done := ""
			if len(ids) > 0 {
				done = fmt.Sprintf(" (submitted before it: %s; scancel them if need be)", strings.Join(ids, " "))
			}
			return ids, fmt.Errorf("slurm: sbatch refused %s: %s%s", j.Path, msg, done)
		}
		id, _, _ := strings.Cut(strings.TrimSpace(stdout.String()), ";")
		if id == "" {
			return ids, fmt.Errorf("slurm: sbatch printed no job id for %s", j.Path)
		}
		byName[j.Name] = id
		ids = append(ids, id)
		tasks := ""
		if j.Tasks > 0 {
			tasks = fmt.Sprintf(" (%d tasks)", j.Tasks)
		}
		after := ""
		if j.After != "" {
			after = " after " + byName[j.After]
		}
		fmt.Fprintf(w, "submitted %s as job %s%s%s: %s\n", j.Name, id, tasks, after, j.Path)
	}
	return ids, nil
}

// DryRun prints the scripts and the sbatch commands Submit would run.
func DryRun(jobs []Job, w io.Writer) {
	for _, j := range jobs {
		dep := ""
		if j.After != "" {
			dep = " " + strings.Join(j.dependency("<job id of "+j.After+">"), " ")
		}
		fmt.Fprintf(w, "# sbatch --parsable%s %s\n%s\n", dep, j.Path, j.Script)
	}
}

// States returns the state of each task of job id (one entry, keyed by
// the id, for a job that is not an array), as `scontrol show job` reports
// it: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, … Without
// slurmdbd, finished jobs are listed for MinJobAge after they end.
func States(ctx context.Context, id string) (map[string]string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "scontrol", "show", "job", "-o", id)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("slurm: scontrol show job %s: %s", id, strings.TrimSpace(stderr.String()+" "+err.Error()))
	}
	states := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		f := map[string]string{}
		for _, kv := range strings.Fields(line) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				f[k] = v
			}
		}
		key := f["JobId"]
		if t := f["ArrayTaskId"]; t != "" {
			key = f["ArrayJobId"] + "_" + t
		}
		if key != "" {
			states[key] = f["JobState"]
		}
	}
	return states, nil
}

// Terminal says whether a job state is final.
func Terminal(state string) bool {
	switch state {
	case "PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED", "RESIZING", "":
		return false
	}
	return true
}

// Wait polls the jobs until every task is in a final state and returns
// each task's state, or an error when timeout passes first.
func Wait(ctx context.Context, ids []string, timeout time.Duration) (map[string]string, error) {
	deadline := time.Now().Add(timeout)
	for {
		// Afresh each time: an array's pending record disappears as its
		// tasks start.
		all := map[string]string{}
		done := true
		for _, id := range ids {
			st, err := States(ctx, id)
			if err != nil {
				return all, err
			}
			for k, v := range st {
				all[k] = v
				done = done && Terminal(v)
			}
		}
		if done {
			return all, nil
		}
		if time.Now().After(deadline) {
			return all, fmt.Errorf("slurm: jobs %s not done after %s: %v", strings.Join(ids, " "), timeout, all)
		}
		select {
		case <-ctx.Done():
			return all, ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}
