package train

import (
	"context"
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"

	"github.com/vaebm/vaebm/core/nn"
	"github.com/vaebm/vaebm/core/vae"
)

// VAEOptions are stage 1's settings (the experiment's vae section).
type VAEOptions struct {
	Steps, BatchSize int
	LR               float64
	// KLWarmupSteps anneals the KL weight linearly from KLWarmupMin to 1;
	// KLBalance weights each latent group's KL by its own KL per latent
	// during the warm-up (NVAE's KL balancing).
	KLWarmupSteps int
	KLWarmupMin   float64
	KLBalance     bool
	// SpectralReg weights NVAE's spectral regulariser on every weight; 0 disables.
	SpectralReg float64
}

// ELBOModel is a VAE stage 1 can train: the toy's GaussianVAE or the
// hierarchical image VAE.
type ELBOModel interface {
	BuildELBO(b *nn.Builder, batch int) (*vae.ELBO, error)
	Params() []*nn.Param
}

// VAE runs stage 1: Adam on the negative ELBO with a linear KL warm-up
// (KL-balanced across latent groups when cfg.KLBalance) and, when
// cfg.SpectralReg > 0, NVAE's spectral regulariser on every weight.
func VAE(ctx context.Context, v ELBOModel, cfg VAEOptions, trainSet []float32, rng *RNG, ck *Checkpoint, log Logger, progress Progress) error {
	b := nn.NewBuilder()
	elbo, err := v.BuildELBO(b, cfg.BatchSize)
	if err != nil {
		return err
	}
	params := v.Params()
	prog, err := nn.Compile(b, elbo.Loss, b.ParamNodes(params))
	if err != nil {
		return err
	}
	defer prog.Close()
	x, noise := elbo.X, elbo.Noise
	groups := len(elbo.GroupKL)
	// Sums: recon and KL, each group's KL since the last report, and the
	// previous step's group KLs, from which KL balancing weighs this step's.
	sums := make([]float64, 2+2*groups)
	sumGroup, lastKL := sums[2:2+groups], sums[2+groups:]
	balance := cfg.KLBalance && groups > 1
	equalWeights := make([]float64, groups)
	for l := range equalWeights {
		equalWeights[l] = 1
	}
	weights := equalWeights // γ_l of the current step
	beta := 1.0
	loop := &Loop{
		Stage: "vae", Steps: cfg.Steps, LogEvery: 25,
		Parts: []*Part{{Prog: prog, Params: params, Opt: nn.NewAdam(params, cfg.LR),
			Loss: elbo.LossOut, LossWhat: "the ELBO loss"}},
		RNG: rng, Checkpoint: ck, Log: log, Progress: progress,
		Sums: sums,
		Prepare: func(_ context.Context, step int) error {
			beta = 1.0
			if cfg.KLWarmupSteps > 0 && step < cfg.KLWarmupSteps {
				beta = cfg.KLWarmupMin + (1-cfg.KLWarmupMin)*float64(step)/float64(cfg.KLWarmupSteps)
			}
			if err := G.Let(elbo.Beta, float32(beta)); err != nil {
				return err
			}
			if balance {
				// Balancing ends with the warm-up; the first step has no statistics yet.
				if beta < 1 && step > 1 {
					weights = klBalance(lastKL, elbo.GroupSize)
				} else {
					weights = equalWeights
				}
				for l, g := range elbo.GroupWeight {
					if err := G.Let(g, float32(weights[l])); err != nil {
						return err
					}
				}
			}
			minibatch(rng.Rand, trainSet, x, len(x)/cfg.BatchSize)
			fillNormal(rng, [][]float32{noise})
			return nil
		},
		Observe: func(int) {
			sums[0] += elbo.Recon.Scalar()
			sums[1] += elbo.KL.Scalar()
			for l, g := range elbo.GroupKL {
				lastKL[l] = g.Scalar()
				sumGroup[l] += lastKL[l]
			}
		},
		Report: func(step int, n, _ float64) string {
			log.Log("vae/recon", step, sums[0]/n)
			log.Log("vae/kl", step, sums[1]/n)
			log.Log("vae/neg_elbo", step, (sums[0]+sums[1])/n)
			log.Log("vae/kl_weight", step, beta)
			for l := range sumGroup {
				log.Log(fmt.Sprintf("vae/kl_group%d", l), step, sumGroup[l]/n)
				if balance {
					log.Log(fmt.Sprintf("vae/kl_balance_group%d", l), step, weights[l])
				}
				sumGroup[l] = 0
			}
			msg := fmt.Sprintf("-elbo %.3f", (sums[0]+sums[1])/n)
			sums[0], sums[1] = 0, 0
			return msg
		},
	}
	if cfg.SpectralReg > 0 {
		loop.Parts[0].Spectral = nn.NewSpectralRegularizer(cfg.SpectralReg, params, rng.Rand)
	}
	return loop.Run(ctx)
}

// klBalance returns NVAE's KL-balancing weights for groups whose last KLs
// were kl: γ_l ∝ (|KL_l| + 0.01)/α_l, scaled to mean 1. A group that
// carries little information per latent (relative to α_l, its size) pays
// little for more, so the warm-up cannot switch it off for good. NVAE takes
// the KLs of the current batch, detached from the gradient; gorgonia has no
// stop-gradient op, so the stage passes the previous step's.
func klBalance(kl, alpha []float64) []float64 {
	w := make([]float64, len(kl))
	sum := 0.0
	for l, k := range kl {
		w[l] = (math.Abs(k) + 0.01) / alpha[l]
		sum += w[l]
	}
	for l := range w {
		w[l] *= float64(len(w)) / sum
	}
	return w
}
