package ablations

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

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
	cells, err := Plan(s, o)
	if err != nil {
		return err
	}
	var failed []string
	for _, c := range cells {
		ro := opts
		ro.Label = fmt.Sprintf("[%s: row %d of %d, %s, seed %d] ", s.Name, c.Row, c.Rows, c.Model, c.Seed)
		err := runRow(ctx, c.Exp, ro)
		if ctx.Err() != nil {
			return fmt.Errorf("%s interrupted at row %q, seed %d (run `vaebm ablate %s` again to continue): %w", s.Name, c.Model, c.Seed, s.file, ctx.Err())
		}
		if err != nil {
			failed = append(failed, fmt.Sprintf("row %q, seed %d: %v", c.Model, c.Seed, err))
			say(opts.Log, "%sfailed: %v", ro.Label, err)
		}
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

// cellRuns are the runs of exp's configuration and seed, newest first.
func cellRuns(db *tracker.DB, exp config.Experiment) ([]tracker.RunInfo, error) {
	params, err := matchParams(exp)
	if err != nil {
		return nil, err
	}
	params["seed"] = fmt.Sprint(exp.Seed)
	return db.Query(tracker.Filter{Experiment: exp.Name, Params: params, Desc: true})
}

// runRow makes sure exp has a finished run: it finds one, resumes an
// interrupted one, or starts one.
func runRow(ctx context.Context, exp config.Experiment, opts pipeline.Options) error {
	runs, err := cellRuns(opts.DB, exp)
	if err != nil {
		return err
	}
	for _, r := range runs {
		switch r.Status {
		case tracker.Finished:
			say(opts.Log, "%sdone: run %d", opts.Label, r.ID)
			return nil
		case tracker.Running:
			return fmt.Errorf("run %d of this configuration is running in process %d on %s; let it finish, or stop it, then run again", r.ID, r.PID, r.Host)
		}
	}
	for _, r := range runs {
		if r.Status == tracker.Crashed || r.Status == tracker.Killed {
			say(opts.Log, "%sresuming run %d (%s)", opts.Label, r.ID, r.Status)
			return pipeline.Resume(ctx, r.ID, opts)
		}
	}
	_, err = pipeline.Run(ctx, exp, opts)
	return err
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
