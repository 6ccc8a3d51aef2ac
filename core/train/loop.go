package train

import (
	"context"
	"fmt"

	"github.com/vaebm/vaebm/core/nn"
)

// Loop is the training-step loop every trainer shares (the VAE, the
// energy, the classifiers). Each step it lets the trainer fill the graph's
// inputs, runs the graph, stops on a non-finite loss, adds the spectral
// regulariser's gradient, takes the optimiser step, and at intervals logs
// the averages and saves a resumable state. What differs between trainers
// is in the function fields.
type Loop struct {
	// Stage names the metrics (Stage+"/loss"), the progress bar and errors.
	Stage    string
	Steps    int
	LogEvery int

	Prog     *nn.Program
	Params   []*nn.Param
	Opt      *nn.Adam
	Spectral *nn.SpectralRegularizer // nil: no spectral regularisation
	// Loss is the scalar the graph minimises; LossWhat says what it is in
	// the error a non-finite value raises ("the ELBO loss").
	Loss     *nn.Output
	LossWhat string

	// RNG is saved and restored with the state; it may be nil without a
	// Checkpoint.
	RNG        *RNG
	Checkpoint *Checkpoint
	Log        Logger
	Progress   Progress

	// Sums are the trainer's own running values, which Observe adds to
	// and Report resets; they travel in the saved state, so a resumed stage
	// logs the averages an uninterrupted one would.
	Sums []float64

	// Prepare fills the inputs of a step (a minibatch, noise, negatives,
	// schedules) before the graph runs.
	Prepare func(ctx context.Context, step int) error
	// Observe reads the step's outputs after the optimiser step.
	Observe func(step int)
	// Report logs the trainer's averages over the n steps since the last
	// report (the loss's mean is loss) and returns a short status for the
	// progress bar.
	Report func(step int, n, loss float64) string
	// Save adds the trainer's state beyond Sums (a replay buffer) to a
	// state about to be written; Restore reads it back from a loaded one.
	Save    func(st *stageState)
	Restore func(st *stageState) error
}

// Run trains from the saved state, if there is one, to Loop.Steps.
func (l *Loop) Run(ctx context.Context) error {
	var sumLoss, sumSpec float64
	first := 1
	if l.Checkpoint != nil && l.Checkpoint.Path != "" && l.RNG == nil {
		return fmt.Errorf("%s: a checkpointed stage needs an RNG to save", l.Stage)
	}
	saved, err := l.Checkpoint.load(l.Params, l.Opt, l.RNG)
	if err != nil {
		return fmt.Errorf("%s: %w", l.Stage, err)
	}
	if saved != nil {
		if err := l.restore(saved, &sumLoss, &sumSpec); err != nil {
			return err
		}
		first = saved.Step + 1
	}
	for step := first; step <= l.Steps; step++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if l.Prepare != nil {
			if err := l.Prepare(ctx, step); err != nil {
				return fmt.Errorf("%s step %d: %w", l.Stage, step, err)
			}
		}
		if err := l.Prog.Run(); err != nil {
			return fmt.Errorf("%s step %d: %w", l.Stage, step, err)
		}
		loss := l.Loss.Scalar()
		if !finite(loss) {
			return &NonFiniteError{Stage: l.Stage, What: l.LossWhat, Step: step}
		}
		grads, err := l.Prog.Grads(l.Params)
		if err != nil {
			return fmt.Errorf("%s step %d: %w", l.Stage, step, err)
		}
		if l.Spectral != nil {
			sumSpec += l.Spectral.AddGrad(l.Params, grads, 1)
		}
		if err := l.Opt.Step(grads); err != nil {
			return fmt.Errorf("%s step %d: %w", l.Stage, step, err)
		}
		sumLoss += loss
		if l.Observe != nil {
			l.Observe(step)
		}
		if step%l.LogEvery == 0 || step == l.Steps {
			n := float64((step-1)%l.LogEvery + 1)
			l.Log.Log(l.Stage+"/loss", step, sumLoss/n)
			if l.Spectral != nil {
				l.Log.Log(l.Stage+"/spectral_penalty", step, sumSpec/n)
			}
			msg := ""
			if l.Report != nil {
				msg = l.Report(step, n, sumLoss/n)
			}
			if l.Progress != nil {
				l.Progress(l.Stage, step, l.Steps, msg)
			}
			sumLoss, sumSpec = 0, 0
		}
		if l.Checkpoint.due(step, l.Steps) {
			st := &stageState{Step: step, Sums: append([]float64{sumLoss, sumSpec}, l.Sums...)}
			if l.Spectral != nil {
				st.Spectral = l.Spectral.State()
			}
			if l.Save != nil {
				l.Save(st)
			}
			if err := l.Checkpoint.save(st, l.Params, l.Opt, l.RNG); err != nil {
				return fmt.Errorf("%s step %d: %w", l.Stage, step, err)
			}
		}
	}
	if err := nn.CheckFinite(l.Params); err != nil {
		return fmt.Errorf("%s: %w", l.Stage, err)
	}
	return nil
}

// restore sets the loop's and the trainer's running state from a loaded one.
func (l *Loop) restore(st *stageState, sumLoss, sumSpec *float64) error {
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("%s: training state %s: %w: %s", l.Stage, l.Checkpoint.Path, nn.ErrCorruptCheckpoint, fmt.Sprintf(format, args...))
	}
	if len(st.Sums) != 2+len(l.Sums) {
		return corrupt("%d running sums, the stage keeps %d", len(st.Sums), 2+len(l.Sums))
	}
	*sumLoss, *sumSpec = st.Sums[0], st.Sums[1]
	copy(l.Sums, st.Sums[2:])
	if l.Spectral != nil {
		if err := l.Spectral.SetState(st.Spectral); err != nil {
			return corrupt("%v", err)
		}
	}
	if l.Restore != nil {
		if err := l.Restore(st); err != nil {
			return corrupt("%v", err)
		}
	}
	return nil
}
