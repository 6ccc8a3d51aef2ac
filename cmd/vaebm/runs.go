package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"text/tabwriter"

	"github.com/vaebm/vaebm/tracker"
)

func cmdRuns(g globals, args []string) error {
	if len(args) > 0 && args[0] == "show" {
		if len(args) != 2 {
			return usageError{fmt.Errorf("runs show needs one run ID")}
		}
		id, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil {
			return usageError{fmt.Errorf("run ID %q is not a number", args[1])}
		}
		db, err := g.openDB()
		if err != nil {
			return err
		}
		defer db.Close()
		r, err := db.Get(id)
		if err != nil {
			return err
		}
		printRun(r)
		return nil
	}
	fs := flag.NewFlagSet("runs", flag.ContinueOnError)
	exp := fs.String("experiment", "", "only runs of this experiment")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	db, err := g.openDB()
	if err != nil {
		return err
	}
	defer db.Close()
	runs, err := db.Runs(*exp)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tEXPERIMENT\tNAME\tSTATUS\tSTARTED\tENDED\tSEED\tCOMMIT")
	for _, r := range runs {
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%.12s\n", r.ID, r.Experiment, r.Name, r.Status, r.Started, r.Ended, r.Seed, r.GitCommit)
	}
	return w.Flush()
}

func printRun(r tracker.RunInfo) {
	fmt.Printf("run %d  %s (%s)\nstatus:   %s\nstarted:  %s\nended:    %s\nseed:     %d\ncommit:   %s\ncommand:  %s\n",
		r.ID, r.Name, r.Experiment, r.Status, r.Started, r.Ended, r.Seed, r.GitCommit, r.Command)
	if r.Error != "" {
		fmt.Printf("error:    %s\n", r.Error)
	}
	fmt.Println("\nfinal metrics:")
	keys := make([]string, 0, len(r.Metrics))
	for k := range r.Metrics {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("  %-24s %.6g\n", k, r.Metrics[k])
	}
	fmt.Println("\nartifacts:")
	for _, a := range r.Artifacts {
		fmt.Printf("  %-10s %s  sha256:%.16s\n", a.Kind, a.Path, a.SHA256)
	}
	fmt.Printf("\nresolved config:\n%s", r.Config)
}
