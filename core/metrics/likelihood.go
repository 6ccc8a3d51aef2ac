// Package metrics holds the evaluation numbers of the paper: likelihood
// estimates and grid integration for the 2-D toy, mode coverage and the KL
// to the uniform mode distribution for StackedMNIST, the Fréchet distance
// and Inception Score of the image stand-ins, and the AUROC and two-sample
// Kolmogorov–Smirnov statistic of the OOD and overfitting checks.
package metrics

import (
	"math"

	"github.com/vaebm/vaebm/core/data"
)

// MeanSE returns the mean of xs and its standard error.
func MeanSE(xs []float64) (mean, se float64) {
	mean, ss, n := meanSS(xs)
	if n < 2 {
		return mean, ss // NaN for none, 0 for one
	}
	return mean, math.Sqrt(ss / (n - 1) / n)
}

// MeanStd returns the mean of xs and their sample standard deviation
// (n − 1 in the denominator): 0 for one value, NaN for none.
func MeanStd(xs []float64) (mean, std float64) {
	mean, ss, n := meanSS(xs)
	if n < 2 {
		return mean, ss // NaN for none, 0 for one
	}
	return mean, math.Sqrt(ss / (n - 1))
}

// meanSS returns the mean of xs (NaN for none), the sum of squared
// deviations from it, and their count.
func meanSS(xs []float64) (mean, ss, n float64) {
	n = float64(len(xs))
	if n == 0 {
		return math.NaN(), math.NaN(), 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= n
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, ss, n
}

// Grid2D is a square grid of N×N cells over [Min, Max]², evaluated at cell
// centres (the midpoint rule).
type Grid2D struct {
	Min, Max float64
	N        int
}

// NewGrid2D returns the grid.
func NewGrid2D(lo, hi float64, n int) Grid2D { return Grid2D{lo, hi, n} }

// Step is a cell's side.
func (g Grid2D) Step() float64 { return (g.Max - g.Min) / float64(g.N) }

// Points returns the N² cell centres as (x, y) pairs, row-major in y then x.
func (g Grid2D) Points() []float32 {
	h := g.Step()
	out := make([]float32, 0, 2*g.N*g.N)
	for i := 0; i < g.N; i++ {
		for j := 0; j < g.N; j++ {
			out = append(out, float32(g.Min+(float64(j)+0.5)*h), float32(g.Min+(float64(i)+0.5)*h))
		}
	}
	return out
}

// LogIntegral returns log ∫ exp(f) over the grid, given log f at Points:
// log Σ exp(f_i) + log(cell area).
func (g Grid2D) LogIntegral(logf []float64) float64 {
	h := g.Step()
	return data.LogSumExp(logf) + math.Log(h*h)
}
