package metrics

import (
	"fmt"
	"math"
)

// InceptionScore is exp E_x KL(p(y|x) ‖ p(y)) (Salimans et al. 2016) of
// the class probabilities probs (n rows of k), computed on each of splits
// equal consecutive parts, p(y) being the part's mean; it returns the mean
// and the standard deviation (numpy's, ddof 0, as the reference code) over
// the parts. Rows must be probability vectors.
func InceptionScore(probs []float64, k, splits int) (mean, std float64, err error) {
	if k < 1 || len(probs)%k != 0 {
		return 0, 0, fmt.Errorf("inception score: %d probabilities is not a whole number of rows of %d", len(probs), k)
	}
	n := len(probs) / k
	if splits < 1 || n < splits {
		return 0, 0, fmt.Errorf("inception score: %d samples in %d splits", n, splits)
	}
	for i := 0; i < n; i++ {
		var sum float64
		for _, p := range probs[i*k : (i+1)*k] {
			if !(p >= 0 && p <= 1) {
				return 0, 0, fmt.Errorf("inception score: row %d holds %v, not a probability", i, p)
			}
			sum += p
		}
		if math.Abs(sum-1) > 1e-6 {
			return 0, 0, fmt.Errorf("inception score: row %d sums to %v, not 1", i, sum)
		}
	}
	scores := make([]float64, splits)
	marginal := make([]float64, k)
	for s := range scores {
		lo, hi := s*n/splits, (s+1)*n/splits
		clear(marginal)
		for i := lo; i < hi; i++ {
			for j, p := range probs[i*k : (i+1)*k] {
				marginal[j] += p / float64(hi-lo)
			}
		}
		var kl float64
		for i := lo; i < hi; i++ {
			for j, p := range probs[i*k : (i+1)*k] {
				if p > 0 {
					kl += p * math.Log(p/marginal[j])
				}
			}
		}
		scores[s] = math.Exp(kl / float64(hi-lo))
	}
	for _, v := range scores {
		mean += v / float64(splits)
	}
	for _, v := range scores {
		std += (v - mean) * (v - mean) / float64(splits)
	}
	return mean, math.Sqrt(std), nil
}
