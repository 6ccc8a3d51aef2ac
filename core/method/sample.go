package method

import (
	"context"
	"math/rand/v2"

	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/core/sampler"
	"github.com/vaebm/vaebm/core/train"
)

// VAESampler draws ancestral samples x = T_θ(ε), ε ~ N(0, I) with the
// ε_z groups scaled by temp, or with mean the decoder means μ(z).
func VAESampler(gen sampler.Generator, temp float64, mean bool) func(context.Context, *rand.Rand, *rand.Rand, int, int, Observer) ([]float32, error) {
	return func(ctx context.Context, starts, _ *rand.Rand, n, batch int, observe Observer) ([]float32, error) {
		batch = min(n, batch)
		dec, err := sampler.NewDecoder(gen, batch)
		if err != nil {
			return nil, err
		}
		defer dec.Close()
		eps := newNoise(gen.EpsDims(), batch)
		var out []float32
		xdim := gen.EpsDims()[len(eps)-1]
		for b := 0; len(out) < n*xdim; b++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			DrawNoise(starts, eps, temp)
			if mean {
				clear(eps[len(eps)-1])
			}
			x, err := dec.Decode(eps)
			if err != nil {
				return nil, err
			}
			if observe != nil {
				observe(b, 0, func() ([]float32, error) { return x, nil })
			}
			out = append(out, x...)
		}
		return out[:n*xdim], nil
	}
}

// Chains samples by Langevin dynamics after training: in ε for VAEBM
// (Eq. 9, longer chains than in training as App. E), in x for an EBM on
// x (Gen sampler.Identity).
type Chains struct {
	Gen    sampler.Generator
	Energy sampler.Energy
	Target sampler.Target
	// Chain gives the length, step size, step rule, noise, gradient clip
	// and clamp.
	Chain       train.ChainOptions
	Temperature float64
	// Moves, when set, sums the proposals and acceptances of the chains
	// of every Sample (langevin.correction mala).
	Moves *sampler.Moves
	// Init draws a batch of chain starts into eps: the VAE's noise (the
	// ε_z groups scaled by Temperature) for chains in ε, uniform noise for
	// chains in x. With From it draws From's noise instead.
	Init func(rng *rand.Rand, eps [][]float32)
	// From, when set, starts each chain in x at a sample x = From(ε):
	// the chains of ebm_x with langevin.init vae start at the VAE's
	// samples (which Init's draws make the VAE model's own).
	From sampler.Generator
	// Report, when set, is what a chain reports at its state ε instead
	// of its x: the decoder mean μ(z) there, or x = T_θ(ε) when the
	// chains see μ(z) (langevin.mean_energy).
	Report sampler.Generator
}

// Sample runs n chains, batch at a time, and returns what each reports
// after Chain.Steps steps (see Model.Sample).
func (c Chains) Sample(ctx context.Context, starts, noise *rand.Rand, n, batch int, observe Observer) ([]float32, error) {
	batch = min(n, batch)
	lang, err := train.NewLangevin(c.Gen, c.Energy, batch, c.Target, c.Chain)
	if err != nil {
		return nil, err
	}
	eps := newNoise(lang.EpsDims(), batch)
	var from *sampler.Decoder
	var fromEps [][]float32
	if c.From != nil {
		if from, err = sampler.NewDecoder(c.From, batch); err != nil {
			return nil, err
		}
		defer from.Close()
		fromEps = newNoise(c.From.EpsDims(), batch)
	}
	var dec *sampler.Decoder
	if c.Report != nil {
		if dec, err = sampler.NewDecoder(c.Report, batch); err != nil {
			return nil, err
		}
		defer dec.Close()
	}
	// Run updates eps in place, so at each observation eps is the state
	// that produced x.
	report := func(x []float32) ([]float32, error) {
		if dec == nil {
			return append([]float32(nil), x...), nil
		}
		return dec.Decode(eps)
	}
	xdim := lang.XDim()
	var out []float32
	for b := 0; len(out) < xdim*n; b++ {
		if from != nil {
			c.Init(starts, fromEps)
			x, err := from.Decode(fromEps)
			if err != nil {
				return nil, err
			}
			copy(eps[0], x)
		} else {
			c.Init(starts, eps)
		}
		var obs func(int, []float32)
		if observe != nil {
			obs = func(step int, x []float32) { observe(b, step, func() ([]float32, error) { return report(x) }) }
		}
		before := lang.Moves
		x, _, err := lang.Run(ctx, noise, eps, c.Chain.Steps, obs)
		if err != nil {
			return nil, err
		}
		if c.Moves != nil {
			c.Moves.Add(lang.Moves.Since(before))
		}
		if x, err = report(x); err != nil {
			return nil, err
		}
		out = append(out, x...)
	}
	return out[:xdim*n], nil
}

// DrawNoise draws a VAE sample's noise, or a chain's start in ε: every
// group from N(0, I), with the ε_z groups (all but the last, ε_x) scaled
// by the temperature.
func DrawNoise(rng *rand.Rand, eps [][]float32, temp float64) {
	for g := range eps {
		sampler.Gaussian(rng, g, eps[g])
		if g < len(eps)-1 && temp != 1 {
			t := float32(temp)
			for i := range eps[g] {
				eps[g][i] *= t
			}
		}
	}
}

// uniformNoise draws chain starts uniformly on [lo, hi).
func uniformNoise(lo, hi float64) func(*rand.Rand, [][]float32) {
	u := sampler.Uniform(lo, hi)
	return func(rng *rand.Rand, eps [][]float32) {
		for g := range eps {
			u(rng, g, eps[g])
		}
	}
}

func newNoise(dims []int, batch int) [][]float32 {
	eps := make([][]float32, len(dims))
	for g, d := range dims {
		eps[g] = make([]float32, d*batch)
	}
	return eps
}

// TestChain is the length and step size of the chains that draw samples
// after training: langevin.test_steps and test_step_size, each defaulting
// to the training chain's.
func TestChain(exp config.Experiment) (steps int, stepSize float64) {
	steps, stepSize = exp.Langevin.TestSteps, exp.Langevin.TestStepSize
	if steps == 0 {
		steps = exp.Langevin.Steps
	}
	if stepSize == 0 {
		stepSize = exp.Langevin.StepSize
	}
	return steps, stepSize
}
