// Package pipeline runs an experiment end to end: it builds the data and
// networks an experiment names, trains the stages, evaluates, and records
// everything in the tracker, then writes the table and figures.
package pipeline

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vaebm/vaebm/ablations"
	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/tracker"
)

// Options are the settings of a run that are not part of the experiment.
type Options struct {
	OutDir  string      // generated output root, "out" by default
	DB      *tracker.DB // where the run is recorded
	Log     io.Writer   // progress and status, nil for silence
	Command string      // the command line, recorded with the run
}

// Seed streams: one per consumer, so adding draws to one stage does not
// change another's.
const (
	streamData = iota + 1
	streamVAEInit
	streamVAETrain
	streamEBMInit
	streamEBMTrain
	streamEval
	streamSample
)

func newRNG(seed uint64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, stream))
}

// RunDir is where a run keeps its checkpoints and samples.
func RunDir(out string, id int64) string {
	return filepath.Join(out, "runs", strconv.FormatInt(id, 10))
}

// Run executes exp and returns the tracker run ID. Whatever fails after the
// run starts is recorded on it (status failed or killed, with the error).
func Run(ctx context.Context, exp config.Experiment, opts Options) (int64, error) {
	if exp.Data.Name != "25gaussians" || exp.Method != "vaebm" {
		return 0, fmt.Errorf("%s: method %q on data %q is declared but not implemented yet (implemented: vaebm on 25gaussians)", exp.Name, exp.Method, exp.Data.Name)
	}
	cfg, err := config.Marshal(exp)
	if err != nil {
		return 0, err
	}
	params, err := config.Flatten(exp)
	if err != nil {
		return 0, err
	}
	run, err := opts.DB.StartRun(ctx, tracker.RunSpec{
		Experiment: exp.Name, Name: fmt.Sprintf("%s-%s-seed%d", exp.Name, exp.Scale, exp.Seed),
		Config: string(cfg), Seed: exp.Seed, GitCommit: GitCommit(), Command: opts.Command, Params: params,
	})
	if err != nil {
		return 0, err
	}
	bar := NewBar(opts.Log)
	bar.Say("run %d: %s (scale %s, seed %d); recording to %s", run.ID, exp.Name, exp.Scale, exp.Seed, opts.DB.Path())
	if err := runToy(ctx, exp, opts, run, bar); err != nil {
		if ferr := run.Fail(err); ferr != nil {
			return run.ID, fmt.Errorf("%w (and recording the failure: %v)", err, ferr)
		}
		return run.ID, fmt.Errorf("run %d: %w", run.ID, err)
	}
	if err := run.Finish(); err != nil {
		return run.ID, err
	}
	if exp.Table != "" {
		if err := WriteTable(opts, exp.Table, bar); err != nil {
			return run.ID, err
		}
	}
	return run.ID, nil
}

// WriteTable renders a declared table from the tracker into out/tables and
// prints it.
func WriteTable(opts Options, name string, bar *Bar) error {
	t, err := ablations.Build(opts.DB, name)
	if err != nil {
		return err
	}
	paths, err := t.Write(filepath.Join(opts.OutDir, "tables"))
	if err != nil {
		return err
	}
	bar.Say("\n%s\nwritten: %s", t.Markdown(), strings.Join(paths, ", "))
	return nil
}
