package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/core/method"
	"github.com/vaebm/vaebm/core/nn"
	"github.com/vaebm/vaebm/tracker"
)

// A task is a dataset's side of a run: its data and networks, and the
// evaluation and figures of whatever models the method reports. The runner
// (runMethod) joins a task and a method from method.Table.
type task interface {
	// env builds the method's environment for exp; Train is left to the runner.
	env(exp config.Experiment) (*method.Env, error)
	// prepare readies the evaluation (the image judges). It runs beside
	// the stages, so it must not touch what they train, and a failure
	// there stops them rather than waiting for them.
	prepare(ctx context.Context, exp config.Experiment, opts Options, run *tracker.Run, bar *Bar) error
	// evaluate scores the models, records eval/ metrics and draws the figures.
	evaluate(ctx context.Context, exp config.Experiment, opts Options, run *tracker.Run, bar *Bar, models []method.Model) error
}

// taskOf returns the task of exp's dataset.
func taskOf(exp config.Experiment) task {
	if t, ok := imageTasks[exp.Data.Name]; ok {
		return &imageRun{imageTask: t}
	}
	return &toyRun{}
}

// runMethod runs exp's method on its dataset's task into run: the task's
// preparation beside each stage the method trains (reused, resumed or
// trained: trainedStage), then the evaluation of the models it reports.
// Each stage's wall time is time/NAME_s, the preparation's time/judges_s;
// the two overlap.
func runMethod(ctx context.Context, exp config.Experiment, opts Options, run *tracker.Run, bar *Bar, resuming bool) error {
	m, err := method.Lookup(exp.Method)
	if err != nil {
		return err
	}
	t := taskOf(exp)
	if err := os.MkdirAll(RunDir(opts.OutDir, run.ID), 0o755); err != nil {
		return err
	}
	env, err := t.env(exp)
	if err != nil {
		return err
	}
	digest := DataDigest(env.TrainSet)
	if err := run.SetDatasetDigest(digest); err != nil {
		return err
	}
	if err := run.DeleteMetrics("eval/", -1); err != nil {
		return err
	}
	// The judges (prepare) and the method's stages need nothing of each
	// other until the evaluation, so they run side by side: one process
	// keeps about 1.6 of 2 cores busy, and two StackedMNIST VAE steps side
	// by side ran at 1.29× the throughput of one alone (README:
	// Performance). A failure on either side cancels the other at once.
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	prepared := make(chan error, 1)
	go func() {
		popts := opts.beside("judges: ")
		err := timedStage(run, "judges", func() error {
			return t.prepare(sctx, exp, popts, run, popts.newBar())
		})
		if err != nil {
			cancel()
		}
		prepared <- err
	}()
	models, err := buildModels(sctx, exp, opts, run, bar, m, env, digest, resuming)
	if err != nil {
		cancel()
		// A stage stopped by the judges' failure reports that failure.
		if perr := <-prepared; perr != nil && ctx.Err() == nil && errors.Is(err, context.Canceled) {
			return perr
		}
		return err
	}
	if err := <-prepared; err != nil {
		return err
	}
	if err := run.Flush(); err != nil {
		return err
	}
	return t.evaluate(ctx, exp, opts, run, bar, models)
}

// buildModels trains (or reuses, or resumes) each stage of method m in
// order, into run, and returns the models it reports.
func buildModels(ctx context.Context, exp config.Experiment, opts Options, run *tracker.Run, bar *Bar, m method.Method, env *method.Env, digest string, resuming bool) ([]method.Model, error) {
	var upstream []string // the keys of the stages trained so far
	env.Train = func(ctx context.Context, s method.Stage) error {
		key, inputs, err := methodStageKey(exp, s, upstream, digest)
		if err != nil {
			return err
		}
		upstream = append(upstream, key)
		return timedStage(run, s.Name, func() error {
			return trainedStage(ctx, opts, run, bar, s, key, inputs, resuming)
		})
	}
	models, err := m.Build(ctx, env)
	if err != nil {
		return nil, err
	}
	return models, run.Flush()
}

// methodStageKey content-addresses a stage by everything its result
// depends on: its name and settings, the keys of the stages before it,
// the data settings, the seed, the data's digest and the code. A VAE
// stage has no stages before it and the same settings in every method,
// so every method shares one cached VAE.
func methodStageKey(exp config.Experiment, s method.Stage, upstream []string, digest string) (key, inputs string, err error) {
	return stageKey(struct {
		Stage    string
		Settings any
		Upstream []string
		Data     config.Data
		Seed     uint64
		Digest   string
		Code     string
	}{s.Name, s.Settings, upstream, exp.Data, exp.Seed, digest, CodeVersion()})
}

// loadModels rebuilds the models of finished run r from its final
// checkpoints, training nothing.
func loadModels(ctx context.Context, exp config.Experiment, out string, id int64) ([]method.Model, error) {
	m, err := method.Lookup(exp.Method)
	if err != nil {
		return nil, err
	}
	env, err := taskOf(exp).env(exp)
	if err != nil {
		return nil, err
	}
	dir := RunDir(out, id)
	env.Train = func(_ context.Context, s method.Stage) error {
		final, _ := stageFiles(dir, s.Name)
		return nn.LoadParams(final, s.Params)
	}
	return m.Build(ctx, env)
}

// pickModel returns the model called name, or with name "" the method's
// own model (the last it reports).
func pickModel(models []method.Model, name string, id int64) (method.Model, error) {
	if name == "" && len(models) > 0 {
		return models[len(models)-1], nil
	}
	var names []string
	for _, m := range models {
		if m.Name == name {
			return m, nil
		}
		names = append(names, m.Name)
	}
	return method.Model{}, fmt.Errorf("--model %q: run %d reports %v", name, id, names)
}
