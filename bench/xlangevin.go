package bench

import (
	"context"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"

	"github.com/vaebm/vaebm/core/energy"
	"github.com/vaebm/vaebm/core/nn"
	"github.com/vaebm/vaebm/core/sampler"
	"github.com/vaebm/vaebm/core/train"
)

// The Table 4 "EBM on x" at its quick scale (experiments/fashion-ebm-x.yaml
// over fashion-mnist.yaml; TestXLangevinMatchesEBMX keeps them equal): the
// Fashion-MNIST ResNet energy under spectral normalisation, chains by
// IGEBM's rule in x.
const (
	xlC, xlH, xlW = 1, 28, 28
	xlHidden      = 32
	xlBatch       = 32
)

var (
	xlBlocks = []energy.BlockSpec{{Out: 32, Down: true}, {Out: 64, Down: true}}
	xlChain  = train.ChainOptions{Steps: 1, StepSize: 10, Rule: sampler.RuleNoiseFirst,
		NoiseStd: 0.005, GradClip: 0.01, ClampLo: 0, ClampHi: 1}
)

func newBenchEBMX(rng *rand.Rand) *energy.ResNet {
	en := energy.NewResNet(rng, xlC, xlH, xlW, xlHidden, xlBlocks)
	en.SpectralNormalize(rng)
	return en
}

// xlTransitions is the length of the chain one call of the workload's step
// runs, reported per transition: a chain ends with E(x) at its last state,
// which a single-step call would count as much as the step.
const xlTransitions = 10

// setupXLangevin: steps of the ebm_x chains through the sampler the method
// trains with: noise, ∇ₓ Σ E(x) with the parameters frozen, the clipped
// gradient step and the clamp to [0, 1], for 32 chains; a call runs a
// chain of xlTransitions steps and E(x) at its end.
func setupXLangevin(rng *rand.Rand) (func() error, error) {
	en := newBenchEBMX(rng)
	lang, err := train.NewLangevin(sampler.Identity{Dim: xlC * xlH * xlW}, en, xlBatch, sampler.TargetEnergyOnly, xlChain)
	if err != nil {
		return nil, err
	}
	state := make([]float32, xlBatch*xlC*xlH*xlW)
	for i := range state {
		state[i] = rng.Float32()
	}
	eps := [][]float32{state}
	ctx := context.Background()
	return func() error {
		_, _, err := lang.Run(ctx, rng, eps, xlTransitions, nil)
		return err
	}, nil
}

// twinXLangevin is the case bench/twins.py's xlangevin checks: the
// weights with their spectral-norm vectors, a batch of x, and our E(x) and
// ∇ₓ Σ E(x) there.
func twinXLangevin(rng *rand.Rand) (TwinCase, error) {
	en := newBenchEBMX(rng)
	b := nn.NewBuilder()
	x, xt := b.Input("x", xlBatch, xlC*xlH*xlW)
	for i, d := 0, xt.Data().([]float32); i < len(d); i++ {
		d[i] = rng.Float32()
	}
	e, err := en.Forward(b, x)
	if err != nil {
		return TwinCase{}, err
	}
	eOut := b.Read(e)
	sum, err := G.Sum(e)
	if err != nil {
		return TwinCase{}, err
	}
	prog, err := nn.Compile(b, sum, G.Nodes{x})
	if err != nil {
		return TwinCase{}, err
	}
	defer prog.Close()
	if err := prog.Run(); err != nil {
		return TwinCase{}, err
	}
	g, err := prog.Grad(x)
	if err != nil {
		return TwinCase{}, err
	}
	c := TwinCase{Workload: "xlangevin"}
	c.addParams(en.Params()...)
	for _, sn := range en.SpectralNorms() {
		c.addParams(sn.U, sn.V)
	}
	c.add("input", "x", xt.Data().([]float32), xlBatch, xlC*xlH*xlW)
	c.add("output", "energy", eOut.Values(), xlBatch)
	c.add("output", "grad", g, xlBatch, xlC*xlH*xlW)
	return c, nil
}
