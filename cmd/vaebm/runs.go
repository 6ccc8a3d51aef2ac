package main

import (
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/vaebm/vaebm/tracker"
)

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func cmdRuns(g globals, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "show":
			return cmdRunsShow(g, args[1:])
		case "diff":
			return cmdRunsDiff(g, args[1:])
		}
	}
	fs := flag.NewFlagSet("runs", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var f tracker.Filter
	var params, metrics, cols multiFlag
	fs.StringVar(&f.Experiment, "experiment", "", "only runs of this experiment")
	fs.StringVar(&f.Status, "status", "", "only runs with this status (running, finished, failed, killed, crashed)")
	fs.Var(&params, "param", "KEY=VALUE: only runs whose resolved config has this value (repeatable)")
	fs.Var(&metrics, "metric", "KEY<OP>VALUE: only runs whose last value of KEY passes, e.g. 'eval/vaebm_ll>=-1.65' (repeatable)")
	fs.Var(&cols, "col", "a metric KEY to show as a column (repeatable)")
	sortBy := fs.String("sort", "id", "id, started, or metric:KEY")
	asc := fs.Bool("asc", false, "ascending order (default newest or largest first)")
	format := fs.String("format", "table", "table, csv or json")
	if err := fs.Parse(args); err != nil {
		return usageError{fmt.Errorf("runs: %w", err)}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("runs: unexpected argument %q", fs.Arg(0))}
	}
	for _, p := range params {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return usageError{fmt.Errorf("--param %q: want KEY=VALUE", p)}
		}
		if f.Params == nil {
			f.Params = map[string]string{}
		}
		f.Params[k] = v
	}
	for _, m := range metrics {
		c, err := tracker.ParseMetricCond(m)
		if err != nil {
			return usageError{err}
		}
		f.Metrics = append(f.Metrics, c)
	}
	switch f.Status {
	case "", tracker.Running, tracker.Finished, tracker.Failed, tracker.Killed, tracker.Crashed:
	default:
		return usageError{fmt.Errorf("--status %q: want running, finished, failed, killed or crashed", f.Status)}
	}
	if s := *sortBy; s != "id" && s != "started" && !strings.HasPrefix(s, "metric:") {
		return usageError{fmt.Errorf("--sort %q: want id, started or metric:KEY", s)}
	}
	f.Sort, f.Desc = *sortBy, !*asc
	db, err := g.openDB()
	if err != nil {
		return err
	}
	defer db.Close()
	runs, err := db.Query(f)
	if err != nil {
		return err
	}
	// A script's formats carry every run's params and final metrics.
	if len(cols) > 0 || *format != "table" {
		for i := range runs {
			if runs[i], err = db.Get(runs[i].ID); err != nil {
				return err
			}
		}
	}
	return printRuns(os.Stdout, runs, cols, *format)
}

// printRuns lists runs as a table (with the metric columns cols), or for
// scripts as CSV or JSON with each run's params and final metrics (only
// the cols metrics when cols are given): CSV as the columns params.KEY
// and metrics.KEY over all runs listed, JSON as objects.
func printRuns(w io.Writer, runs []tracker.RunInfo, cols []string, format string) error {
	head := []string{"id", "experiment", "name", "status", "started", "ended", "seed", "commit", "slurm"}
	base := func(r tracker.RunInfo) []string {
		commit := r.GitCommit
		if r.GitDirty {
			commit += "-dirty"
		}
		return []string{strconv.FormatInt(r.ID, 10), r.Experiment, r.Name, r.Status, r.Started, r.Ended, strconv.FormatUint(r.Seed, 10), commit, r.SlurmJob}
	}
	// The table shows the Slurm job column only when a run ran in one.
	slurmCol := slices.ContainsFunc(runs, func(r tracker.RunInfo) bool { return r.SlurmJob != "" })
	num := func(v float64, ok bool) string {
		if !ok {
			return ""
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	metricKeys := func(r tracker.RunInfo) []string {
		if len(cols) > 0 {
			return cols
		}
		return slices.Sorted(maps.Keys(r.Metrics))
	}
	switch format {
	case "table":
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		th := head
		if !slurmCol {
			th = head[:len(head)-1]
		}
		fmt.Fprintln(tw, strings.ToUpper(strings.Join(append(slices.Clone(th), cols...), "\t")))
		for _, r := range runs {
			x := base(r)[:len(th)]
			x[7] = r.ShortCommit()
			for _, c := range cols {
				v, ok := r.Metrics[c]
				s := ""
				if ok {
					s = strconv.FormatFloat(v, 'g', 6, 64)
				}
				x = append(x, s)
			}
			fmt.Fprintln(tw, strings.Join(x, "\t"))
		}
		return tw.Flush()
	case "csv":
		params, metrics := map[string]bool{}, map[string]bool{}
		for _, r := range runs {
			for k := range r.Params {
				params[k] = true
			}
			for _, k := range metricKeys(r) {
				metrics[k] = true
			}
		}
		pk, mk := slices.Sorted(maps.Keys(params)), slices.Sorted(maps.Keys(metrics))
		if len(cols) > 0 {
			mk = cols
		}
		row := head
		for _, k := range pk {
			row = append(row, "params."+k)
		}
		for _, k := range mk {
			row = append(row, "metrics."+k)
		}
		cw := csv.NewWriter(w)
		_ = cw.Write(row)
		for _, r := range runs {
			x := base(r)
			for _, k := range pk {
				x = append(x, r.Params[k])
			}
			for _, k := range mk {
				v, ok := r.Metrics[k]
				x = append(x, num(v, ok))
			}
			_ = cw.Write(x)
		}
		cw.Flush()
		return cw.Error()
	case "json":
		type jrun struct {
			ID         int64              `json:"id"`
			Experiment string             `json:"experiment"`
			Name       string             `json:"name"`
			Status     string             `json:"status"`
			Started    string             `json:"started"`
			Ended      string             `json:"ended,omitempty"`
			Seed       uint64             `json:"seed"`
			Commit     string             `json:"commit"`
			Dirty      bool               `json:"dirty"`
			Error      string             `json:"error,omitempty"`
			ErrorStep  int                `json:"error_step,omitempty"`
			SlurmJob   string             `json:"slurm_job,omitempty"`
			Params     map[string]string  `json:"params"`
			Metrics    map[string]float64 `json:"metrics"`
		}
		out := []jrun{}
		for _, r := range runs {
			j := jrun{r.ID, r.Experiment, r.Name, r.Status, r.Started, r.Ended, r.Seed, r.GitCommit, r.GitDirty, r.Error, r.ErrorStep, r.SlurmJob, r.Params, map[string]float64{}}
			if j.Params == nil {
				j.Params = map[string]string{}
			}
			for _, c := range metricKeys(r) {
				// JSON has no NaN or ±Inf: a diverged metric is left out.
				if v, ok := r.Metrics[c]; ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
					j.Metrics[c] = v
				}
			}
			out = append(out, j)
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	return usageError{fmt.Errorf("--format %q: want table, csv or json", format)}
}

func parseRunID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, usageError{fmt.Errorf("run ID %q is not a positive number", s)}
	}
	return id, nil
}

func cmdRunsShow(g globals, args []string) error {
	if len(args) != 1 {
		return usageError{fmt.Errorf("runs show needs one run ID")}
	}
	id, err := parseRunID(args[0])
	if err != nil {
		return err
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

// cmdRunsDiff prints the config keys (and provenance) that differ between two runs.
func cmdRunsDiff(g globals, args []string) error {
	if len(args) != 2 {
		return usageError{fmt.Errorf("runs diff needs two run IDs")}
	}
	ids := make([]int64, 2)
	for i, a := range args {
		var err error
		if ids[i], err = parseRunID(a); err != nil {
			return err
		}
	}
	db, err := g.openDB()
	if err != nil {
		return err
	}
	defer db.Close()
	var rs [2]tracker.RunInfo
	for i, id := range ids {
		if rs[i], err = db.Get(id); err != nil {
			return err
		}
	}
	a, b := rs[0], rs[1]
	side := func(r tracker.RunInfo) map[string]string {
		m := map[string]string{}
		for k, v := range r.Params {
			m[k] = v
		}
		m["(commit)"] = r.GitCommit + map[bool]string{true: "-dirty", false: ""}[r.GitDirty]
		m["(go)"] = r.GoVersion
		m["(dataset)"] = r.DatasetDigest
		return m
	}
	ma, mb := side(a), side(b)
	keys := map[string]bool{}
	for k := range ma {
		keys[k] = true
	}
	for k := range mb {
		keys[k] = true
	}
	var diff []string
	for k := range keys {
		va, oka := ma[k]
		vb, okb := mb[k]
		if va != vb || oka != okb {
			diff = append(diff, k)
		}
	}
	sort.Strings(diff)
	if len(diff) == 0 {
		fmt.Printf("runs %d and %d have the same config\n", a.ID, b.ID)
		return nil
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "KEY\trun %d\trun %d\n", a.ID, b.ID)
	show := func(m map[string]string, k string) string {
		if v, ok := m[k]; ok {
			return v
		}
		return "(absent)"
	}
	for _, k := range diff {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", k, show(ma, k), show(mb, k))
	}
	return tw.Flush()
}

func printRun(r tracker.RunInfo) {
	dirty := ""
	if r.GitDirty {
		dirty = " (dirty work tree)"
	}
	fmt.Printf("run %d  %s (%s)\nstatus:   %s\nstarted:  %s\nended:    %s\nseed:     %d\ncommit:   %s%s\ngo:       %s\nhost:     %s (pid %d, heartbeat %s)\ncommand:  %s\ndataset:  sha256:%s\n",
		r.ID, r.Name, r.Experiment, r.Status, r.Started, r.Ended, r.Seed, r.GitCommit, dirty, r.GoVersion, r.Host, r.PID, r.Heartbeat, r.Command, r.DatasetDigest)
	if r.Resumes > 0 {
		fmt.Printf("resumed:  %d time(s)\n", r.Resumes)
	}
	if r.SlurmJob != "" {
		fmt.Printf("slurm:    job %s\n", r.SlurmJob)
	}
	if r.Error != "" {
		fmt.Printf("error:    %s\n", r.Error)
		if r.ErrorStep > 0 {
			fmt.Printf("at step:  %d\n", r.ErrorStep)
		}
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
	if r.Modules != "" {
		fmt.Printf("\nmodules:\n%s", r.Modules)
	}
}
