package train

import (
	"context"
	"fmt"

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

// VAE runs stage 1: Adam on the negative ELBO with a linear KL warm-up and,
// when cfg.SpectralReg > 0, NVAE's spectral regulariser on every weight.
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
	first := 1
	saved, err := ck.load(params, opt, rng)
	if err != nil {
		return fmt.Errorf("vae: %w", err)
	}
	if saved != nil {
		first = saved.Step + 1
		if len(saved.Sums) == 4 {
			sumLoss, sumRecon, sumKL, sumSpec = saved.Sums[0], saved.Sums[1], saved.Sums[2], saved.Sums[3]
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
			if progress != nil {
				progress("vae", step, cfg.Steps, fmt.Sprintf("-elbo %.3f", (sumRecon+sumKL)/n))
			}
			sumLoss, sumRecon, sumKL, sumSpec = 0, 0, 0, 0
		}
		if ck.due(step, cfg.Steps) {
			st := &stageState{Step: step, Sums: []float64{sumLoss, sumRecon, sumKL, sumSpec}}
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
