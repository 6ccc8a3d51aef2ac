package bench

import (
	"math"
	"math/rand/v2"

	"github.com/vaebm/vaebm/core/nn"
	"github.com/vaebm/vaebm/core/vae"
)

// The StackedMNIST quick-scale hierarchical VAE (experiments/stackedmnist.yaml's
// vae section; TestHVAEMatchesStackedMNIST keeps the two equal).
const (
	hvaeC, hvaeH, hvaeW = 3, 28, 28
	hvaeHidden          = 32
	hvaeLatent          = 2
	hvaeGlobal          = 64
	hvaeMinLogStd       = -1.6
	hvaeBatch           = 32
)

var hvaeGroups = [2]int{1, 1}

func newBenchHVAE(rng *rand.Rand) (*vae.HierVAE, error) {
	v, err := vae.NewHierVAE(rng, hvaeC, hvaeH, hvaeW, hvaeHidden, hvaeLatent, hvaeGroups, hvaeMinLogStd)
	if err != nil {
		return nil, err
	}
	v.AddGlobalLatent(rng, hvaeGlobal)
	return v, nil
}

// hvaeELBO builds the VAE and its negative ELBO for a batch, and a refill
// that draws new images (uniform on [0, 1], the data's range) and new
// reparameterisation noise.
func hvaeELBO(rng *rand.Rand) (*vae.HierVAE, *nn.Builder, *vae.ELBO, func(), error) {
	v, err := newBenchHVAE(rng)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	b := nn.NewBuilder()
	elbo, err := v.BuildELBO(b, hvaeBatch)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	refill := func() {
		for i := range elbo.X {
			elbo.X[i] = rng.Float32()
		}
		for i := range elbo.Noise {
			elbo.Noise[i] = float32(rng.NormFloat64())
		}
	}
	return v, b, elbo, refill, nil
}

// setupHVAE: one stage-1 training step of the StackedMNIST quick-scale
// hierarchical VAE, batch 32: the negative ELBO (KL weight 1, after the
// warm-up), its gradient and an Adam step.
func setupHVAE(rng *rand.Rand) (func() error, error) {
	v, b, elbo, refill, err := hvaeELBO(rng)
	if err != nil {
		return nil, err
	}
	return trainStep(b, elbo.Loss, v.Params(), refill)
}

// twinHVAE is the case bench/twins.py's hvae checks: the weights, one
// batch and its noise, our loss, its two terms and the gradient's norm.
func twinHVAE(rng *rand.Rand) (TwinCase, error) {
	v, b, elbo, refill, err := hvaeELBO(rng)
	if err != nil {
		return TwinCase{}, err
	}
	params := v.Params()
	prog, err := nn.Compile(b, elbo.Loss, b.ParamNodes(params))
	if err != nil {
		return TwinCase{}, err
	}
	defer prog.Close()
	refill()
	if err := prog.Run(); err != nil {
		return TwinCase{}, err
	}
	grads, err := prog.Grads(params)
	if err != nil {
		return TwinCase{}, err
	}
	c := TwinCase{Workload: "hvae"}
	c.addParams(params...)
	c.add("input", "x", elbo.X, hvaeBatch, hvaeC*hvaeH*hvaeW)
	c.add("input", "noise", elbo.Noise, len(elbo.Noise))
	c.add("output", "loss", []float32{float32(elbo.LossOut.Scalar())}, 1)
	c.add("output", "recon", []float32{float32(elbo.Recon.Scalar())}, 1)
	c.add("output", "kl", []float32{float32(elbo.KL.Scalar())}, 1)
	c.add("output", "grad_norm", []float32{float32(norm(grads))}, 1)
	return c, nil
}

// norm is the L2 norm of all of gs together.
func norm(gs [][]float32) float64 {
	var s float64
	for _, g := range gs {
		for _, x := range g {
			s += float64(x) * float64(x)
		}
	}
	return math.Sqrt(s)
}
