package sampler_test

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vaebm/vaebm/core/energy"
	"github.com/vaebm/vaebm/core/sampler"
	"github.com/vaebm/vaebm/core/vae"
)

// potential evaluates U(ε) in plain Go from the VAE decoder and the energy.
func potential(t *testing.T, ev *vae.Evaluator, en func(x []float32) float64, eps [][]float32, target sampler.Target) float64 {
	mu, ls, err := ev.Decode(eps[0])
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, len(mu))
	var u float64
	for i := range x {
		x[i] = mu[i] + float32(math.Exp(float64(ls[i])))*eps[1][i]
		if target == sampler.TargetXZLogDensity {
			u += float64(ls[i])
		}
	}
	u += en(x)
	for _, g := range eps {
		for _, v := range g {
			u += 0.5 * float64(v) * float64(v)
		}
	}
	return u
}

// The gradient the sampler follows must be ∇_ε of Eq. 9's potential (or of
// the NVlabs variant), through T_θ and E_ψ: check one Langevin step with no
// noise against finite differences of U computed outside the graph.
func TestLangevinFollowsPotentialGradient(t *testing.T) {
	for _, target := range []sampler.Target{sampler.TargetEq9, sampler.TargetXZLogDensity} {
		t.Run(string(target), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(21, 22))
			v := vae.NewGaussianVAE(rng, 2, 3, 16, 3, "swish", -3)
			en := energy.NewMLP(rng, 2, 16, 3, "swish", 1)
			const batch = 2
			s, err := sampler.NewLangevin(v, en, batch, target, 1e-3)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := v.NewEvaluator()
			if err != nil {
				t.Fatal(err)
			}
			sumE := func(x []float32) float64 {
				// A zero-step run evaluates E at x with the identity generator.
				id, err := sampler.NewLangevin(sampler.Identity{Dim: 2}, en, len(x)/2, sampler.TargetEnergyOnly, 1)
				if err != nil {
					t.Fatal(err)
				}
				_, e, err := id.Run(context.Background(), rng, [][]float32{append([]float32(nil), x...)}, 0, nil)
				if err != nil {
					t.Fatal(err)
				}
				var sum float64
				for _, v := range e {
					sum += float64(v)
				}
				return sum
			}
			eps := [][]float32{make([]float32, 3*batch), make([]float32, 2*batch)}
			for _, g := range eps {
				sampler.Gaussian(rng, 0, g)
			}
			// One step with StepSize η moves ε by −(η/2)∇U + √η ξ; with a
			// zero-noise source the move is exactly −(η/2)∇U.
			before := [][]float32{append([]float32(nil), eps[0]...), append([]float32(nil), eps[1]...)}
			zero := rand.New(zeroSource{})
			if _, _, err := s.Run(context.Background(), zero, eps, 1, nil); err != nil {
				t.Fatal(err)
			}
			const h = 1e-2
			for g := range eps {
				for j := range eps[g] {
					grad := -2 * float64(eps[g][j]-before[g][j]) / s.StepSize
					p := [][]float32{append([]float32(nil), before[0]...), append([]float32(nil), before[1]...)}
					p[g][j] += h
					up := potential(t, ev, sumE, p, target)
					p[g][j] -= 2 * h
					um := potential(t, ev, sumE, p, target)
					num := (up - um) / (2 * h)
					if math.Abs(grad-num) > 5e-3+3e-2*math.Abs(num) {
						t.Errorf("group %d [%d]: gradient %v, finite difference %v", g, j, grad, num)
					}
				}
			}
		})
	}
}

// zeroSource always yields 0, for which rand.NormFloat64 returns exactly 0
// (the ziggurat's first strip scaled by j = 0); were it not 0, the step would
// carry noise of size √η/(η/2) ≫ the tolerance and the test would fail.
type zeroSource struct{}

func (zeroSource) Uint64() uint64 { return 0 }
