package method

import (
	"context"
	"fmt"

	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/core/train"
)

// VAEBMKL is App. C's extension, "VAEBM w/ KL" in Table 4: VAEBM whose
// energy trains on Eq. 7 with ε-space chains through a copy θ′ of the
// VAE, while θ′'s decoder follows Eq. 21,
// ∇θ′ E_{x∼p_θ′}[E_ψ(x)], by reparameterised samples (Adam at
// ebm.decoder_lr with cosine decay; App. F: 5e-6). The stage logs how far
// θ′ drifts from θ and θ′'s ELBO on held-out data, since App. C warns that
// the decoder may start dropping modes. The cached VAE is never changed;
// the energy stage saves ψ and θ′. It reports the VAE (θ) and the VAEBM of
// θ′ and ψ.
var VAEBMKL = Method{
	Name: "vaebm_kl",
	Check: func(exp config.Experiment) error {
		if !(exp.EBM.DecoderLR > 0) {
			return settingError("ebm.decoder_lr", "must be > 0 for vaebm_kl: the rate of the Eq. 21 decoder update (App. F: 5e-6)")
		}
		return checkInit(exp, "prior")
	},
	Build: func(ctx context.Context, env *Env) ([]Model, error) {
		exp := env.Exp
		v, err := trainVAE(ctx, env)
		if err != nil {
			return nil, err
		}
		c, err := copyVAE(env, v)
		if err != nil {
			return nil, err
		}
		en, err := newEnergy(env)
		if err != nil {
			return nil, err
		}
		held, err := env.HeldOut(heldOut)
		if err != nil {
			return nil, fmt.Errorf("vaebm_kl: the held-out data of θ′'s ELBO: %w", err)
		}
		st := epsStage(exp, c, en)
		st.Decoder = &train.DecoderUpdate{Model: c, Reference: v.Params(), LR: exp.EBM.DecoderLR, HeldOut: held}
		if err := trainEnergy(ctx, env, st, c.Params(), energySettings(exp), nil); err != nil {
			return nil, err
		}
		return []Model{vaeModel(exp, v), vaebmModel(exp, "vaebm_kl", "VAEBM w/ KL", c, en)}, nil
	},
}

// heldOut is how many held-out examples θ′'s ELBO is logged on: one fixed
// draw of its noise, so that the values differ by θ′ alone.
const heldOut = 256
