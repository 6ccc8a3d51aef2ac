package vae

import (
	"math"
	"math/rand/v2"
	"testing"
)

// With linear layers the VAE is a linear Gaussian model whose marginal is
// N(c, WWᵀ + diag(σ²)) in closed form; IWAE must converge to it.
func TestIWAELinearGaussianMatchesClosedForm(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	v := NewGaussianVAE(rng, 2, 2, 4, 3, "linear", -30)
	// Encoder q(z|x) = N(0, I), the prior: a valid (if poor) proposal.
	for _, p := range v.EncMu.Params() {
		clear(p.Data())
	}
	for _, p := range v.EncLogStd.Params() {
		clear(p.Data())
	}
	clear(v.DecLogStd.W.Data())
	// With the floor at −30, softplus(raw + 30) − 30 = raw to float precision.
	logSig := []float32{-0.3, 0.2}
	copy(v.DecLogStd.B.Data(), logSig)

	ev, err := v.NewEvaluator()
	if err != nil {
		t.Fatal(err)
	}
	// Read the affine decoder mean off its values at 0, e1 and e2.
	mu, _, err := ev.Decode([]float32{0, 0, 1, 0, 0, 1})
	if err != nil {
		t.Fatal(err)
	}
	c := [2]float64{float64(mu[0]), float64(mu[1])}
	W := [2][2]float64{
		{float64(mu[2]) - c[0], float64(mu[4]) - c[0]},
		{float64(mu[3]) - c[1], float64(mu[5]) - c[1]},
	}
	var S [2][2]float64
	for i := 0; i < 2; i++ {
		for j := 0; j < 2; j++ {
			S[i][j] = W[i][0]*W[j][0] + W[i][1]*W[j][1]
		}
		S[i][i] += math.Exp(2 * float64(logSig[i]))
	}
	det := S[0][0]*S[1][1] - S[0][1]*S[1][0]
	logp := func(x, y float64) float64 {
		dx, dy := x-c[0], y-c[1]
		q := (S[1][1]*dx*dx - 2*S[0][1]*dx*dy + S[0][0]*dy*dy) / det
		return -math.Log(2*math.Pi) - 0.5*math.Log(det) - 0.5*q
	}
	x := []float32{0.1, -0.2, 0.5, 0.7, -1, 0.3}
	full, tenth, err := ev.IWAE(rng, x, 20000)
	if err != nil {
		t.Fatal(err)
	}
	for i := range full {
		want := logp(float64(x[2*i]), float64(x[2*i+1]))
		// Tolerance: the bound's relative MC error at K=20000 with the prior
		// as proposal is below 1% here; 0.02 nats is several standard errors.
		if math.Abs(full[i]-want) > 0.02 {
			t.Errorf("point %d: IWAE %v, closed form %v", i, full[i], want)
		}
		if math.Abs(tenth[i]-want) > 0.06 {
			t.Errorf("point %d: IWAE(K/10) %v, closed form %v", i, tenth[i], want)
		}
	}
}
