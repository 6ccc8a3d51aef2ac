package metrics

import (
	"math"
	"math/rand/v2"
	"testing"
)

// pairwiseAUROC counts every (in, out) pair: the O(n²) definition.
func pairwiseAUROC(in, out []float64) float64 {
	var s float64
	for _, a := range in {
		for _, b := range out {
			switch {
			case a > b:
				s++
			case a == b:
				s += 0.5
			}
		}
	}
	return s / float64(len(in)*len(out))
}

func TestAUROC(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in, out []float64
		want    float64
	}{
		{"separated", []float64{3, 4, 5}, []float64{0, 1, 2}, 1},
		{"reversed", []float64{0, 1}, []float64{5, 6, 7}, 0},
		{"all tied", []float64{1, 1, 1}, []float64{1, 1}, 0.5},
		{"interleaved", []float64{1, 3}, []float64{2, 4}, 0.25},
		{"a tie counted half", []float64{2}, []float64{2, 1}, 0.75},
	} {
		got, err := AUROC(tc.in, tc.out)
		if err != nil || math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: %v (%v), want %v", tc.name, got, err, tc.want)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 20; trial++ {
		in := make([]float64, 1+r.IntN(60))
		out := make([]float64, 1+r.IntN(60))
		for i := range in {
			in[i] = float64(r.IntN(12)) // many ties
		}
		for i := range out {
			out[i] = float64(r.IntN(10)) - 1
		}
		got, err := AUROC(in, out)
		if want := pairwiseAUROC(in, out); err != nil || math.Abs(got-want) > 1e-12 {
			t.Fatalf("trial %d: %v (%v), pairwise %v", trial, got, err, want)
		}
	}
	if _, err := AUROC([]float64{math.NaN()}, []float64{1}); err == nil {
		t.Error("a NaN score was ranked")
	}
	if _, err := AUROC(nil, []float64{1}); err == nil {
		t.Error("no in-distribution scores: no error")
	}
}

func TestKS2(t *testing.T) {
	d, p, err := KS2([]float64{1, 2, 3}, []float64{1, 2, 3})
	if err != nil || d != 0 || p != 1 {
		t.Errorf("same samples: D %v p %v (%v)", d, p, err)
	}
	d, _, _ = KS2([]float64{0, 1}, []float64{5, 6, 7})
	if d != 1 {
		t.Errorf("disjoint samples: D %v, want 1", d)
	}
	// D by brute force over every point of both samples.
	r := rand.New(rand.NewPCG(3, 4))
	a, b := make([]float64, 300), make([]float64, 200)
	for i := range a {
		a[i] = r.NormFloat64()
	}
	for i := range b {
		b[i] = r.NormFloat64() + 0.3
	}
	cdf := func(s []float64, x float64) float64 {
		n := 0
		for _, v := range s {
			if v <= x {
				n++
			}
		}
		return float64(n) / float64(len(s))
	}
	var want float64
	for _, x := range append(append([]float64{}, a...), b...) {
		want = math.Max(want, math.Abs(cdf(a, x)-cdf(b, x)))
	}
	d, p, err = KS2(a, b)
	if err != nil || math.Abs(d-want) > 1e-12 {
		t.Errorf("D %v (%v), brute force %v", d, err, want)
	}
	if !(p < 0.05) {
		t.Errorf("a 0.3σ shift over 300 and 200 points: p %v, want < 0.05", p)
	}
	// Kolmogorov's distribution: P(K > 1.358) ≈ 0.05, P(K > 1.628) ≈ 0.01.
	for _, c := range []struct{ t, q float64 }{{1.3581, 0.05}, {1.6276, 0.01}} {
		if q := kolmogorovQ(c.t); math.Abs(q-c.q) > 2e-4 {
			t.Errorf("Q(%v) = %v, want %v", c.t, q, c.q)
		}
	}
}

// Hanley and McNeil's standard error matches the spread of AUROCs over
// repeated draws: Gaussian scores a unit apart (AUROC ≈ 0.76), 150 in and
// 250 out, 400 replicates.
func TestAUROCSE(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	const nIn, nOut, reps = 150, 250, 400
	var as []float64
	for range reps {
		in, out := make([]float64, nIn), make([]float64, nOut)
		for i := range in {
			in[i] = rng.NormFloat64() + 1
		}
		for i := range out {
			out[i] = rng.NormFloat64()
		}
		a, err := AUROC(in, out)
		if err != nil {
			t.Fatal(err)
		}
		as = append(as, a)
	}
	mean, sd := MeanStd(as)
	se := AUROCSE(mean, nIn, nOut)
	if math.Abs(se-sd) > 0.15*sd {
		t.Fatalf("Hanley–McNeil SE %.4f, spread over %d replicates %.4f (AUROC %.3f)", se, reps, sd, mean)
	}
	t.Logf("AUROC %.3f: SE %.4f, replicate std %.4f", mean, se, sd)
	// A perfect separation has no error; a coin, the largest at these sizes.
	if se := AUROCSE(1, nIn, nOut); se != 0 {
		t.Errorf("SE at AUROC 1: %v", se)
	}
	if !math.IsNaN(AUROCSE(0.5, 0, 10)) {
		t.Error("SE with no in-distribution scores is not NaN")
	}
}
