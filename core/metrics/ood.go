package metrics

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// AUROC is the area under the ROC curve of a score that should be higher
// for in-distribution inputs (in) than for out-of-distribution ones (out):
// the Mann–Whitney statistic P(s_in > s_out) + ½ P(s_in = s_out), the
// measure of the paper's Table 6. It sorts once (O(n log n)) and counts
// ties half through mid-ranks. NaN scores are an error: they cannot be
// ranked.
func AUROC(in, out []float64) (float64, error) {
	if len(in) == 0 || len(out) == 0 {
		return 0, fmt.Errorf("auroc: %d in-distribution and %d out-of-distribution scores; need both", len(in), len(out))
	}
	if slices.ContainsFunc(in, math.IsNaN) || slices.ContainsFunc(out, math.IsNaN) {
		return 0, fmt.Errorf("auroc: a NaN score")
	}
	type scored struct {
		v  float64
		in bool
	}
	all := make([]scored, 0, len(in)+len(out))
	for _, v := range in {
		all = append(all, scored{v, true})
	}
	for _, v := range out {
		all = append(all, scored{v, false})
	}

	sort.Slice(all, func(i, j int) bool { return all[i].v < all[j].v })
	// The sum of the in-distribution scores' mid-ranks (1-based).
	var rankSum float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		mid := float64(i+1+j) / 2 // the mean of ranks i+1 … j
		for k := i; k < j; k++ {
			if all[k].in {
				rankSum += mid
			}
		}
		i = j
	}
	n1, n0 := float64(len(in)), float64(len(out))
	return (rankSum - n1*(n1+1)/2) / (n1 * n0), nil
}

// AUROCSE is the standard error of an AUROC a measured on nIn in-distribution
// and nOut out-of-distribution scores, by Hanley and McNeil (1982, Radiology
// 143:29): SE² = (a(1−a) + (nIn−1)(Q1−a²) + (nOut−1)(Q2−a²)) / (nIn·nOut)
// with Q1 = a/(2−a) and Q2 = 2a²/(1+a). It is exact for exponential scores
// and close for others; it lets a single run's AUROC carry its sampling error.
func AUROCSE(a float64, nIn, nOut int) float64 {
	if nIn < 1 || nOut < 1 {
		return math.NaN()
	}
	q1, q2 := a/(2-a), 2*a*a/(1+a)
	n1, n0 := float64(nIn), float64(nOut)
	v := (a*(1-a) + (n1-1)*(q1-a*a) + (n0-1)*(q2-a*a)) / (n1 * n0)
	return math.Sqrt(math.Max(v, 0))
}

// KS2 is the two-sample Kolmogorov–Smirnov statistic D = sup |F_a − F_b|
// of two samples' empirical distribution functions, and the asymptotic
// p-value of D under the hypothesis that both come from one continuous
// distribution (Kolmogorov's series at √(n_e)·D, n_e = n_a n_b/(n_a+n_b)).
// At n_a = n_b = 10,000 a D of 0.0192 has p ≈ 0.05: a smaller D means the
// samples cannot be told apart at that level.
func KS2(a, b []float64) (d, p float64, err error) {
	if len(a) == 0 || len(b) == 0 {
		return 0, 0, fmt.Errorf("ks: samples of %d and %d values; need both", len(a), len(b))
	}
	if slices.ContainsFunc(a, math.IsNaN) || slices.ContainsFunc(b, math.IsNaN) {
		return 0, 0, fmt.Errorf("ks: a NaN value")
	}
	x, y := slices.Clone(a), slices.Clone(b)
	sort.Float64s(x)
	sort.Float64s(y)
	i, j := 0, 0
	for i < len(x) && j < len(y) {
		v := math.Min(x[i], y[j])
		for i < len(x) && x[i] == v {
			i++
		}
		for j < len(y) && y[j] == v {
			j++
		}
		d = math.Max(d, math.Abs(float64(i)/float64(len(x))-float64(j)/float64(len(y))))
	}
	ne := float64(len(x)) * float64(len(y)) / float64(len(x)+len(y))
	return d, kolmogorovQ(math.Sqrt(ne) * d), nil
}

// kolmogorovQ is P(K > t) for Kolmogorov's distribution:
// 2 Σ_{k≥1} (−1)^{k−1} exp(−2k²t²).
func kolmogorovQ(t float64) float64 {
	if t < 0.2 {
		return 1 // the series converges slowly here; the p-value is 1 to 6 digits
	}
	var s float64
	for k := 1; k <= 100; k++ {
		term := math.Exp(-2 * float64(k*k) * t * t)
		if k%2 == 1 {
			s += term
		} else {
			s -= term
		}
		if term < 1e-16 {
			break
		}
	}
	return math.Max(0, math.Min(1, 2*s))
}
