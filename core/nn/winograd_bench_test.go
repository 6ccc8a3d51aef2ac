package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// BenchmarkConv3x3 times the energy net's 3×3 convolutions (batch 128 as in
// the conv workload), forward and weight gradient (the input gradient is a
// forward conv from O to C channels: c64o3 is the first conv's), through
// im2col and through Winograd, alternating the
// two every iteration so that a busy machine slows both alike, and reports
// the median of each and the ratio of the medians (im2col/winograd > 1:
// Winograd is faster). ns/op is the pair.
func BenchmarkConv3x3(b *testing.B) {
	for _, c := range []struct{ n, c, o, hw int }{
		{128, 64, 64, 28}, {128, 64, 128, 14}, {128, 128, 128, 14}, {128, 128, 64, 14}, {128, 3, 64, 28}, {128, 64, 3, 28},
	} {
		g, x, w, y, dw := convBenchData(c.n, c.c, c.o, c.hw)
		for _, pass := range []string{"fwd", "dw"} {
			b.Run(fmt.Sprintf("c%do%dhw%d/%s", c.c, c.o, c.hw, pass), func(b *testing.B) {
				var s1, s2 scratch[float32]
				alternate(b, "im2col", func() {
					if pass == "fwd" {
						convIm2col(g, x, w, nil, y, &s1, nil)
					} else {
						convGradWeightIm2col(g, x, y, dw, &s1)
					}
				}, "wino", func() {
					if pass == "fwd" {
						convWinograd(g, x, w, nil, y, &s2, nil)
					} else {
						convGradWeightWinograd(g, x, y, dw, &s2)
					}
				})
			})
		}
	}
}

// convBenchData is a batch of n c×hw×hw images and the kernels of a 3×3,
// stride-1, padding-1 convolution to o channels, normal random, with room
// for its output and weight gradient.
func convBenchData(n, c, o, hw int) (g convGeom, x, w, y, dw []float32) {
	g = geom(n, c, hw, hw, o, 3, 1, 1)
	rng := rand.New(rand.NewPCG(1, 1))
	x, w = make([]float32, g.N*g.C*g.H*g.W), make([]float32, g.O*g.ckk())
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for i := range w {
		w[i] = float32(rng.NormFloat64())
	}
	return g, x, w, make([]float32, g.N*g.O*g.pix()), make([]float32, len(w))
}

// alternate runs fa and fb one after the other every iteration, so that a
// busy machine slows both alike, and reports the median time of each (in
// ms, as NAME-ms) and the ratio of the medians (na/nb > 1: fb is faster).
// ns/op is the pair.
func alternate(b *testing.B, na string, fa func(), nb string, fb func()) {
	var ta, tb []float64
	for b.Loop() {
		t0 := time.Now()
		fa()
		t1 := time.Now()
		fb()
		ta, tb = append(ta, t1.Sub(t0).Seconds()), append(tb, time.Since(t1).Seconds())
	}
	ma, mb := median(ta), median(tb)
	b.ReportMetric(ma*1e3, na+"-ms")
	b.ReportMetric(mb*1e3, nb+"-ms")
	b.ReportMetric(ma/mb, na+"/"+nb)
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}

// BenchmarkWinogradRows times the Winograd forward pass and weight gradient
// with the kernels run row of tiles by row (V and M without the dummy
// tiles) and over the whole grid, alternating the two every iteration, and
// reports the median of each and their ratio (grid/rows > 1: running by
// rows is faster). winoRowsMin is set from it. ns/op is the pair.
func BenchmarkWinogradRows(b *testing.B) {
	defer func(v int) { winoRowsMin = v }(winoRowsMin)
	for _, c := range []struct{ n, c, o, hw int }{
		{128, 64, 64, 28}, {128, 64, 128, 14}, {128, 128, 128, 14}, {32, 64, 64, 7}, {128, 64, 128, 7}, {32, 32, 64, 14},
		{32, 32, 32, 28}, {32, 32, 32, 14}, {32, 32, 32, 7}, {32, 16, 16, 28}, {128, 64, 3, 28},
	} {
		g, x, w, y, dw := convBenchData(c.n, c.c, c.o, c.hw)
		b.Run(fmt.Sprintf("c%do%dhw%dn%d", c.c, c.o, c.hw, c.n), func(b *testing.B) {
			var s1, s2 scratch[float32]
			alternate(b, "grid", func() {
				winoRowsMin = math.MaxInt
				convWinograd(g, x, w, nil, y, &s1, nil)
				convGradWeightWinograd(g, x, y, dw, &s1)
			}, "rows", func() {
				winoRowsMin = 0
				convWinograd(g, x, w, nil, y, &s2, nil)
				convGradWeightWinograd(g, x, y, dw, &s2)
			})
		})
	}
}
