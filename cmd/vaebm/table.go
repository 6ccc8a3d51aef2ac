package main

import (
	"errors"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/vaebm/vaebm/ablations"
	"github.com/vaebm/vaebm/pipeline"
	"github.com/vaebm/vaebm/results"
)

func cmdTable(g globals, args []string) error {
	if len(args) != 1 {
		return usageError{fmt.Errorf("table needs one table name")}
	}
	db, err := g.openDB()
	if err != nil {
		return err
	}
	defer db.Close()
	return pipeline.WriteTable(pipeline.Options{OutDir: g.out, DB: db}, args[0], pipeline.NewBar(osStdout()))
}

// errCheckFailed makes `vaebm check` exit non-zero after printing its report.
var errCheckFailed = errors.New("some cells miss their paper target or claims fail, or have no run yet")

// cmdCheck compares each cell of a table with the paper's value and its
// tolerance, and fails when any cell misses or is missing.
func cmdCheck(g globals, args []string) error {
	if len(args) != 1 {
		return usageError{fmt.Errorf("check needs one table name")}
	}
	db, err := g.openDB()
	if err != nil {
		return err
	}
	defer db.Close()
	t, err := ablations.Build(db, args[0])
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tMETRIC\tOURS\tPAPER\tΔ\tTARGET\tRESULT")
	bad := 0
	for _, c := range t.Checks() {
		if c.Verdict == results.NoTarget {
			continue
		}
		ours, delta := "–", "–"
		if c.Ours.OK {
			ours, delta = fmt.Sprintf("%.4g", c.Ours.Value), fmt.Sprintf("%+.4g", c.Delta)
			if c.Ours.N > 1 {
				ours += fmt.Sprintf(" ± %.2g (n=%d)", c.Ours.Std, c.Ours.N)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.4g\t%s\t%s\t%s\n", c.Model, c.Metric, ours, c.Paper.Value, delta, c.Describe(), c.Verdict)
		if c.Verdict != results.Met {
			bad++
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	claims := t.CheckClaims()
	for _, c := range claims {
		fmt.Println("claim", c.Describe())
		if c.Verdict != results.Met {
			bad++
		}
	}
	if bad > 0 {
		return fmt.Errorf("check %s: %d cell(s) or claim(s): %w", args[0], bad, errCheckFailed)
	}
	fmt.Printf("check %s: every cell within its target, every claim holds\n", args[0])
	return nil
}
