package method

import (
	"context"
	"errors"

	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/core/sampler"
	"github.com/vaebm/vaebm/core/train"
)

// WGANNVAE is Table 4's "WGAN w/ NVAE decoder" (Sec. 5.2, App. F): the
// generator is a copy of the pretrained VAE's decoder, ε_z → μ(z), and the
// critic the energy network with fresh weights, spectral normalisation
// and (wgan.batch_norm) batch normalisation, both of which App. F found
// necessary; trained on the Wasserstein loss (train.WGAN). Stages: the
// VAE (shared with every method), then the WGAN. It reports the VAE and
// the trained generator, whose samples are the decoder means.
var WGANNVAE = Method{
	Name: "wgan_nvae",
	Check: func(exp config.Experiment) error {
		switch w := exp.WGAN; {
		case w.Steps < 1 || w.NCritic < 1 || w.BatchSize < 1:
			return settingError("wgan", "wgan_nvae needs steps, n_critic and batch_size ≥ 1 (have %d, %d, %d)", w.Steps, w.NCritic, w.BatchSize)
		case !(w.CriticLR > 0) || !(w.GenLR > 0):
			return settingError("wgan", "wgan_nvae needs critic_lr and gen_lr > 0 (have %v, %v)", w.CriticLR, w.GenLR)
		case w.LogEvery < 1 || w.CheckpointEvery < 0:
			return settingError("wgan", "needs log_every ≥ 1 and checkpoint_every ≥ 0")
		case w.BatchNorm && exp.EBM.Arch != "resnet":
			return settingError("wgan.batch_norm", "needs ebm.arch resnet (the critic's convolutions); arch is %q", exp.EBM.Arch)
		}
		return errors.Join(checkInit(exp, "prior"), checkNoDecoderUpdate(exp))
	},
	Build: func(ctx context.Context, env *Env) ([]Model, error) {
		exp := env.Exp
		v, err := trainVAE(ctx, env)
		if err != nil {
			return nil, err
		}
		g, err := copyVAE(env, v)
		if err != nil {
			return nil, err
		}
		gen := sampler.MeanOf{Generator: g}
		genParams, err := train.GeneratorParams(gen, g.Params())
		if err != nil {
			return nil, err
		}
		critic, err := env.NewEnergy(EnergyOptions{Stream: StreamCritic, SpectralNorm: true, BatchNorm: exp.WGAN.BatchNorm})
		if err != nil {
			return nil, err
		}
		w := exp.WGAN
		opts := wganOptions(w)
		settings := w
		settings.LogEvery, settings.CheckpointEvery = 0, 0
		e := exp.EBM
		err = env.Train(ctx, Stage{
			Name: "wgan", What: "WGAN generator and critic", Params: append(critic.Params(), g.Params()...),
			Settings: struct {
				WGAN   config.WGAN
				Critic criticArch
			}{settings, criticArch{e.Hidden, e.Layers, e.Blocks, e.Activation, e.InputScale}},
			CheckpointEvery: w.CheckpointEvery,
			Train: func(ctx context.Context, ck *train.Checkpoint, log train.Logger, progress train.Progress) error {
				st := train.WGANStage{Gen: gen, GenParams: genParams, Critic: critic}
				return train.WGAN(ctx, st, opts, env.TrainSet, train.NewRNG(exp.Seed, StreamWGANTrain), ck, log, progress)
			},
		})
		if err != nil {
			return nil, err
		}
		return []Model{vaeModel(exp, v), {Name: "wgan_nvae", Title: "WGAN w/ NVAE decoder", Sample: VAESampler(g, exp.Eval.Temperature, true)}}, nil
	},
}

// criticArch are the ebm settings the critic's network is built from.
type criticArch struct {
	Hidden, Layers int
	Blocks         []config.Block
	Activation     string
	InputScale     float64
}
