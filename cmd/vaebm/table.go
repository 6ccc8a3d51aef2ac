package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/vaebm/vaebm/ablations"
	"github.com/vaebm/vaebm/results"
)

// loadTable reads a table given by name or path, and the overrides after it.
func loadTable(cmd string, args []string) (*ablations.Spec, ablations.Overrides, error) {
	if len(args) < 1 {
		return nil, ablations.Overrides{}, usageError{fmt.Errorf("%s needs a table name or file (e.g. table4, ablations/table4.yaml)", cmd)}
	}
	path, err := ablations.Find(args[0])
	if err != nil {
		return nil, ablations.Overrides{}, err
	}
	s, err := ablations.Load(path)
	if err != nil {
		return nil, ablations.Overrides{}, err
	}
	o, err := ablations.ParseOverrides(args[1:])
	return s, o, err
}

func cmdTable(g globals, args []string) error {
	s, o, err := loadTable("table", args)
	if err != nil {
		return err
	}
	db, err := g.openDB()
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = ablations.Render(db, s, o, g.out, osStdout())
	return err
}

// cmdAblate runs the rows × seeds of a table that have no finished run, then
// renders it; with --slurm it submits them to Slurm instead.
func cmdAblate(ctx context.Context, g globals, args []string) error {
	var sf slurmFlags
	rest, err := sf.parse(args)
	if err != nil {
		return err
	}
	s, o, err := loadTable("ablate", rest)
	if err != nil {
		return err
	}
	db, err := g.openDB()
	if err != nil {
		return err
	}
	defer db.Close()
	if sf.on {
		if sf.jobs > 0 {
			return usageError{fmt.Errorf("ablate: --jobs is for this machine; with --slurm every cell is a task")}
		}
		return submitAblation(ctx, g, db, s, o, rest, sf)
	}
	if sf.set != "" {
		return usageError{fmt.Errorf("ablate: %s is for --slurm", sf.set)}
	}
	opts := g.options(db, "vaebm ablate "+strings.Join(args, " "))
	if err := ablations.AblateJobs(ctx, s, o, opts, sf.jobs, g.childRunner()); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "ablation %s done: vaebm check %s\n", s.Name, args[0])
	return nil
}

// writeExperimentTable renders the table an experiment feeds after its run,
// with the run's overrides, so that it shows the runs just made. A table
// file it cannot find (a run started outside the repository) is said, not
// failed on: the run itself finished and is recorded.
func writeExperimentTable(g globals, table string, overrides []string) error {
	var keep []string
	for _, o := range overrides {
		if k, _, _ := strings.Cut(o, "="); k != "seed" && k != "seeds" {
			keep = append(keep, o)
		}
	}
	if _, err := ablations.Find(table); err != nil {
		fmt.Fprintf(os.Stderr, "table %s not written: %v (vaebm table FILE renders it)\n", table, err)
		return nil
	}
	return cmdTable(g, append([]string{table}, keep...))
}

// errCheckFailed makes `vaebm check` exit non-zero after printing its report.
var errCheckFailed = errors.New("some cells miss their targets or claims fail, or have no run yet")

// cmdCheck compares each cell of a table with its targets (the paper's value
// and a tolerance, bounds on ours, or agreement with another of the row's
// cells), and each claim with our cells, and fails when any cell misses or
// is missing, or a claim fails on the means or has no run.
func cmdCheck(g globals, args []string) error {
	s, o, err := loadTable("check", args)
	if err != nil {
		return err
	}
	db, err := g.openDB()
	if err != nil {
		return err
	}
	defer db.Close()
	t, err := ablations.Build(db, s, o)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	bad, targets := 0, 0
	for _, c := range t.Checks() {
		if c.Verdict == results.NoTarget {
			continue
		}
		if targets == 0 {
			fmt.Fprintln(tw, "MODEL\tMETRIC\tOURS\tPAPER\tΔ\tTARGET\tRESULT")
		}
		targets++
		ours, paper, delta := "–", "–", "–"
		if c.Ours.OK {
			ours = fmt.Sprintf("%.4g", c.Ours.Value)
			if c.Ours.N > 1 {
				ours += fmt.Sprintf(" ± %.2g (n=%d)", c.Ours.Std, c.Ours.N)
			}
		}
		if c.Paper.OK {
			paper = fmt.Sprintf("%.4g", c.Paper.Value)
		}
		switch {
		case c.Target.AgreesWith != "" && c.Ours.OK && c.Other.OK:
			// Against the other judge, not the paper.
			delta = fmt.Sprintf("%+.4g vs %s", c.Ours.Value-c.Other.Value, c.Target.AgreesWith)
		case c.Ours.OK && c.Paper.OK:
			delta = fmt.Sprintf("%+.4g", c.Delta)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Model, c.Metric, ours, paper, delta, c.Describe(), c.Verdict)
		if c.Verdict != results.Met {
			bad++
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, c := range t.CheckClaims() {
		fmt.Println("claim", c.Describe())
		if c.Verdict != results.Met {
			bad++
		}
	}
	if bad > 0 {
		return fmt.Errorf("check %s: %d cell(s) or claim(s): %w", s.Name, bad, errCheckFailed)
	}
	fmt.Printf("check %s: every cell within its target, every claim holds on the means\n", s.Name)
	return nil
}
