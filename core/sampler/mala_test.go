package sampler

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/vaebm/vaebm/core/nn"
)

// twoModes is E(x) = ½x₁² − log cosh(b·x₁) + ½x₂² (up to a constant), so
// exp(−E) is the mixture ½N((−b, 0), I) + ½N((b, 0), I): two modes, with
// E[x₁²] = 1 + b² and E[x₂²] = 1. Its gradient grows at most linearly, so
// ULA at a large step is biased but stable. log cosh y = y + softplus(−2y) − log 2.
type twoModes struct {
	b      float64
	x1, x2 *nn.Linear // the two coordinates, as fixed projections
}

func newTwoModes(b float64) twoModes {
	rng := rand.New(rand.NewPCG(3, 4))
	w := twoModes{b: b, x1: nn.NewLinear(rng, "x1", 2, 1), x2: nn.NewLinear(rng, "x2", 2, 1)}
	copy(w.x1.W.Data(), []float32{1, 0})
	copy(w.x2.W.Data(), []float32{0, 1})
	clear(w.x1.B.Data())
	clear(w.x2.B.Data())
	return w
}

func (w twoModes) Forward(b *nn.Builder, x *G.Node) (*G.Node, error) {
	x1, err := w.x1.Forward(b, x)
	if err != nil {
		return nil, err
	}
	x2, err := w.x2.Forward(b, x)
	if err != nil {
		return nil, err
	}
	half := b.Scalar(0.5)
	bx := G.Must(G.Mul(x1, b.Scalar(w.b)))
	logCosh := G.Must(G.Add(bx, G.Must(G.Softplus(G.Must(G.Mul(bx, b.Scalar(-2)))))))
	quad := G.Must(G.Add(G.Must(G.Mul(G.Must(G.Square(x1)), half)), G.Must(G.Mul(G.Must(G.Square(x2)), half))))
	return G.Sub(quad, logCosh)
}

func (w twoModes) Params() []*nn.Param { return append(w.x1.Params(), w.x2.Params()...) }

// At a step where the unadjusted chain is visibly biased (each mode's
// variance about 1/(1 − η/4) instead of 1), the Metropolis-adjusted
// chain at the same step must sample exp(−E) itself: both coordinates'
// second moments within a few standard errors of the exact ones, the two
// wells equally filled, and an acceptance rate that is neither 0 nor 1.
func TestMALARemovesULABias(t *testing.T) {
	const (
		chains, b, eta = 2000, 2.0, 0.8
		burn, rounds   = 200, 50
	)
	want1, want2 := 1+b*b, 1.0
	moments := func(correction Correction) (m1, m2, right, accept float64) {
		t.Helper()
		s, err := NewLangevin(Identity{Dim: 2}, newTwoModes(b), chains, TargetEnergyOnly, eta)
		if err != nil {
			t.Fatal(err)
		}
		s.Correction = correction
		rng := rand.New(rand.NewPCG(5, 6))
		eps := [][]float32{make([]float32, 2*chains)}
		Gaussian(rng, 0, eps[0])
		ctx := context.Background()
		if _, _, err := s.Run(ctx, rng, eps, burn, nil); err != nil {
			t.Fatal(err)
		}
		var n float64
		for r := 0; r < rounds; r++ {
			x, e, err := s.Run(ctx, rng, eps, 10, nil)
			if err != nil {
				t.Fatal(err)
			}
			for c := 0; c < chains; c++ {
				x1, x2 := float64(x[2*c]), float64(x[2*c+1])
				if x1 != float64(eps[0][2*c]) {
					t.Fatalf("chain %d: x %v is not the chain's state %v", c, x1, eps[0][2*c])
				}
				if got, want := float64(e[c]), 0.5*(x1*x1+x2*x2)-(math.Log(math.Cosh(b*x1))+math.Log(2)); math.Abs(got-want) > 1e-4*(1+math.Abs(want)) {
					t.Fatalf("chain %d: energy %v at its state, want %v", c, got, want)
				}
				m1 += x1 * x1
				m2 += x2 * x2
				if x1 > 0 {
					right++
				}
				n++
			}
		}
		return m1 / n, m2 / n, right / n, s.Rate()
	}
	// Rounds are 10 steps apart, so the 100,000 draws are correlated; the
	// bounds are about 4 standard errors of an effective sample of ~25,000
	// (the std of x₂² is √2, of x₁² about 4.2), under the ULA bias they must tell apart.
	u1, u2, _, uAcc := moments(CorrectionNone)
	if !math.IsNaN(uAcc) {
		t.Errorf("ULA recorded an acceptance rate %v", uAcc)
	}
	if u2-want2 < 0.15 || u1-want1 < 0.1 {
		t.Fatalf("ULA at η = %v: E[x₁²] %.4f (exact %.4f), E[x₂²] %.4f (exact 1): the test needs a step where ULA is biased", eta, u1, want1, u2)
	}
	m1, m2, right, acc := moments(CorrectionMALA)
	t.Logf("η = %v: ULA E[x₁²] %.4f, E[x₂²] %.4f; MALA %.4f, %.4f (acceptance %.3f); exact %.4f, 1", eta, u1, u2, m1, m2, acc, want1)
	if math.Abs(m1-want1) > 0.08 || math.Abs(m2-want2) > 0.04 {
		t.Errorf("MALA: E[x₁²] %.4f, E[x₂²] %.4f, want %.4f and 1", m1, m2, want1)
	}
	if math.Abs(right-0.5) > 0.05 {
		t.Errorf("MALA: %.3f of the draws in the right well, want 0.5", right)
	}
	if !(acc > 0.3 && acc < 0.99) {
		t.Errorf("MALA acceptance rate %v", acc)
	}
}

// A chain that rejects every proposal stays exactly where it is: with an
// enormous step, every proposal is far out in the tails of exp(−E).
func TestMALARejectsKeepState(t *testing.T) {
	s, err := NewLangevin(Identity{Dim: 2}, newTwoModes(2), 4, TargetEnergyOnly, 1e4)
	if err != nil {
		t.Fatal(err)
	}
	s.Correction = CorrectionMALA
	rng := rand.New(rand.NewPCG(7, 8))
	eps := [][]float32{{1, 0, -1, 0.5, 0.9, -0.2, -1.1, 0.1}}
	start := append([]float32(nil), eps[0]...)
	if _, _, err := s.Run(context.Background(), rng, eps, 5, nil); err != nil {
		t.Fatal(err)
	}
	for i := range start {
		if eps[0][i] != start[i] {
			t.Fatalf("state %v moved from %v with every proposal rejected (acceptance %v)", eps[0], start, s.Rate())
		}
	}
	if s.Proposed != 20 || s.Accepted != 0 {
		t.Fatalf("proposed %d, accepted %d; want 20, 0", s.Proposed, s.Accepted)
	}
}
