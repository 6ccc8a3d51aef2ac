package metrics

import (
	"fmt"
	"math"
)

// ModeCoverage is the StackedMNIST evaluation of Sec. 5.3 (the PacGAN
// protocol): given the mode label (0…numModes−1) the classifier assigns to
// each generated sample, Modes counts the distinct labels seen and KL is
// KL(p_gen ‖ uniform) = Σ p log(p · numModes) over the empirical mode
// distribution, in nats.
func ModeCoverage(labels []int, numModes int) (modes int, kl float64, err error) {
	if len(labels) == 0 || numModes < 1 {
		return 0, 0, fmt.Errorf("mode coverage: %d samples over %d modes", len(labels), numModes)
	}
	counts := make([]int, numModes)
	for i, l := range labels {
		if l < 0 || l >= numModes {
			return 0, 0, fmt.Errorf("mode coverage: sample %d has mode %d, outside [0, %d)", i, l, numModes)
		}
		counts[l]++
	}
	n := float64(len(labels))
	for _, c := range counts {
		if c == 0 {
			continue
		}
		modes++
		p := float64(c) / n
		kl += p * math.Log(p*float64(numModes))
	}
	return modes, kl, nil
}

// StackedLabel is the StackedMNIST mode of three channel digits: 100·d₀ + 10·d₁ + d₂.
func StackedLabel(d0, d1, d2 int) int { return 100*d0 + 10*d1 + d2 }
