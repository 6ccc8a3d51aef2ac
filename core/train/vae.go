package train

import (
	"context"
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"

	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/core/nn"
	"github.com/vaebm/vaebm/core/vae"
)

// ELBOModel is a VAE stage 1 can train: the toy's GaussianVAE or the
// hierarchical image VAE.
type ELBOModel interface {
	BuildELBO(b *nn.Builder, batch int) (*vae.ELBO, error)
	Params() []*nn.Param
}

// VAE runs stage 1: Adam on the negative ELBO with a linear KL warm-up
// (KL-balanced across latent groups when cfg.KLBalance) and, when
// cfg.SpectralReg > 0, NVAE's spectral regulariser on every weight.
func VAE(ctx context.Context, v ELBOModel, cfg config.VAE, trainSet []float32, rng *RNG, ck *Checkpoint, log Logger, progress Progress) error {
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
	opt := nn.NewAdam(params, cfg.LR)
	var spec *nn.SpectralRegularizer
	if cfg.SpectralReg > 0 {
		spec = nn.NewSpectralRegularizer(cfg.SpectralReg, params, rng.Rand)
	}
	x, noise := elbo.X, elbo.Noise
	const logEvery = 25
	var sumLoss, sumRecon, sumKL, sumSpec float64
	groups := len(elbo.GroupKL)
	// sumGroup holds each group's KL summed since the last log; lastKL the
	// previous step's group KLs, from which KL balancing weighs this step's.
	sumGroup, lastKL := make([]float64, groups), make([]float64, groups)
	balance := cfg.KLBalance && groups > 1
	equalWeights := make([]float64, groups)
	for l := range equalWeights {
		equalWeights[l] = 1
	}
	weights := equalWeights // γ_l of the current step
	first := 1
	saved, err := ck.load(params, opt, rng)
	if err != nil {
		return fmt.Errorf("vae: %w", err)
	}
	if saved != nil {
		first = saved.Step + 1
		if n := len(saved.Sums); n != 4 && n != 4+2*groups {
			return fmt.Errorf("vae: training state %s: %w: %d running sums for %d latent groups", ck.Path, nn.ErrCorruptCheckpoint, n, groups)
		}
		sumLoss, sumRecon, sumKL, sumSpec = saved.Sums[0], saved.Sums[1], saved.Sums[2], saved.Sums[3]
		if len(saved.Sums) > 4 {
			copy(sumGroup, saved.Sums[4:4+groups])
			copy(lastKL, saved.Sums[4+groups:])
		}
		if spec != nil {
			if err := spec.SetState(saved.Spectral); err != nil {
				return fmt.Errorf("vae: training state %s: %w: %v", ck.Path, nn.ErrCorruptCheckpoint, err)
			}
		}
	}
	for step := first; step <= cfg.Steps; step++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		beta := 1.0
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
		for i := range noise {
			noise[i] = float32(rng.NormFloat64())
		}
		if err := prog.Run(); err != nil {
			return fmt.Errorf("vae step %d: %w", step, err)
		}
		loss := elbo.LossOut.Scalar()
		if !finite(loss) {
			return &NonFiniteError{Stage: "vae", What: "the ELBO loss", Step: step}
		}
		grads, err := prog.Grads(params)
		if err != nil {
			return err
		}
		if spec != nil {
			sumSpec += spec.AddGrad(params, grads, 1)
		}
		if err := opt.Step(grads); err != nil {
			return err
		}
		sumLoss += loss
		sumRecon += elbo.Recon.Scalar()
		sumKL += elbo.KL.Scalar()
		for l, g := range elbo.GroupKL {
			lastKL[l] = g.Scalar()
			sumGroup[l] += lastKL[l]
		}
		if step%logEvery == 0 || step == cfg.Steps {
			n := float64((step-1)%logEvery + 1)
			log.Log("vae/loss", step, sumLoss/n)
			log.Log("vae/recon", step, sumRecon/n)
			log.Log("vae/kl", step, sumKL/n)
			log.Log("vae/neg_elbo", step, (sumRecon+sumKL)/n)
			log.Log("vae/kl_weight", step, beta)
			if spec != nil {
				log.Log("vae/spectral_penalty", step, sumSpec/n)
			}
			for l := range sumGroup {
				log.Log(fmt.Sprintf("vae/kl_group%d", l), step, sumGroup[l]/n)
				if balance {
					log.Log(fmt.Sprintf("vae/kl_balance_group%d", l), step, weights[l])
				}
				sumGroup[l] = 0
			}
			if progress != nil {
				progress("vae", step, cfg.Steps, fmt.Sprintf("-elbo %.3f", (sumRecon+sumKL)/n))
			}
			sumLoss, sumRecon, sumKL, sumSpec = 0, 0, 0, 0
		}
		if ck.due(step, cfg.Steps) {
			st := &stageState{Step: step, Sums: append(append([]float64{sumLoss, sumRecon, sumKL, sumSpec}, sumGroup...), lastKL...)}
			if spec != nil {
				st.Spectral = spec.State()
			}
			if err := ck.save(st, params, opt, rng); err != nil {
				return fmt.Errorf("vae step %d: %w", step, err)
			}
		}
	}
	return nn.CheckFinite(params)
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
