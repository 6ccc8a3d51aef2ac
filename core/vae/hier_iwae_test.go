package vae

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vaebm/vaebm/core/nn"
)

// The importance log-weight's mean under q is the ELBO: averaged over many
// posterior draws for one image, −E[log w] matches the loss BuildELBO
// computes with the analytic KL (β = 1), and the IWAE bound with K draws
// lies above it, rising with K.
func TestHierLogWeightIsTheELBO(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	v := tinyHier(t, rng)
	v.AddGlobalLatent(rng, 3)
	x := make([]float32, v.XDim())
	for i := range x {
		x[i] = float32(rng.Float64())
	}
	// −ELBO by BuildELBO, averaged over its own noise draws.
	const draws = 4000
	b := nn.NewBuilder()
	e, err := v.BuildELBO(b, draws)
	if err != nil {
		t.Fatal(err)
	}
	for i := range e.X {
		e.X[i] = x[i%len(x)]
	}
	for i := range e.Noise {
		e.Noise[i] = float32(rng.NormFloat64())
	}
	p, err := nn.Compile(b, e.Loss, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(); err != nil {
		t.Fatal(err)
	}
	negELBO := e.LossOut.Scalar()

	ev, err := v.NewEvaluator()
	if err != nil {
		t.Fatal(err)
	}
	var rows []float32
	for i := 0; i < draws; i++ {
		rows = append(rows, x...)
	}
	k1, err := ev.IWAE(rng, rows, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mean, ss float64
	for _, w := range k1 {
		mean += w / draws
	}
	for _, w := range k1 {
		ss += (w - mean) * (w - mean)
	}
	se := math.Sqrt(ss/(draws-1)) / math.Sqrt(draws)
	// BuildELBO's own average carries a similar error (its KL is exact,
	// its reconstruction term sampled): allow 5 combined SE.
	if d := -mean - negELBO; math.Abs(d) > 5*math.Sqrt2*se+1e-3 {
		t.Errorf("−E[log w] = %.4f ± %.4f, BuildELBO's loss %.4f", -mean, se, negELBO)
	}
	t.Logf("−E[log w] = %.4f ± %.4f, BuildELBO's loss %.4f", -mean, se, negELBO)
	prev := mean
	for _, k := range []int{4, 32} {
		est, err := ev.IWAE(rng, rows[:200*len(x)], k, nil)
		if err != nil {
			t.Fatal(err)
		}
		var m float64
		for _, w := range est {
			m += w / float64(len(est))
		}
		if m < prev-3*se {
			t.Errorf("IWAE with K = %d: %.4f, below the bound with fewer samples %.4f", k, m, prev)
		}
		t.Logf("IWAE K = %d: %.4f", k, m)
		prev = m
	}
}
