package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vaebm/vaebm/ablations"
	"github.com/vaebm/vaebm/slurm"
	"github.com/vaebm/vaebm/tracker"
)

// slurmFlags are `vaebm ablate`'s flags for submitting to Slurm.
type slurmFlags struct {
	on, dryRun      bool
	partition, time string
	cpus, gpus      int
	set             string // the first Slurm-only flag given, for the message without --slurm
	jobs            int    // --jobs: cells at once on this machine (not with --slurm)
}

// parse takes the flags out of args, wherever they are, and returns the
// rest (the table and its overrides).
func (f *slurmFlags) parse(args []string) ([]string, error) {
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "--") {
			rest = append(rest, a)
			continue
		}
		name, val, hasVal := strings.Cut(a, "=")
		switch name {
		case "--slurm":
			f.on = true
			continue
		case "--dry-run":
			f.dryRun = true
			f.set = "--dry-run"
			continue
		case "--partition", "--time", "--cpus", "--gpus", "--jobs":
		default:
			return nil, usageError{fmt.Errorf("ablate: unknown flag %q", a)}
		}
		if !hasVal {
			if i+1 == len(args) {
				return nil, usageError{fmt.Errorf("ablate: %s needs a value", name)}
			}
			i++
			val = args[i]
		}
		if f.set == "" && name != "--jobs" {
			f.set = name
		}
		switch name {
		case "--partition":
			f.partition = val
		case "--time":
			f.time = val
		default:
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 {
				return nil, usageError{fmt.Errorf("ablate: %s %q is not a count", name, val)}
			}
			switch name {
			case "--cpus":
				f.cpus = n
			case "--gpus":
				f.gpus = n
			default:
				f.jobs = n
			}
		}
	}
	return rest, nil
}

// submitAblation submits the table's runs without a finished run to
// Slurm: the first row's seeds (which train the stages the others share),
// then the other rows × seeds after them, then the table.
func submitAblation(ctx context.Context, g globals, db *tracker.DB, s *ablations.Spec, o ablations.Overrides, rest []string, f slurmFlags) error {
	cells, err := ablations.Plan(s, o)
	if err != nil {
		return err
	}
	var stages, rows []slurm.Task
	for _, c := range cells {
		if r, done, err := ablations.Finished(db, c.Exp); err != nil {
			return err
		} else if done {
			fmt.Fprintf(os.Stderr, "%s, seed %d: done (run %d)\n", c.Model, c.Seed, r.ID)
			continue
		}
		args := append([]string(nil), c.Args...)
		if args[0], err = filepath.Abs(args[0]); err != nil {
			return err
		}
		t := slurm.Task{Label: fmt.Sprintf("%s, seed %d", c.Model, c.Seed), Args: args}
		if c.Row == 1 {
			stages = append(stages, t)
		} else {
			rows = append(rows, t)
		}
	}
	if len(stages)+len(rows) == 0 {
		fmt.Fprintf(os.Stderr, "every run of %s is finished; nothing to submit (vaebm table %s)\n", s.Name, rest[0])
		return nil
	}
	bin, err := os.Executable()
	if err != nil {
		return err
	}
	out, err := filepath.Abs(g.out)
	if err != nil {
		return err
	}
	dbTarget := g.dbPath
	if !tracker.IsServerURL(dbTarget) {
		if dbTarget, err = filepath.Abs(dbTarget); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "vaebm: warning: the tracker is a SQLite file; on a network file system its locks break, so jobs on several nodes need --db postgres://… (README: Running on a cluster)")
	}
	table, err := filepath.Abs(s.File())
	if err != nil {
		return err
	}
	opts := slurm.Options{Name: s.Name, Partition: f.partition, Time: f.time, CPUs: f.cpus, GPUs: f.gpus,
		Bin: bin, Out: out, DB: dbTarget, Dir: filepath.Join(out, "slurm", s.Name+"-"+time.Now().Format("20060102-150405")),
		Render: append([]string{"table", table}, rest[1:]...)}
	jobs := slurm.Plan(opts, stages, rows)
	if f.dryRun {
		slurm.DryRun(jobs, os.Stdout)
		return nil
	}
	if _, err := slurm.Submit(ctx, jobs, os.Stderr); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "follow them with squeue or scontrol show job; runs appear in vaebm runs (column slurm) as they start\n")
	return nil
}
