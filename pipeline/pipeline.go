// Package pipeline runs an experiment end to end: it builds the data and
// networks an experiment names, trains the stages, evaluates, and records
// everything in the tracker, then writes the table and figures.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"time"

	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/core/method"
	"github.com/vaebm/vaebm/tracker"
)

// Options are the settings of a run that are not part of the experiment.
type Options struct {
	OutDir  string      // generated output root, "out" by default
	DB      *tracker.DB // where the run is recorded
	Log     io.Writer   // progress and status, nil for silence
	Command string      // the command line, recorded with the run
	// Force recomputes cached stages (the trained VAE) instead of reusing them.
	Force bool
	// Label, when set, begins every progress line: an ablation names the
	// row and seed a run makes ("row 2 of 6 (EBM on x), seed 0").
	Label string
	// StageWait bounds how long a run waits for another job that is
	// computing a stage it needs (jobs sharing OutDir and DB compute each
	// stage once); 0 means DefaultStageWait.
	StageWait time.Duration
}

// DefaultStageWait is how long a run waits, by default, for another job's
// stage: longer than any quick-scale stage, short of a paper-scale VAE.
const DefaultStageWait = 12 * time.Hour

// newBar is the progress display of a run under opts.
func (opts Options) newBar() *Bar {
	b := NewBar(opts.Log)
	b.label = opts.Label
	return b
}

// newRNG is the random stream of a run with this seed (method.Stream…).
func newRNG(seed uint64, stream uint64) *rand.Rand {
	return method.NewRNG(seed, stream)
}

// RunDir is where a run keeps its checkpoints and samples.
func RunDir(out string, id int64) string {
	return filepath.Join(out, "runs", strconv.FormatInt(id, 10))
}

// Load reads an experiment file with overrides (config.Load) and checks
// it against what its method needs (method.Check), naming the file in
// either's error.
func Load(path string, overrides []string) (config.Experiment, error) {
	exp, err := config.Load(path, overrides)
	if err != nil {
		return exp, err
	}
	if err := method.Check(exp); err != nil {
		return exp, inFile(err, path)
	}
	return exp, nil
}

// inFile names the file in a config.Error that names none.
func inFile(err error, path string) error {
	var ce *config.Error
	if errors.As(err, &ce) && ce.File == "" {
		ce.File = path
	}
	return err
}

// Run executes exp, once per seed when it lists seeds, and returns the
// tracker run IDs. Whatever fails after a run starts is recorded on it
// (status failed or killed, with the error); later seeds are not started.
func Run(ctx context.Context, exp config.Experiment, opts Options) ([]int64, error) {
	if err := method.Check(exp); err != nil {
		return nil, inFile(err, "experiment "+exp.Name)
	}
	seeds := exp.Seeds
	if len(seeds) == 0 {
		seeds = []uint64{exp.Seed}
	}
	var ids []int64
	for i, s := range seeds {
		e := exp
		e.Seed, e.Seeds = s, nil
		if len(seeds) > 1 && opts.Log != nil {
			fmt.Fprintf(opts.Log, "seed %d (%d of %d)\n", s, i+1, len(seeds))
		}
		id, err := runOne(ctx, e, opts)
		if id != 0 {
			ids = append(ids, id)
		}
		if err != nil {
			return ids, err
		}
	}
	return ids, nil
}

func runOne(ctx context.Context, exp config.Experiment, opts Options) (int64, error) {
	cfg, err := config.Marshal(exp)
	if err != nil {
		return 0, err
	}
	params, err := config.Flatten(exp)
	if err != nil {
		return 0, err
	}
	run, err := startRun(ctx, opts, tracker.RunSpec{
		Experiment: exp.Name, Name: fmt.Sprintf("%s-%s-seed%d", exp.Name, exp.Scale, exp.Seed),
		Config: string(cfg), Seed: exp.Seed, Params: params,
	})
	if err != nil {
		return 0, err
	}
	bar := opts.newBar()
	bar.Say("run %d: %s (scale %s, seed %d); recording to %s", run.ID, exp.Name, exp.Scale, exp.Seed, opts.DB.Path())
	return run.ID, execute(ctx, exp, opts, run, bar, false)
}

// Resume continues run id, which crashed, was killed or failed, from its
// last checkpoints, into the same run record, and writes its table.
func Resume(ctx context.Context, id int64, opts Options) error {
	run, ri, err := opts.DB.Resume(ctx, id)
	if err != nil {
		return err
	}
	if job := SlurmJob(); job != "" {
		if err := run.SetSlurmJob(job); err != nil {
			return recordFailure(run, err)
		}
	}
	where := fmt.Sprintf("stored config of run %d", id)
	exp, err := config.Parse([]byte(ri.Config), where)
	if err == nil {
		err = inFile(method.Check(exp), where)
	}
	if err != nil {
		return recordFailure(run, err)
	}
	bar := opts.newBar()
	bar.Say("run %d: resuming %s (seed %d, resume %d); recording to %s", id, exp.Name, exp.Seed, ri.Resumes, opts.DB.Path())
	return execute(ctx, exp, opts, run, bar, true)
}

func execute(ctx context.Context, exp config.Experiment, opts Options, run *tracker.Run, bar *Bar, resuming bool) error {
	if err := runMethod(ctx, exp, opts, run, bar, resuming); err != nil {
		return recordFailure(run, err)
	}
	return run.Finish()
}

func recordFailure(run *tracker.Run, err error) error {
	if ferr := run.Fail(err); ferr != nil {
		return fmt.Errorf("run %d: %w (and recording the failure: %v)", run.ID, err, ferr)
	}
	return fmt.Errorf("run %d: %w", run.ID, err)
}
