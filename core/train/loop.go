package train

import (
	"context"
	"errors"
	"fmt"

	"github.com/vaebm/vaebm/core/nn"
)

// Loop is the training-step loop every trainer shares (the VAE, the
// energy, the classifiers). Each step it lets the trainer fill the graphs'
// inputs, and for each Part runs the graph, stops on a non-finite loss,
// adds the spectral regulariser's gradient and takes the optimiser step;
// at intervals it logs the averages and saves a resumable state. What
// differs between trainers is in the parts and the function fields.
type Loop struct {
	// Stage names the metrics (Stage+"/loss"), the progress bar and errors.
	Stage    string
	Steps    int
	LogEvery int // steps between reports; below 1 means every step
	// Parts are the optimisations of one step, in order: one for most
	// trainers; a critic and a generator for a GAN.
	Parts []*Part

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
	// schedules) before its parts run.
	Prepare func(ctx context.Context, step int) error
	// Observe reads the step's outputs after its parts' updates.
	Observe func(step int)
	// Report logs the trainer's averages over the n steps since the last
	// report (the first part's mean loss is loss) and returns a short
	// status for the progress bar.
	Report func(step int, n, loss float64) string
	// Save adds the trainer's state beyond Sums (a replay buffer) to a
	// state about to be written; Restore reads it back from a loaded one.
	Save    func(st *stageState)
	Restore func(st *stageState) error
}

// Part is one optimisation within a training step: a graph, the
// parameters it trains, and their optimiser.
type Part struct {
	// Name prefixes the metrics of all but the first part
	// (Stage/NAME_loss); the first part's are Stage/loss.
	Name     string
	Prog     *nn.Program
	Params   []*nn.Param
	Opt      *nn.Adam
	Spectral *nn.SpectralRegularizer // nil: no spectral regularisation
	// Loss is the scalar the graph minimises; LossWhat says what it is in
	// the error a non-finite value raises ("the ELBO loss").
	Loss     *nn.Output
	LossWhat string
	// Buffers are state the part keeps but does not train (spectral
	// normalisation's u and v), saved with it so that a resumed stage
	// continues exactly.
	Buffers []*nn.Param
	// Repeat is how many updates the part takes each step (0 means 1): a
	// WGAN critic's n_critic.
	Repeat int
	// Prepare, if set, fills the part's own inputs before its k-th update
	// of the step (k from 0).
	Prepare func(ctx context.Context, step, k int) error

	sumLoss, sumSpec float64 // since the last report
	updates          int     // since the last report
}

func (p *Part) repeat() int { return max(p.Repeat, 1) }

// update runs the part's graph once and takes its optimiser step.
func (p *Part) update(ctx context.Context, stage string, step, k int) error {
	if p.Prepare != nil {
		if err := p.Prepare(ctx, step, k); err != nil {
			return err
		}
	}
	if err := p.Prog.Run(); err != nil {
		return err
	}
	loss := p.Loss.Scalar()
	if !finite(loss) {
		return &NonFiniteError{Stage: stage, What: p.LossWhat, Step: step}
	}
	grads, err := p.Prog.Grads(p.Params)
	if err != nil {
		return err
	}
	if p.Spectral != nil {
		p.sumSpec += p.Spectral.AddGrad(p.Params, grads, 1)
	}
	if err := p.Opt.Step(grads); err != nil {
		return err
	}
	p.sumLoss += loss
	p.updates++
	return nil
}

// key names a metric of the part: Stage/what for the first, Stage/NAME_what
// for the others.
func (l *Loop) key(i int, what string) string {
	if i == 0 {
		return l.Stage + "/" + what
	}
	return l.Stage + "/" + l.Parts[i].Name + "_" + what
}

// Run trains from the saved state, if there is one, to Loop.Steps.
func (l *Loop) Run(ctx context.Context) error {
	if len(l.Parts) == 0 {
		return fmt.Errorf("%s: a training loop without parts", l.Stage)
	}
	first := 1
	if l.Checkpoint != nil && l.Checkpoint.Path != "" && l.RNG == nil {
		return fmt.Errorf("%s: a checkpointed stage needs an RNG to save", l.Stage)
	}
	main := l.Parts[0]
	saved, err := l.Checkpoint.load(main.Params, main.Opt, l.RNG)
	if err != nil {
		return fmt.Errorf("%s: %w", l.Stage, err)
	}
	if saved != nil {
		if err := l.restore(saved); err != nil {
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
		for _, p := range l.Parts {
			for k := 0; k < p.repeat(); k++ {
				if err := p.update(ctx, l.Stage, step, k); err != nil {
					var nf *NonFiniteError
					if errors.As(err, &nf) {
						return err
					}
					return fmt.Errorf("%s step %d: %w", l.Stage, step, err)
				}
			}
		}
		if l.Observe != nil {
			l.Observe(step)
		}
		if every := max(l.LogEvery, 1); step%every == 0 || step == l.Steps {
			n := float64((step-1)%every + 1)
			for i, p := range l.Parts {
				u := float64(max(p.updates, 1))
				l.Log.Log(l.key(i, "loss"), step, p.sumLoss/u)
				if p.Spectral != nil {
					l.Log.Log(l.key(i, "spectral_penalty"), step, p.sumSpec/u)
				}
			}
			msg := ""
			if l.Report != nil {
				msg = l.Report(step, n, main.sumLoss/float64(max(main.updates, 1)))
			}
			if l.Progress != nil {
				l.Progress(l.Stage, step, l.Steps, msg)
			}
			for _, p := range l.Parts {
				p.sumLoss, p.sumSpec, p.updates = 0, 0, 0
			}
		}
		if l.Checkpoint.due(step, l.Steps) {
			if err := l.save(step); err != nil {
				return fmt.Errorf("%s step %d: %w", l.Stage, step, err)
			}
		}
	}
	for _, p := range l.Parts {
		if err := nn.CheckFinite(p.Params); err != nil {
			return fmt.Errorf("%s: %w", l.Stage, err)
		}
	}
	return nil
}

// save writes the state after step: the first part's parameters and
// optimiser in the state's own fields, the others' in Parts, then every
// part's running sums (loss, spectral penalty, updates) and the trainer's.
func (l *Loop) save(step int) error {
	st := &stageState{Step: step}
	for i, p := range l.Parts {
		st.Sums = append(st.Sums, p.sumLoss, p.sumSpec, float64(p.updates))
		var spec [][]float64
		if p.Spectral != nil {
			spec = p.Spectral.State()
		}
		var buffers [][]float32
		for _, q := range p.Buffers {
			buffers = append(buffers, q.Data())
		}
		if i == 0 {
			st.Spectral, st.Buffers = spec, buffers
			continue
		}
		ps := partState{Adam: p.Opt.State(), Spectral: spec, Buffers: buffers}
		for _, q := range p.Params {
			ps.Params = append(ps.Params, q.Data())
		}
		st.Parts = append(st.Parts, ps)
	}
	st.Sums = append(st.Sums, l.Sums...)
	if l.Save != nil {
		l.Save(st)
	}
	return l.Checkpoint.save(st, l.Parts[0].Params, l.Parts[0].Opt, l.RNG)
}

// restore sets the loop's and the trainer's running state from a loaded
// one (the first part's parameters and optimiser are already in place).
func (l *Loop) restore(st *stageState) error {
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("%s: training state %s: %w: %s", l.Stage, l.Checkpoint.Path, nn.ErrCorruptCheckpoint, fmt.Sprintf(format, args...))
	}
	want := 3*len(l.Parts) + len(l.Sums)
	if len(st.Sums) != want {
		return corrupt("%d running sums, the stage keeps %d", len(st.Sums), want)
	}
	if len(st.Parts) != len(l.Parts)-1 {
		return corrupt("%d further parts, the stage has %d", len(st.Parts), len(l.Parts)-1)
	}
	for i, p := range l.Parts {
		p.sumLoss, p.sumSpec, p.updates = st.Sums[3*i], st.Sums[3*i+1], int(st.Sums[3*i+2])
		spec, buffers := st.Spectral, st.Buffers
		if i > 0 {
			ps := st.Parts[i-1]
			if len(ps.Params) != len(p.Params) {
				return corrupt("part %q has %d parameters, want %d", p.Name, len(ps.Params), len(p.Params))
			}
			for j, q := range p.Params {
				if len(ps.Params[j]) != len(q.Data()) {
					return corrupt("parameter %s has %d values, want %d", q.Name, len(ps.Params[j]), len(q.Data()))
				}
				copy(q.Data(), ps.Params[j])
			}
			if err := p.Opt.SetState(ps.Adam); err != nil {
				return corrupt("%v", err)
			}
			spec, buffers = ps.Spectral, ps.Buffers
		}
		if len(buffers) != len(p.Buffers) {
			return corrupt("part %q has %d buffers, want %d", p.Name, len(buffers), len(p.Buffers))
		}
		for j, q := range p.Buffers {
			if len(buffers[j]) != len(q.Data()) {
				return corrupt("buffer %s has %d values, want %d", q.Name, len(buffers[j]), len(q.Data()))
			}
			copy(q.Data(), buffers[j])
		}
		if p.Spectral != nil {
			if err := p.Spectral.SetState(spec); err != nil {
				return corrupt("%v", err)
			}
		}
	}
	copy(l.Sums, st.Sums[3*len(l.Parts):])
	if l.Restore != nil {
		if err := l.Restore(st); err != nil {
			return corrupt("%v", err)
		}
	}
	return nil
}
