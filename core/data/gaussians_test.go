package data

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The experiment's σ is chosen so that the well-separated entropy is 1.10
// nats; the exact mixture density must agree on sampled points.
func TestGaussians25TrueLogLikelihood(t *testing.T) {
	g := Gaussians25{Grid: 5, Spacing: 1, Std: 0.08388}
	if h := g.EntropyWellSeparated(); math.Abs(h-1.10) > 5e-4 {
		t.Fatalf("entropy %v, want 1.10", h)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	pts := g.Sample(rng, 200000)
	var sum, sq float64
	n := len(pts) / 2
	for i := 0; i < n; i++ {
		l := g.LogDensity(float64(pts[2*i]), float64(pts[2*i+1]))
		sum += l
		sq += l * l
	}
	mean := sum / float64(n)
	se := math.Sqrt((sq/float64(n) - mean*mean) / float64(n))
	if math.Abs(mean+1.10) > 4*se+1e-3 {
		t.Fatalf("mean log-likelihood %v ± %v, want -1.10", mean, se)
	}
}

func TestLogSumExp(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{0, 0}, math.Log(2)},
		{[]float64{1000, 1000}, 1000 + math.Log(2)},
		{[]float64{-1000, math.Inf(-1)}, -1000},
	} {
		if got := LogSumExp(tc.in); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("LogSumExp(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
