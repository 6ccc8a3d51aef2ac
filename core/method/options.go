package method

import (
	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/core/sampler"
	"github.com/vaebm/vaebm/core/train"
)

// The experiment's YAML sections map onto the trainers' own option
// structs here, and nowhere else.

// vaeOptions are stage 1's settings from the vae section.
func vaeOptions(v config.VAE) train.VAEOptions {
	return train.VAEOptions{Steps: v.Steps, BatchSize: v.BatchSize, LR: v.LR,
		KLWarmupSteps: v.KLWarmupSteps, KLWarmupMin: v.KLWarmupMin, KLBalance: v.KLBalance, SpectralReg: v.SpectralReg}
}

// ebmOptions are stage 2's settings from the ebm section and, for the
// training chains, the langevin section.
func ebmOptions(exp config.Experiment) train.EBMOptions {
	e, l := exp.EBM, exp.Langevin
	return train.EBMOptions{
		Steps: e.Steps, BatchSize: e.BatchSize, LogEvery: e.LogEvery,
		LR: e.LR, Beta1: e.Beta1, Beta2: e.Beta2, WeightDecay: e.WeightDecay, ClipStd: e.ClipStd,
		SpectralReg: e.SpectralReg, EnergyReg: e.EnergyReg, EnergyRegEnd: e.EnergyRegEnd,
		Chains: chainOptions(l, l.Steps, l.StepSize),
		Replay: train.ReplayOptions{Size: l.Replay.Size, MaxProb: l.Replay.MaxProb, AnnealSteps: l.Replay.AnnealSteps},
	}
}

// chainOptions are the langevin section's chains with this length and
// step size (the training chain's, or the test chain's: TestChain).
func chainOptions(l config.Langevin, steps int, stepSize float64) train.ChainOptions {
	o := train.ChainOptions{Steps: steps, StepSize: stepSize, Rule: sampler.RuleULA, NoiseStd: l.NoiseStd, GradClip: l.GradClip}
	if l.Rule == "noise_first" { // config.Validate allows ula and noise_first
		o.Rule = sampler.RuleNoiseFirst
	}
	if l.Correction == "mala" {
		o.Correction = sampler.CorrectionMALA
	}
	if len(l.Clamp) == 2 {
		o.ClampLo, o.ClampHi = l.Clamp[0], l.Clamp[1]
	}
	return o
}

// wganOptions are the WGAN stage's settings from the wgan section.
func wganOptions(w config.WGAN) train.WGANOptions {
	return train.WGANOptions{Steps: w.Steps, NCritic: w.NCritic, BatchSize: w.BatchSize, LogEvery: w.LogEvery,
		CriticLR: w.CriticLR, GenLR: w.GenLR, Beta1: w.Beta1, Beta2: w.Beta2}
}
