package method

import (
	"context"
	"errors"
	"math/rand/v2"

	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/core/sampler"
	"github.com/vaebm/vaebm/core/train"
)

// VAEBM is the paper's method (Sec. 3): stage 1 trains the VAE on its
// ELBO, stage 2 the energy on Eq. 7 with negatives from Langevin chains
// in the VAE's noise space (Eq. 9). It reports the VAE alone and the
// VAEBM h_ψ,θ(x) ∝ p_θ(x) e^{−E_ψ(x)}.
var VAEBM = Method{
	Name: "vaebm",
	Check: func(exp config.Experiment) error {
		return errors.Join(checkInit(exp, "prior"), checkNoDecoderUpdate(exp))
	},
	Build: func(ctx context.Context, env *Env) ([]Model, error) {
		v, err := trainVAE(ctx, env)
		if err != nil {
			return nil, err
		}
		en, err := newEnergy(env)
		if err != nil {
			return nil, err
		}
		if err := trainEnergy(ctx, env, epsStage(env.Exp, v, en), nil, energySettings(env.Exp), nil); err != nil {
			return nil, err
		}
		return []Model{vaeModel(env.Exp, v), vaebmModel(env.Exp, "vaebm", "VAEBM", v, en)}, nil
	},
}

// epsStage is stage 2's chains in ε = (ε_z, ε_x) for the VAE gen: the
// replay buffer keeps every ε_z group, and ε_x too with
// langevin.replay.keep_eps_x (App. E redraws it).
func epsStage(exp config.Experiment, gen VAE, en sampler.Energy) train.EBMStage {
	persist := len(gen.EpsDims()) - 1
	if exp.Langevin.Replay.KeepEpsX {
		persist++
	}
	return train.EBMStage{Gen: chainGenerator(exp, gen), Energy: en, Target: sampler.Target(exp.Langevin.Target),
		Persist: persist, Init: sampler.Gaussian, MeanNegatives: exp.EBM.MeanNegatives}
}

// chainGenerator is the T_θ the chains see: the VAE's, or with
// langevin.mean_energy its decoder mean.
func chainGenerator(exp config.Experiment, gen sampler.Generator) sampler.Generator {
	if exp.Langevin.MeanEnergy {
		return sampler.MeanOf{Generator: gen}
	}
	return gen
}

// vaeModel is the VAE alone, sampled ancestrally (the decoder mean with
// eval.decoder_mean).
func vaeModel(exp config.Experiment, v VAE) Model {
	return Model{Name: "vae", Title: "VAE", Sample: VAESampler(v, exp.Eval.Temperature, exp.Eval.DecoderMean), Base: v}
}

// vaebmModel is the VAEBM of gen and en, sampled by test-time chains in ε
// that start at gen's samples. Each chain reports x = T_θ(ε) at its final
// state or, with eval.decoder_mean, the decoder mean μ(z) there (T_θ with
// ε_x = 0), as the NVlabs sampler does.
func vaebmModel(exp config.Experiment, name, title string, gen VAE, en sampler.Energy) Model {
	steps, stepSize := TestChain(exp)
	c := Chains{Gen: chainGenerator(exp, gen), Energy: en, Target: sampler.Target(exp.Langevin.Target),
		Chain: chainOptions(exp.Langevin, steps, stepSize), Temperature: exp.Eval.Temperature}
	c.Init = func(rng *rand.Rand, eps [][]float32) { DrawNoise(rng, eps, c.Temperature) }
	switch {
	case exp.Eval.DecoderMean:
		c.Report = sampler.MeanOf{Generator: gen}
	case exp.Langevin.MeanEnergy:
		// The chains' own x is μ(z); a sample takes the chain's ε_x
		// through the full T_θ.
		c.Report = gen
	}
	if c.Chain.Correction != sampler.CorrectionNone {
		c.Moves = new(sampler.Moves)
	}
	return Model{Name: name, Title: title, Sample: c.Sample, Steps: steps, Moves: c.Moves, Base: gen, Energy: en}
}
