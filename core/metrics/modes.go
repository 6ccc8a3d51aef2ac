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

// NearModes measures how a 2-D sample covers a mixture of isotropic
// Gaussians with the given centres and std (Fig. 4's 25 Gaussians): Near
// is the share of points within k·std of their nearest centre, and
// ShareMin and ShareMax are the smallest and largest share of the points
// near a centre that any centre gets, as multiples of the even share
// 1/len(centres) (1 and 1 for a perfectly even sample).
func NearModes(points []float32, centres [][2]float64, std, k float64) (near, shareMin, shareMax float64, err error) {
	if len(points) == 0 || len(points)%2 != 0 || len(centres) == 0 || !(std > 0) || !(k > 0) {
		return 0, 0, 0, fmt.Errorf("near modes: %d values (want pairs), %d centres, std %v, k %v", len(points), len(centres), std, k)
	}
	counts := make([]int, len(centres))
	var nNear int
	r2 := k * k * std * std
	for i := 0; i+1 < len(points); i += 2 {
		x, y := float64(points[i]), float64(points[i+1])
		if math.IsNaN(x) || math.IsNaN(y) {
			return 0, 0, 0, fmt.Errorf("near modes: point %d is NaN", i/2)
		}
		if c := nearestWithin(x, y, centres, r2); c >= 0 {
			counts[c]++
			nNear++
		}
	}
	near = float64(nNear) / float64(len(points)/2)
	shareMin, shareMax = shareRange(counts, float64(nNear))
	return near, shareMin, shareMax, nil
}

// nearestWithin returns the index of the centre nearest to (x, y) if its
// squared distance is at most r2, else −1.
func nearestWithin(x, y float64, centres [][2]float64, r2 float64) int {
	best, bestD := -1, math.Inf(1)
	for c, m := range centres {
		if d := (x-m[0])*(x-m[0]) + (y-m[1])*(y-m[1]); d < bestD {
			best, bestD = c, d
		}
	}
	if bestD > r2 {
		return -1
	}
	return best
}

// shareRange returns the least and most of near (the weight near any
// centre) that one centre holds, as multiples of the even share; 0 and 0
// when nothing is near.
func shareRange[T int | float64](perCentre []T, near float64) (lo, hi float64) {
	if near == 0 {
		return 0, 0
	}
	lo, hi = math.Inf(1), 0
	for _, w := range perCentre {
		s := float64(w) / near * float64(len(perCentre))
		lo, hi = math.Min(lo, s), math.Max(hi, s)
	}
	return lo, hi
}

// MassNearModes is NearModes for a density instead of a sample: the share
// of a density's mass on the grid g that lies in the cells whose centre is
// within k·std of one of the centres, and the least and most of that mass
// any centre gets, as multiples of the even share. logf is the log density
// (normalised or not) at g.Points(). For Fig. 4 it tells whether a short
// or uneven share of samples near the modes comes from the model or from
// its sampler: a chain that has mixed gives its density's numbers.
func MassNearModes(g Grid2D, logf []float64, centres [][2]float64, std, k float64) (near, shareMin, shareMax float64, err error) {
	if len(logf) != g.N*g.N || len(centres) == 0 || !(std > 0) || !(k > 0) {
		return 0, 0, 0, fmt.Errorf("mass near modes: %d values on a %d×%d grid, %d centres, std %v, k %v", len(logf), g.N, g.N, len(centres), std, k)
	}
	top := math.Inf(-1)
	for i, v := range logf {
		if math.IsNaN(v) {
			return 0, 0, 0, fmt.Errorf("mass near modes: log density %d is NaN", i)
		}
		top = math.Max(top, v)
	}
	if math.IsInf(top, 0) {
		return 0, 0, 0, fmt.Errorf("mass near modes: the density is %v everywhere", top)
	}
	r2 := k * k * std * std
	pts := g.Points()
	mass := make([]float64, len(centres))
	var nearMass, all float64
	for i, v := range logf {
		w := math.Exp(v - top)
		all += w
		if c := nearestWithin(float64(pts[2*i]), float64(pts[2*i+1]), centres, r2); c >= 0 {
			mass[c] += w
			nearMass += w
		}
	}
	shareMin, shareMax = shareRange(mass, nearMass)
	return nearMass / all, shareMin, shareMax, nil
}
