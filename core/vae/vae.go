// Package vae is the VAE of stage 1: a Gaussian encoder q(z|x), a standard
// normal prior and a Gaussian decoder p(x|z), trained on the ELBO (Eq. 3).
// It exposes the reparameterisation T_θ of Eq. 8 so that samplers can work
// in (ε_x, ε_z) space, and the IWAE bound for likelihood evaluation.
package vae

import (
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"

	"github.com/vaebm/vaebm/core/nn"
)

// GaussianVAE has MLP encoder and decoder trunks, each ending in a mean head
// and a log-standard-deviation head.
type GaussianVAE struct {
	XDim, ZDim int
	// MinLogStd softly floors the decoder's log σ: log σ = m + softplus(raw − m).
	// Without a floor, a Gaussian decoder under KL warm-up can shrink σ
	// towards 0 on reconstructions and drive the ELBO to −∞.
	MinLogStd float64

	EncTrunk, DecTrunk *nn.MLP
	EncMu, EncLogStd   *nn.Linear
	DecMu, DecLogStd   *nn.Linear
}

// NewGaussianVAE builds a VAE whose encoder and decoder each have `layers`
// fully connected layers of `hidden` units (the last being the heads).
func NewGaussianVAE(rng *rand.Rand, xdim, zdim, hidden, layers int, act string, minLogStd float64) *GaussianVAE {
	trunk := func(name string, in int) []int {
		w := []int{in}
		for i := 0; i < layers-1; i++ {
			w = append(w, hidden)
		}
		return w
	}
	v := &GaussianVAE{XDim: xdim, ZDim: zdim, MinLogStd: minLogStd}
	v.EncTrunk = nn.NewMLP(rng, "enc", trunk("enc", xdim), act)
	v.EncTrunk.ActLast = true
	v.EncMu = nn.NewLinear(rng, "enc.mu", hidden, zdim)
	v.EncLogStd = nn.NewLinear(rng, "enc.logstd", hidden, zdim)
	v.DecTrunk = nn.NewMLP(rng, "dec", trunk("dec", zdim), act)
	v.DecTrunk.ActLast = true
	v.DecMu = nn.NewLinear(rng, "dec.mu", hidden, xdim)
	v.DecLogStd = nn.NewLinear(rng, "dec.logstd", hidden, xdim)
	return v
}

// EncoderParams returns φ.
func (v *GaussianVAE) EncoderParams() []*nn.Param {
	return append(append(v.EncTrunk.Params(), v.EncMu.Params()...), v.EncLogStd.Params()...)
}

// DecoderParams returns θ.
func (v *GaussianVAE) DecoderParams() []*nn.Param {
	return append(append(v.DecTrunk.Params(), v.DecMu.Params()...), v.DecLogStd.Params()...)
}

// Params returns φ then θ.
func (v *GaussianVAE) Params() []*nn.Param {
	return append(v.EncoderParams(), v.DecoderParams()...)
}

func heads(b *nn.Builder, trunk *nn.MLP, mu, logStd *nn.Linear, in *G.Node) (m, ls *G.Node, err error) {
	h, err := trunk.Forward(b, in)
	if err != nil {
		return nil, nil, err
	}
	if m, err = mu.Forward(b, h); err != nil {
		return nil, nil, err
	}
	ls, err = logStd.Forward(b, h)
	return m, ls, err
}

// Encode adds q(z|x)'s mean and log standard deviation to the graph.
func (v *GaussianVAE) Encode(b *nn.Builder, x *G.Node) (mu, logStd *G.Node, err error) {
	return heads(b, v.EncTrunk, v.EncMu, v.EncLogStd, x)
}

// Decode adds p(x|z)'s mean and (floored) log standard deviation to the graph.
func (v *GaussianVAE) Decode(b *nn.Builder, z *G.Node) (mu, logStd *G.Node, err error) {
	mu, raw, err := heads(b, v.DecTrunk, v.DecMu, v.DecLogStd, z)
	if err != nil {
		return nil, nil, err
	}
	m := b.Scalar(v.MinLogStd)
	sp, err := nn.Softplus(G.Must(G.Sub(raw, m)))
	if err != nil {
		return nil, nil, err
	}
	logStd, err = G.Add(sp, m)
	return mu, logStd, err
}

// EpsDims returns the per-sample sizes of (ε_z, ε_x); ε_x is always last.
func (v *GaussianVAE) EpsDims() []int { return []int{v.ZDim, v.XDim} }

// Transform is T_θ of Eq. 8: z = ε_z (standard normal prior) and
// x = μ(z) + σ(z)·ε_x. It also returns Σ log σ_x over the batch, the extra
// term of the NVlabs sampler's target.
func (v *GaussianVAE) Transform(b *nn.Builder, eps []*G.Node) (x, sumLogStd *G.Node, err error) {
	if len(eps) != 2 {
		return nil, nil, fmt.Errorf("vae: T_θ takes (ε_z, ε_x), got %d groups", len(eps))
	}
	mu, ls, err := v.Decode(b, eps[0])
	if err != nil {
		return nil, nil, err
	}
	sd, err := G.Exp(ls)
	if err != nil {
		return nil, nil, err
	}
	noise, err := G.HadamardProd(sd, eps[1])
	if err != nil {
		return nil, nil, err
	}
	if x, err = G.Add(mu, noise); err != nil {
		return nil, nil, err
	}
	sumLogStd, err = G.Sum(ls)
	return x, sumLogStd, err
}

// ELBO holds the nodes of the negative-ELBO graph for one batch.
type ELBO struct {
	Loss      *G.Node    // mean over the batch of recon + β·KL
	LossOut   *nn.Output // its value after each run
	Recon, KL *nn.Output // mean −log p(x|z) and mean KL(q(z|x) ‖ p(z))
	Beta      *G.Node    // scalar KL weight, set with G.Let before each run
	X, Noise  []float32  // the input buffers, filled before each run

	// Hierarchical VAEs only (nil otherwise), for NVAE's KL balancing:
	// the loss's KL is β·Σ_l γ_l·KL_l.
	GroupKL     []*nn.Output // KL_l: each group's mean KL
	GroupWeight []*G.Node    // γ_l: each group's scalar KL weight (1 unless set with G.Let)
	GroupSize   []float64    // α_l: group l's latents over the number of groups at its scale (NVAE's "square" coefficients)
}

const halfLog2Pi = 0.9189385332046727

// BuildELBO adds the negative ELBO (Eq. 3) for a batch of `batch` points to b,
// with z = μ_q + σ_q·noise.
func (v *GaussianVAE) BuildELBO(b *nn.Builder, batch int) (*ELBO, error) {
	x, xt := b.Input("x", batch, v.XDim)
	noise, nt := b.Input("noise", batch, v.ZDim)
	beta := G.NewScalar(b.G, nn.Dtype, G.WithName("beta"), G.WithValue(float32(1)))
	must := G.Must
	qm, qls, err := v.Encode(b, x)
	if err != nil {
		return nil, err
	}
	z := must(G.Add(qm, must(G.HadamardProd(must(G.Exp(qls)), noise))))
	pm, pls, err := v.Decode(b, z)
	if err != nil {
		return nil, err
	}
	inv := 1 / float64(batch)
	// −log p(x|z) = Σ ½log2π + log σ + ½((x−μ)/σ)²
	r := must(G.HadamardProd(must(G.Sub(x, pm)), must(G.Exp(must(G.Neg(pls))))))
	recon := must(G.Add(must(G.Sum(pls)), must(G.Mul(must(G.Sum(must(G.Square(r)))), b.Scalar(0.5)))))
	recon = must(G.Add(must(G.Mul(recon, b.Scalar(inv))), b.Scalar(halfLog2Pi*float64(v.XDim))))
	// KL = Σ −log σ + ½(σ² + μ² − 1)
	kl := must(G.Add(must(G.Exp(must(G.Mul(qls, b.Scalar(2))))), must(G.Square(qm))))
	kl = must(G.Sub(must(G.Mul(must(G.Sum(kl)), b.Scalar(0.5))), must(G.Sum(qls))))
	kl = must(G.Sub(must(G.Mul(kl, b.Scalar(inv))), b.Scalar(0.5*float64(v.ZDim))))
	loss := must(G.Add(recon, must(G.Mul(kl, beta))))
	return &ELBO{Loss: loss, LossOut: b.Read(loss), Recon: b.Read(recon), KL: b.Read(kl), Beta: beta,
		X: xt.Data().([]float32), Noise: nt.Data().([]float32)}, nil
}

// LogNormal is log N(x; μ, exp(logStd)²) for one coordinate.
func LogNormal(x, mu, logStd float64) float64 {
	d := (x - mu) * math.Exp(-logStd)
	return -halfLog2Pi - logStd - 0.5*d*d
}
