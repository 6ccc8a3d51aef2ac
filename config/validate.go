package config

import (
	"fmt"
	"slices"
)

// Validate checks required fields and value ranges of a resolved experiment.
func (e *Experiment) Validate() error {
	bad := func(key, format string, args ...any) error {
		return &Error{Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	if e.Name == "" {
		return bad("name", "is required")
	}
	if !slices.Contains(Methods, e.Method) {
		return bad("method", "is %q, want one of %v", e.Method, Methods)
	}
	type check struct {
		key string
		v   float64
	}
	positive := []check{
		{"vae.hidden", float64(e.VAE.Hidden)}, {"vae.latent_dim", float64(e.VAE.LatentDim)},
		{"vae.batch_size", float64(e.VAE.BatchSize)}, {"vae.lr", e.VAE.LR},
		{"ebm.hidden", float64(e.EBM.Hidden)}, {"ebm.batch_size", float64(e.EBM.BatchSize)},
		{"ebm.lr", e.EBM.LR}, {"ebm.log_every", float64(e.EBM.LogEvery)},
		{"langevin.step_size", e.Langevin.StepSize},
		{"data.train_size", float64(e.Data.TrainSize)},
	}
	switch e.Data.Name {
	case "":
		return bad("data.name", "is required")
	case "25gaussians":
		if e.Data.GridSize < 1 || e.Data.Spacing <= 0 || e.Data.Std <= 0 {
			return bad("data", "25gaussians needs grid_size ≥ 1, spacing > 0 and std > 0")
		}
		if e.VAE.Arch != "mlp" {
			return bad("vae.arch", "is %q; 25gaussians uses mlp", e.VAE.Arch)
		}
		if e.EBM.Arch != "mlp" {
			return bad("ebm.arch", "is %q; 25gaussians uses mlp", e.EBM.Arch)
		}
		if e.VAE.Layers < 2 || e.EBM.Layers < 2 {
			return bad("vae.layers", "vae.layers and ebm.layers must be ≥ 2")
		}
		if !(e.Eval.GridMax > e.Eval.GridMin) {
			return bad("eval.grid_max", "must exceed eval.grid_min")
		}
		positive = append(positive, []check{{"eval.test_points", float64(e.Eval.TestPoints)}, {"eval.iwae_samples", float64(e.Eval.IWAESamples)},
			{"eval.grid_n", float64(e.Eval.GridN)}}...)
	case "stackedmnist", "fashion-mnist", "cifar10":
		if e.VAE.Arch != "nvae" {
			return bad("vae.arch", "is %q; %s uses nvae", e.VAE.Arch, e.Data.Name)
		}
		if len(e.VAE.Groups) != 2 || e.VAE.Groups[0] < 1 || e.VAE.Groups[1] < 1 {
			return bad("vae.groups", "is %v; nvae needs [groups at 1/4 resolution, groups at 1/2], each ≥ 1", e.VAE.Groups)
		}
		if e.EBM.Arch != "resnet" {
			return bad("ebm.arch", "is %q; %s uses resnet", e.EBM.Arch, e.Data.Name)
		}
		if len(e.EBM.Blocks) == 0 {
			return bad("ebm.blocks", "resnet needs at least one block")
		}
		for i, blk := range e.EBM.Blocks {
			if blk.Out < 1 {
				return bad(fmt.Sprintf("ebm.blocks[%d].out", i), "must be ≥ 1 (is %d)", blk.Out)
			}
		}
		positive = append(positive, check{"eval.samples", float64(e.Eval.Samples)})
		if e.Data.Name == "stackedmnist" {
			positive = append(positive, check{"eval.mode_samples", float64(e.Eval.ModeSamples)})
		} else {
			// IS averages over 10 splits.
			if e.Eval.FIDSamples < 10 {
				return bad("eval.fid_samples", "must be ≥ 10 (is %d): classifier-FID needs a covariance and IS 10 splits", e.Eval.FIDSamples)
			}
		}
	default:
		return bad("data.name", "unknown dataset %q (have %v)", e.Data.Name, Datasets)
	}
	for _, p := range positive {
		if !(p.v > 0) {
			return bad(p.key, "must be > 0 (is %v)", p.v)
		}
	}
	if e.EBM.SpectralNorm && (e.EBM.Arch != "resnet" || e.EBM.WeightNorm) {
		return bad("ebm.spectral_norm", "needs arch resnet without weight_norm (arch %q, weight_norm %v)", e.EBM.Arch, e.EBM.WeightNorm)
	}
	// What a method needs of the settings beyond this is its own check
	// (method.Check), next to its code.
	switch e.Langevin.Init {
	case "prior", "noise", "vae":
	default:
		return bad("langevin.init", "is %q, want prior, noise or vae", e.Langevin.Init)
	}
	if e.EBM.DecoderLR < 0 {
		return bad("ebm.decoder_lr", "must be ≥ 0 (is %v)", e.EBM.DecoderLR)
	}
	if e.VAE.SpectralReg < 0 || e.EBM.SpectralReg < 0 {
		return bad("spectral_reg", "vae.spectral_reg and ebm.spectral_reg must be ≥ 0")
	}
	if e.VAE.KLBalance && e.VAE.Arch != "nvae" {
		return bad("vae.kl_balance", "needs vae.arch nvae (latent groups to balance); arch is %q", e.VAE.Arch)
	}
	if e.VAE.GlobalDim < 0 {
		return bad("vae.global_dim", "must be ≥ 0 (0: none)")
	}
	if !(e.Eval.Temperature > 0) {
		return bad("eval.temperature", "must be > 0 (is %v; 1 samples the prior)", e.Eval.Temperature)
	}
	if e.Eval.ClassifierSteps < 0 {
		return bad("eval.classifier_steps", "must be ≥ 0 (0: the default)")
	}
	if o := e.Eval.OOD; len(o.Sets) > 0 {
		if e.Data.Name != "fashion-mnist" {
			return bad("eval.ood.sets", "the OOD sets are Fashion-MNIST's (data.name is %q)", e.Data.Name)
		}
		for _, set := range o.Sets {
			if !slices.Contains(OODSets, set) {
				return bad("eval.ood.sets", "unknown set %q (want some of %v)", set, OODSets)
			}
		}
		if o.Images < 10 || o.Neighbours < 1 || e.Eval.IWAESamples < 1 {
			return bad("eval.ood", "images must be ≥ 10 (is %d), neighbours ≥ 1 (is %d) and eval.iwae_samples ≥ 1 (is %d)", o.Images, o.Neighbours, e.Eval.IWAESamples)
		}
	}
	if e.VAE.Steps < 0 || e.EBM.Steps < 0 || e.Langevin.Steps < 0 || e.Langevin.TestSteps < 0 {
		return bad("steps", "step counts must be ≥ 0")
	}
	if e.Langevin.Target != "eq9" && e.Langevin.Target != "xz_log_density" {
		return bad("langevin.target", "is %q, want eq9 or xz_log_density", e.Langevin.Target)
	}
	switch l := e.Langevin; {
	case l.Rule != "ula" && l.Rule != "noise_first":
		return bad("langevin.rule", "is %q, want ula or noise_first", l.Rule)
	case l.NoiseStd < 0 || l.NoiseStd > 0 && l.Rule != "noise_first":
		return bad("langevin.noise_std", "must be ≥ 0, and only the noise_first rule reads it (the ula rule's noise is √step_size)")
	case len(l.Clamp) != 0 && (len(l.Clamp) != 2 || !(l.Clamp[0] < l.Clamp[1])):
		return bad("langevin.clamp", "is %v, want [lo, hi] with lo < hi, or nothing", l.Clamp)
	case l.Correction != "none" && l.Correction != "mala":
		return bad("langevin.correction", "is %q, want none or mala", l.Correction)
	case l.Correction == "mala" && (l.Rule != "ula" || l.Target != "eq9" || l.GradClip > 0 || len(l.Clamp) != 0):
		// The Metropolis–Hastings test needs each chain's U and the
		// proposal's density: ULA's Gaussian step, unclipped and unclamped.
		return bad("langevin.correction", "mala needs rule ula, target eq9 and no grad_clip or clamp (rule %s, target %s, grad_clip %g, clamp %v)",
			l.Rule, l.Target, l.GradClip, l.Clamp)
	}
	if e.Langevin.TestStepSize < 0 {
		return bad("langevin.test_step_size", "must be ≥ 0 (0: langevin.step_size)")
	}
	if e.VAE.CheckpointEvery < 0 || e.EBM.CheckpointEvery < 0 {
		return bad("checkpoint_every", "vae.checkpoint_every and ebm.checkpoint_every must be ≥ 0")
	}
	seen := map[uint64]bool{}
	for _, s := range e.Seeds {
		if seen[s] {
			return bad("seeds", "lists seed %d twice", s)
		}
		seen[s] = true
	}
	if r := e.Langevin.Replay; r.Size < 0 || r.MaxProb < 0 || r.MaxProb > 1 || r.AnnealSteps < 0 {
		return bad("langevin.replay", "needs size ≥ 0, 0 ≤ max_prob ≤ 1, anneal_steps ≥ 0")
	}
	return nil
}
