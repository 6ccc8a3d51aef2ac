package ablations

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"

	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/pipeline"
	"github.com/vaebm/vaebm/tracker"
)

// Ablate runs every row × seed of the table that has no finished run of its
// resolved configuration, then renders the table and its figure. A row
// whose run was interrupted (crashed or killed) is resumed from its
// checkpoints; rows that resolve to one configuration (NVAE and VAEBM
// from one experiment) share its run; every stage already trained with
// the same inputs and code (the VAE, the feature nets) comes from the
// stage cache. A failed row does not stop the others: the table shows it
// as missing and Ablate returns the failures at the end.
func Ablate(ctx context.Context, s *Spec, o Overrides, opts pipeline.Options) error {
	return AblateJobs(ctx, s, o, opts, 1, nil)
}

// CellRunner runs one cell of a table elsewhere (the CLI: a child `vaebm
// run` process): its run resume when resume > 0, else a new run of c.Args.
// Its progress lines begin with label.
type CellRunner func(ctx context.Context, c Cell, resume int64, label string) error

// AblateJobs is Ablate with up to jobs cells running at once, each through
// run. The cells share stages through the stage cache and its claims: the
// first that needs a stage (the feature nets, a seed's VAE) computes it,
// the others wait for it. jobs ≤ 1 or a nil run runs the cells one after
// another in this process.
func AblateJobs(ctx context.Context, s *Spec, o Overrides, opts pipeline.Options, jobs int, run CellRunner) error {
	cells, err := Plan(s, o)
	if err != nil {
		return err
	}
	if jobs <= 1 || run == nil {
		jobs, run = 1, inProcess(opts)
	}
	var (
		mu     sync.Mutex
		failed []string
		next   int
		wg     sync.WaitGroup
	)
	work := func() {
		defer wg.Done()
		for {
			mu.Lock()
			if next == len(cells) || ctx.Err() != nil {
				mu.Unlock()
				return
			}
			c := cells[next]
			next++
			mu.Unlock()
			label := fmt.Sprintf("[%s: row %d of %d, %s, seed %d] ", s.Name, c.Row, c.Rows, c.Model, c.Seed)
			err := runCell(ctx, c, opts, label, run)
			if err != nil && ctx.Err() == nil {
				mu.Lock()
				failed = append(failed, fmt.Sprintf("row %q, seed %d: %v", c.Model, c.Seed, err))
				mu.Unlock()
				say(opts.Log, "%sfailed: %v", label, err)
			}
		}
	}
	wg.Add(jobs)
	for range jobs {
		go work()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return fmt.Errorf("%s interrupted (run `vaebm ablate %s` again to continue): %w", s.Name, s.file, ctx.Err())
	}
	if _, err := Render(opts.DB, s, o, opts.OutDir, opts.Log); err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("%s: %d row run(s) failed (what was recorded is kept; fix and run again to continue):\n  %s", s.Name, len(failed), strings.Join(failed, "\n  "))
	}
	return nil
}

// Cell is one run a table needs: a row's resolved experiment at one seed.
type Cell struct {
	Model     string // the row
	Row, Rows int    // its place among the rows that run (k of n)
	Seed      uint64
	Exp       config.Experiment
	// Args are the `vaebm run` arguments that make the same run: the
	// experiment file, the row's overrides, the command line's, the seed.
	Args []string
}

// Plan lists the runs the table needs under o, row by row and seed by
// seed. Rows are resolved first, so that a bad override stops before any
// run. Rows whose resolved configs are equal (NVAE and VAEBM from one
// experiment) appear once, under the first.
func Plan(s *Spec, o Overrides) ([]Cell, error) {
	seeds := o.Seeds
	if seeds == nil {
		seeds = s.Seeds
	}
	var runnable []*RowSpec
	for i := range s.Rows {
		if s.Rows[i].path != "" {
			runnable = append(runnable, &s.Rows[i])
		}
	}
	var cells []Cell
	seen := map[string]bool{}
	for k, r := range runnable {
		exp, err := r.Resolve(o)
		if err != nil {
			return nil, fmt.Errorf("%s: row %q: %w", s.file, r.Model, err)
		}
		params, err := matchParams(exp)
		if err != nil {
			return nil, fmt.Errorf("%s: row %q: %w", s.file, r.Model, err)
		}
		rowSeeds := seeds
		if len(rowSeeds) == 0 {
			rowSeeds = []uint64{exp.Seed}
		}
		for _, seed := range rowSeeds {
			id := fmt.Sprint(params, seed)
			if seen[id] {
				continue
			}
			seen[id] = true
			e := exp
			e.Seed, e.Seeds = seed, nil
			args := append([]string{r.path}, r.Overrides...)
			args = append(append(args, o.Config...), fmt.Sprintf("seeds=[%d]", seed))
			cells = append(cells, Cell{Model: r.Model, Row: k + 1, Rows: len(runnable), Seed: seed, Exp: e, Args: args})
		}
	}
	return cells, nil
}

// Finished returns the newest finished run of exp's configuration and
// seed (a Cell's Exp), if there is one.
func Finished(db *tracker.DB, exp config.Experiment) (tracker.RunInfo, bool, error) {
	runs, err := cellRuns(db, exp)
	for _, r := range runs {
		if r.Status == tracker.Finished {
			return r, true, err
		}
	}
	return tracker.RunInfo{}, false, err
}

// runFilter selects the runs of exp's resolved config (any seed). A run
// recorded before a config key existed matches that key's default.
func runFilter(exp config.Experiment) (tracker.Filter, error) {
	params, err := matchParams(exp)
	if err != nil {
		return tracker.Filter{}, err
	}
	defaults, err := config.Flatten(config.Defaults())
	if err != nil {
		return tracker.Filter{}, err
	}
	return tracker.Filter{Experiment: exp.Name, Params: params, Defaults: defaults}, nil
}

// cellRuns are the runs of exp's configuration and seed, newest first.
func cellRuns(db *tracker.DB, exp config.Experiment) ([]tracker.RunInfo, error) {
	f, err := runFilter(exp)
	if err != nil {
		return nil, err
	}
	f.Params["seed"] = fmt.Sprint(exp.Seed)
	f.Desc = true
	return db.Query(f)
}

// nextStep says what a cell needs: nothing (a finished run), the resume
// of an interrupted run, or a new run (0); a running one is an error.
func nextStep(db *tracker.DB, exp config.Experiment) (done tracker.RunInfo, resume tracker.RunInfo, err error) {
	runs, err := cellRuns(db, exp)
	if err != nil {
		return done, resume, err
	}
	for _, r := range runs {
		switch r.Status {
		case tracker.Finished:
			return r, resume, nil
		case tracker.Running:
			return done, resume, fmt.Errorf("run %d of this configuration is running in process %d on %s; let it finish, or stop it, then run again", r.ID, r.PID, r.Host)
		}
	}
	for _, r := range runs {
		if r.Status == tracker.Crashed || r.Status == tracker.Killed {
			return done, r, nil
		}
	}
	return done, resume, nil
}

// inProcess runs a cell in this process, its progress lines labelled.
func inProcess(opts pipeline.Options) CellRunner {
	return func(ctx context.Context, c Cell, resume int64, label string) error {
		ro := opts
		ro.Label = label
		if resume > 0 {
			return pipeline.Resume(ctx, resume, ro)
		}
		_, err := pipeline.Run(ctx, c.Exp, ro)
		return err
	}
}

// runCell makes sure c has a finished run: it finds one, or has run resume
// an interrupted one or start one.
func runCell(ctx context.Context, c Cell, opts pipeline.Options, label string, run CellRunner) error {
	done, resume, err := nextStep(opts.DB, c.Exp)
	switch {
	case err != nil:
		return err
	case done.ID > 0:
		say(opts.Log, "%sdone: run %d", label, done.ID)
		return nil
	case resume.ID > 0:
		say(opts.Log, "%sresuming run %d (%s)", label, resume.ID, resume.Status)
	}
	return run(ctx, c, resume.ID, label)
}

// Render builds the table from the runs, writes out/tables/NAME.{md,csv,tex}
// and the figure, and prints the table with its claims.
func Render(db *tracker.DB, s *Spec, o Overrides, out string, w io.Writer) (Filled, error) {
	t, err := Build(db, s, o)
	if err != nil {
		return t, err
	}
	paths, err := t.Write(filepath.Join(out, "tables"))
	if err != nil {
		return t, err
	}
	if s.Figure != nil {
		p := filepath.Join(out, "plots", s.Figure.File)
		switch err := Figure(p, s, t, out); {
		case errors.Is(err, errNoSamples):
			say(w, "figure %s: not drawn: %v", p, err)
		case err != nil:
			return t, err
		default:
			paths = append(paths, p)
		}
	}
	say(w, "\n%s\nwritten: %s", t.Markdown(), strings.Join(paths, ", "))
	return t, nil
}

func say(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}
