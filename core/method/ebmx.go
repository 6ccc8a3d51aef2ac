package method

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/core/sampler"
	"github.com/vaebm/vaebm/core/train"
)

// EBMX is Table 4's "EBM on x" (Du & Mordatch 2019, as App. F trains it):
// an energy on x alone, trained on Eq. 7 with negatives from Langevin
// chains in x (langevin.rule noise_first, gradient clip, clamp to the data
// range) and a replay buffer of x. With langevin.init noise the chains and
// their restarts start at uniform noise on the clamp range; with vae
// ("MCMC init w/ NVAE") at samples of the pretrained VAE, which is then
// stage 1 (the cached VAE every method shares) and is reported too. Test
// chains start the same way.
var EBMX = Method{
	Name: "ebm_x",
	Check: func(exp config.Experiment) error {
		switch {
		case len(exp.Langevin.Clamp) != 2:
			return settingError("langevin.clamp", "ebm_x needs the data range [lo, hi]: its chains are clamped to it and its noise starts are uniform on it")
		case exp.EBM.MeanNegatives:
			return settingError("ebm.mean_negatives", "needs a decoder mean, which ebm_x does not have")
		case exp.Langevin.MeanEnergy:
			return settingError("langevin.mean_energy", "needs a decoder mean, which ebm_x does not have")
		}
		return errors.Join(checkInit(exp, "noise", "vae"), checkNoDecoderUpdate(exp))
	},
	Build: func(ctx context.Context, env *Env) ([]Model, error) {
		exp := env.Exp
		lo, hi := exp.Langevin.Clamp[0], exp.Langevin.Clamp[1]
		id := sampler.Identity{Dim: env.XDim}
		steps, stepSize := TestChain(exp)
		chains := Chains{Gen: id, Target: sampler.TargetEnergyOnly, Chain: chainOptions(exp.Langevin, steps, stepSize),
			Init: uniformNoise(lo, hi)}
		var prepare func(context.Context, *train.EBMStage) error // with init vae: the pool
		settings := struct {
			Energy      any
			Temperature float64
			DecoderMean bool
		}{Energy: energySettings(exp)}
		var models []Model
		title := "EBM on x"
		if exp.Langevin.Init == "vae" {
			v, err := trainVAE(ctx, env)
			if err != nil {
				return nil, err
			}
			vm := vaeModel(exp, v)
			models = append(models, vm)
			// The training chains restart from a pool of VAE samples drawn
			// once when the stage trains; the test chains from the VAE
			// model's own samples.
			prepare = func(ctx context.Context, st *train.EBMStage) error {
				n := max(exp.Langevin.Replay.Size, exp.EBM.BatchSize)
				pool, err := vm.Sample(ctx, NewRNG(exp.Seed, StreamPool), nil, n, 64, nil)
				if err != nil {
					return fmt.Errorf("ebm_x: drawing the VAE samples the chains start from: %w", err)
				}
				st.Init = sampler.FromPool(pool, env.XDim)
				return nil
			}
			chains.From = v
			if exp.Eval.DecoderMean {
				chains.From = sampler.MeanOf{Generator: v}
			}
			chains.Init = func(rng *rand.Rand, eps [][]float32) { DrawNoise(rng, eps, exp.Eval.Temperature) }
			settings.Temperature, settings.DecoderMean = exp.Eval.Temperature, exp.Eval.DecoderMean
			title = "EBM on x, MCMC init w/ NVAE"
		}
		en, err := newEnergy(env)
		if err != nil {
			return nil, err
		}
		chains.Energy = en
		st := train.EBMStage{Gen: id, Energy: en, Target: sampler.TargetEnergyOnly, Persist: 1, Init: sampler.Uniform(lo, hi)}
		if err := trainEnergy(ctx, env, st, nil, settings, prepare); err != nil {
			return nil, err
		}
		return append(models, Model{Name: "ebm_x", Title: title, Sample: chains.Sample, Steps: steps, Energy: en}), nil
	},
}
