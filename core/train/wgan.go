package train

import (
	"context"
	"fmt"

	G "gorgonia.org/gorgonia"

	"github.com/vaebm/vaebm/core/nn"
	"github.com/vaebm/vaebm/core/sampler"
)

// WGANStage is what the WGAN baseline of Table 4 trains (Sec. 5.2,
// App. F): a generator, for wgan_nvae the pretrained VAE's decoder
// (ε → decoder mean), and a critic D.
type WGANStage struct {
	Gen sampler.Generator
	// GenParams are the generator's trained parameters (the decoder's).
	GenParams []*nn.Param
	// Critic is D(x), a (batch, 1) node; an energy network with fresh weights.
	Critic sampler.Energy
}

// WGANOptions are the WGAN trainer's settings.
type WGANOptions struct {
	// Steps counts generator updates; the critic takes NCritic updates
	// before each.
	Steps, NCritic, BatchSize, LogEvery int
	// CriticLR is constant; GenLR decays to 0 on a cosine over the steps
	// (App. F: 5e-5 and 5e-6).
	CriticLR, GenLR float64
	Beta1, Beta2    float64
}

// SpectralNormed is a network with spectrally normalised layers, whose
// power iteration the trainers (the energy's, the WGAN critic's) advance
// once per update.
type SpectralNormed interface {
	SpectralNorms() []*nn.SpectralNorm
}

// wganGraphs are the two optimisations of a WGAN step and their inputs.
type wganGraphs struct {
	critic, gen *Part
	real        []float32   // the critic's real batch
	criticEps   [][]float32 // the noise of the critic's fake batch
	genEps      [][]float32 // the noise of the generator's batch
}

func (g *wganGraphs) Close() {
	g.critic.Prog.Close()
	g.gen.Prog.Close()
}

// newWGANGraphs builds the critic's optimisation on
// L_D = mean D(G(ε)) − mean D(x) (Arjovsky et al. 2017; the Lipschitz
// constraint comes from the critic's spectral normalisation) and the
// generator's on L_G = −mean D(G(ε)). Each graph holds both networks and
// is differentiated only with respect to its own part's parameters.
func newWGANGraphs(st WGANStage, o WGANOptions) (*wganGraphs, error) {
	must := G.Must
	g := &wganGraphs{}

	cb := nn.NewBuilder()
	xFake, eps, err := generatorInput(cb, st.Gen, o.BatchSize, "critic")
	if err != nil {
		return nil, err
	}
	g.criticEps = eps
	xReal, t := cb.Input("real", o.BatchSize, xFake.Shape()[1])
	g.real = t.Data().([]float32)
	dFake, err := st.Critic.Forward(cb, xFake)
	if err != nil {
		return nil, err
	}
	dReal, err := st.Critic.Forward(cb, xReal)
	if err != nil {
		return nil, err
	}
	cLoss := must(G.Sub(must(G.Mean(dFake)), must(G.Mean(dReal))))
	criticParams := nn.Trainable(st.Critic.Params())
	cProg, err := nn.Compile(cb, cLoss, cb.ParamNodes(criticParams))
	if err != nil {
		return nil, err
	}
	cOpt := nn.NewAdam(criticParams, o.CriticLR)
	cOpt.Beta1, cOpt.Beta2 = o.Beta1, o.Beta2
	g.critic = &Part{Name: "critic", Prog: cProg, Params: criticParams, Buffers: nn.Buffers(st.Critic.Params()), Opt: cOpt,
		Loss: cb.Read(cLoss), LossWhat: "the critic loss", Repeat: o.NCritic}

	gb := nn.NewBuilder()
	xGen, eps, err := generatorInput(gb, st.Gen, o.BatchSize, "generator")
	if err != nil {
		cProg.Close()
		return nil, err
	}
	g.genEps = eps
	dGen, err := st.Critic.Forward(gb, xGen)
	if err != nil {
		cProg.Close()
		return nil, err
	}
	gLoss := must(G.Neg(must(G.Mean(dGen))))
	gProg, err := nn.Compile(gb, gLoss, gb.ParamNodes(st.GenParams))
	if err != nil {
		cProg.Close()
		return nil, err
	}
	gOpt := nn.NewAdam(st.GenParams, o.GenLR)
	gOpt.Beta1, gOpt.Beta2 = o.Beta1, o.Beta2
	g.gen = &Part{Name: "generator", Prog: gProg, Params: st.GenParams, Opt: gOpt,
		Loss: gb.Read(gLoss), LossWhat: "the generator loss"}
	return g, nil
}

// WGAN trains the WGAN baseline: each step, NCritic critic updates on fresh
// real and fake batches, then one generator update, whose learning rate
// follows a cosine from GenLR to 0. Metrics: wgan/loss (the critic's
// L_D, whose negative estimates the Wasserstein distance) and
// wgan/generator_loss.
func WGAN(ctx context.Context, st WGANStage, o WGANOptions, trainSet []float32, rng *RNG, ck *Checkpoint, log Logger, progress Progress) error {
	if o.NCritic < 1 || o.Steps < 1 || o.BatchSize < 1 {
		return fmt.Errorf("wgan: need n_critic, steps and batch size ≥ 1 (have %d, %d, %d)", o.NCritic, o.Steps, o.BatchSize)
	}
	g, err := newWGANGraphs(st, o)
	if err != nil {
		return err
	}
	defer g.Close()
	xdim := len(g.real) / o.BatchSize
	g.critic.Prepare = func(_ context.Context, _, _ int) error {
		advanceSpectralNorms(st.Critic)
		minibatch(rng.Rand, trainSet, g.real, xdim)
		fillNormal(rng, g.criticEps)
		return nil
	}
	g.gen.Prepare = func(_ context.Context, step, _ int) error {
		g.gen.Opt.LR = cosineRate(o.GenLR, step, o.Steps)
		fillNormal(rng, g.genEps)
		return nil
	}
	loop := &Loop{
		Stage: "wgan", Steps: o.Steps, LogEvery: max(o.LogEvery, 1),
		Parts: []*Part{g.critic, g.gen},
		RNG:   rng, Checkpoint: ck, Log: log, Progress: progress,
		Report: func(_ int, _, loss float64) string {
			return fmt.Sprintf("W ≈ %.3f", -loss)
		},
	}
	return loop.Run(ctx)
}
