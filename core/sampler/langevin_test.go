package sampler

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/vaebm/vaebm/core/nn"
)

// quadEnergy is E(x) = c·x + ½κ‖x‖².
type quadEnergy struct {
	lin   *nn.Linear
	kappa float64
}

func (q quadEnergy) Forward(b *nn.Builder, x *G.Node) (*G.Node, error) {
	l, err := q.lin.Forward(b, x)
	if err != nil {
		return nil, err
	}
	sq := G.Must(G.Sum(G.Must(G.Square(x)), 1))
	sq = G.Must(G.Reshape(G.Must(G.Mul(sq, b.Scalar(0.5*q.kappa))), l.Shape()))
	return G.Add(l, sq)
}

func (q quadEnergy) Params() []*nn.Param { return q.lin.Params() }

// With the identity generator, Eq. 9's target for E(x) = c·x + ½κ‖x‖² is
// N(−c/λ, I/λ) with λ = 1 + κ. Unadjusted Langevin with step η keeps the mean
// and inflates the variance to 1/(λ(1 − ηλ/4)); the sampler must hit both.
func TestLangevinHitsGaussianMoments(t *testing.T) {
	const (
		dim, chains = 3, 2000
		kappa, eta  = 1.0, 0.02
	)
	rng := rand.New(rand.NewPCG(11, 12))
	c := []float32{1, -2, 0.5}
	lin := nn.NewLinear(rng, "c", dim, 1)
	copy(lin.W.Data(), c)
	clear(lin.B.Data())
	s, err := NewLangevin(Identity{Dim: dim}, quadEnergy{lin, kappa}, chains, TargetEq9, eta)
	if err != nil {
		t.Fatal(err)
	}
	eps := [][]float32{make([]float32, dim*chains)}
	Gaussian(rng, 0, eps[0])
	if _, _, err := s.Run(context.Background(), rng, eps, 300, nil); err != nil {
		t.Fatal(err)
	}
	lambda := 1 + kappa
	var sum, sq [dim]float64
	const rounds = 10
	for r := 0; r < rounds; r++ {
		if _, _, err := s.Run(context.Background(), rng, eps, 30, nil); err != nil {
			t.Fatal(err)
		}
		for i, v := range eps[0] {
			sum[i%dim] += float64(v)
			sq[i%dim] += float64(v) * float64(v)
		}
	}
	n := float64(chains * rounds)
	wantVar := 1 / (lambda * (1 - eta*lambda/4))
	for d := 0; d < dim; d++ {
		mean := sum[d] / n
		variance := sq[d]/n - mean*mean
		wantMean := -float64(c[d]) / lambda
		// Rounds are 30 steps apart (correlation ≈ 0.55), so the effective
		// sample size is about n/3; 0.03 is over 4 standard errors.
		if math.Abs(mean-wantMean) > 0.03 {
			t.Errorf("dim %d: mean %.4f, want %.4f", d, mean, wantMean)
		}
		if math.Abs(variance-wantVar) > 0.03 {
			t.Errorf("dim %d: variance %.4f, want %.4f", d, variance, wantVar)
		}
	}
}

func TestReplayBufferInit(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	r := NewReplayBuffer(4, []int{2})
	r.Push([][]float32{{1, 1, 2, 2, 3, 3, 4, 4, 5, 5}}) // 5 rows into 4 slots
	if r.Len() != 4 {
		t.Fatalf("len %d, want 4", r.Len())
	}
	dst := [][]float32{make([]float32, 2*1000)}
	r.Init(rng, dst, 1, Gaussian)
	seen := map[float32]int{}
	for i := 0; i < 1000; i++ {
		if dst[0][2*i] != dst[0][2*i+1] {
			t.Fatalf("row %d not copied whole: %v", i, dst[0][2*i:2*i+2])
		}
		seen[dst[0][2*i]]++
	}
	if seen[1] != 0 || len(seen) != 4 {
		t.Fatalf("buffer rows drawn %v; want 2..5 only (1 was evicted)", seen)
	}
	r.Init(rng, dst, 0, func(_ *rand.Rand, _ int, d []float32) { d[0], d[1] = -1, -1 })
	for _, v := range dst[0] {
		if v != -1 {
			t.Fatalf("p=0 must always start fresh, got %v", v)
		}
	}
	if p := AnnealedProb(50, 100, 0.6); math.Abs(p-0.3) > 1e-12 {
		t.Fatalf("annealed prob %v, want 0.3", p)
	}
}

// IGEBM's x-space step (RuleNoiseFirst) on E(x) = c·x, whose gradient is c:
// each element of c is clipped to ±0.01 and the chain moves by −η·clip(c),
// then is clamped to [0, 1]; the noise comes before the gradient.
func TestLangevinNoiseFirstStep(t *testing.T) {
	c := []float32{0.5, -0.002, -0.5} // clipped: 0.01, −0.002, −0.01
	start := []float32{0.5, 0.5, 0.995, 0.05, 0.001, 0.2}
	newSampler := func(sigma float64) *Langevin {
		t.Helper()
		lin := nn.NewLinear(rand.New(rand.NewPCG(1, 2)), "c", 3, 1)
		copy(lin.W.Data(), c)
		clear(lin.B.Data())
		s, err := NewLangevin(Identity{Dim: 3}, quadEnergy{lin, 0}, 2, TargetEnergyOnly, 10)
		if err != nil {
			t.Fatal(err)
		}
		s.Rule, s.NoiseStd, s.GradClip = RuleNoiseFirst, sigma, 0.01
		s.Clamp.Lo, s.Clamp.Hi = 0, 1
		return s
	}
	tests := []struct {
		name  string
		steps int
		want  []float32
	}{
		// Chain 1: 0.5 − 10·0.01, 0.5 + 10·0.002, 0.995 + 0.1 clamped to 1.
		// Chain 2: 0.05 − 0.1 clamped to 0, 0.001 + 0.02, 0.2 + 0.1.
		{"one step", 1, []float32{0.4, 0.52, 1, 0, 0.021, 0.3}},
		{"two steps", 2, []float32{0.3, 0.54, 1, 0, 0.041, 0.4}},
	}
	for _, tc := range tests {
		x := [][]float32{append([]float32(nil), start...)}
		xs, es, err := newSampler(0).Run(context.Background(), rand.New(rand.NewPCG(3, 4)), x, tc.steps, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range x[0] {
			if math.Abs(float64(v-tc.want[i])) > 1e-6 {
				t.Errorf("%s: value %d is %v, want %v", tc.name, i, v, tc.want[i])
			}
			if xs[i] != v {
				t.Errorf("%s: returned x[%d] = %v, the chain is at %v", tc.name, i, xs[i], v)
			}
		}
		// The energies returned (by the forward-only program) are E at the
		// chains' last states: c·x.
		for k := range 2 {
			var e float64
			for j, cj := range c {
				e += float64(cj) * float64(tc.want[3*k+j])
			}
			if math.Abs(float64(es[k])-e) > 1e-6 {
				t.Errorf("%s: chain %d's energy %v, want %v", tc.name, k, es[k], e)
			}
		}
	}

	// With noise σ, the gradient is taken at x + σ·ξ (what observe sees),
	// ξ the sampler's draws in order; the step and the clamp follow.
	const sigma = 0.005
	xi := rand.New(rand.NewPCG(3, 4))
	noised := make([]float32, len(start))
	want := make([]float32, len(start))
	for i, v := range start {
		noised[i] = v + float32(sigma*xi.NormFloat64())
		clipped := math.Max(-0.01, math.Min(0.01, float64(c[i%3])))
		want[i] = float32(math.Max(0, math.Min(1, float64(noised[i]+float32(-10*clipped)))))
	}
	x := [][]float32{append([]float32(nil), start...)}
	var seen []float32
	if _, _, err := newSampler(sigma).Run(context.Background(), rand.New(rand.NewPCG(3, 4)), x, 1, func(step int, xs []float32) {
		if step == 0 {
			seen = append([]float32(nil), xs...)
		}
	}); err != nil {
		t.Fatal(err)
	}
	for i := range start {
		if seen[i] != noised[i] {
			t.Errorf("value %d: the gradient was taken at %v, want x + σξ = %v", i, seen[i], noised[i])
		}
		if x[0][i] != want[i] {
			t.Errorf("value %d after the step: %v, want %v", i, x[0][i], want[i])
		}
	}
}

// The restarts of x-space chains: with replay probability p a chain starts
// at a stored sample, otherwise at uniform noise on the data's range or at
// a row of a pool of VAE samples, each decided by the stream's draws in
// order (a Float64 for the coin, then IntN for the row, or Float64s for
// the noise).
func TestXSpaceRestarts(t *testing.T) {
	stored := []float32{0.9, 0.9}
	pool := []float32{0.1, 0.2, 0.3, 0.4, 0.5, 0.6}
	tests := []struct {
		name  string
		fresh func(*rand.Rand, int, []float32)
		want  func(r *rand.Rand) []float32 // what the chains must start at, from a copy of the stream
	}{
		{"uniform", Uniform(-1, 3), func(r *rand.Rand) []float32 {
			var out []float32
			for i := 0; i < 3; i++ {
				if r.Float64() < 0.5 {
					r.IntN(1)
					out = append(out, stored...)
					continue
				}
				out = append(out, float32(-1+4*r.Float64()), float32(-1+4*r.Float64()))
			}
			return out
		}},
		{"pool", FromPool(pool, 2), func(r *rand.Rand) []float32 {
			var out []float32
			for i := 0; i < 3; i++ {
				if r.Float64() < 0.5 {
					r.IntN(1)
					out = append(out, stored...)
					continue
				}
				k := r.IntN(3)
				out = append(out, pool[2*k:2*k+2]...)
			}
			return out
		}},
	}
	for _, tc := range tests {
		buf := NewReplayBuffer(4, []int{2})
		buf.Push([][]float32{stored})
		x := [][]float32{make([]float32, 6)}
		buf.Init(rand.New(rand.NewPCG(23, 24)), x, 0.5, tc.fresh)
		want := tc.want(rand.New(rand.NewPCG(23, 24)))
		for i := range want {
			if x[0][i] != want[i] {
				t.Fatalf("%s: starts %v, want %v", tc.name, x[0], want)
			}
		}
		fromBuffer := 0
		for i := 0; i < 3; i++ {
			if x[0][2*i] == stored[0] && x[0][2*i+1] == stored[1] {
				fromBuffer++
			}
		}
		if fromBuffer == 0 || fromBuffer == 3 {
			t.Fatalf("%s: %d of 3 chains from the buffer; the seed should give both kinds", tc.name, fromBuffer)
		}
		for _, v := range x[0] {
			if tc.name == "uniform" && (v < -1 || v >= 3) {
				t.Fatalf("uniform start %v outside [-1, 3)", v)
			}
		}
	}
}
