package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
)

// Softplus in float64: values against log(1 + eˣ) (and its limits where
// that overflows or rounds to 0), gradients against central finite
// differences, on one core and in parallel (n above parallelMin).
func TestSoftplusOpFloat64(t *testing.T) {
	f := func(v float64) float64 {
		switch {
		case v > 30:
			return v + math.Exp(-v)
		case v < -30:
			return math.Exp(v)
		}
		return math.Log(1 + math.Exp(v))
	}
	for _, n := range []int{50, parallelMin + 7} {
		rng := rand.New(rand.NewPCG(4, 5))
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = 6 * rng.NormFloat64()
		}
		xs[0], xs[1], xs[2], xs[3] = 0, 800, -800, 40
		checkUnaryFloat64(t, "softplus", Softplus, f, xs)
	}
}

// In float32 through our executor, the values equal gorgonia's softplus
// where that is finite.
func TestSoftplusMatchesGorgonia(t *testing.T) {
	xs := []float32{-20, -3, -0.5, 0, 0.5, 3, 20}
	ours := forwardValues(t, func(b *Builder, x *G.Node) (*G.Node, error) { return Softplus(x) }, xs, len(xs))
	theirs := forwardValues(t, func(b *Builder, x *G.Node) (*G.Node, error) { return G.Softplus(x) }, xs, len(xs))
	for i := range xs {
		if math.Abs(float64(ours[i]-theirs[i])) > 1e-6*math.Max(1, math.Abs(float64(theirs[i]))) {
			t.Errorf("softplus(%v): ours %v, gorgonia %v", xs[i], ours[i], theirs[i])
		}
	}
}
