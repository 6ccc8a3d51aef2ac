package metrics

import (
	"math"
	"testing"
)

func TestModeCoverage(t *testing.T) {
	all := make([]int, 2000)
	for i := range all {
		all[i] = i % 1000
	}
	half := make([]int, 1000)
	for i := range half {
		half[i] = i % 500
	}
	for _, tc := range []struct {
		name   string
		labels []int
		modes  int
		kl     float64
	}{
		{"uniform over all modes", all, 1000, 0},
		{"uniform over half", half, 500, math.Log(2)},
		{"one mode", []int{7, 7, 7}, 1, math.Log(1000)},
		// p = (3/4, 1/4) over 2 of 1000 modes: ¾ log(750) + ¼ log(250).
		{"skewed", []int{1, 1, 1, 2}, 2, 0.75*math.Log(750) + 0.25*math.Log(250)},
	} {
		modes, kl, err := ModeCoverage(tc.labels, 1000)
		if err != nil || modes != tc.modes || math.Abs(kl-tc.kl) > 1e-12 {
			t.Errorf("%s: modes %d KL %v (err %v), want %d and %v", tc.name, modes, kl, err, tc.modes, tc.kl)
		}
	}
	if _, _, err := ModeCoverage([]int{1000}, 1000); err == nil {
		t.Error("a label outside the modes was accepted")
	}
	if got := StackedLabel(3, 0, 9); got != 309 {
		t.Errorf("StackedLabel(3, 0, 9) = %d", got)
	}
}

func TestNearModes(t *testing.T) {
	centres := [][2]float64{{0, 0}, {1, 0}}
	tests := []struct {
		name         string
		points       []float32
		near, lo, hi float64
	}{
		// Within 3·0.1 of a centre: (0.1, 0.1) at 0.14, (1, 0.29); (0.5, 0) is 0.5 from both.
		{"even", []float32{0.1, 0.1, 1, 0.29, 0.5, 0, 0.9, 0}, 0.75, 2.0 / 3, 4.0 / 3}, // counts 1 and 2 of 3
		{"one mode", []float32{0, 0, 0.05, 0}, 1, 0, 2},
		{"none near", []float32{5, 5}, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			near, lo, hi, err := NearModes(tc.points, centres, 0.1, 3)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(near-tc.near) > 1e-12 || math.Abs(lo-tc.lo) > 1e-12 || math.Abs(hi-tc.hi) > 1e-12 {
				t.Errorf("near %v shares [%v, %v], want %v [%v, %v]", near, lo, hi, tc.near, tc.lo, tc.hi)
			}
		})
	}
	if _, _, _, err := NearModes([]float32{1}, centres, 0.1, 3); err == nil {
		t.Error("an odd number of values was accepted")
	}
}

// A Gaussian's mass within 3σ of its centre is 1 − e^−4.5 = 0.9889 (in 2-D
// the squared radius over σ² is χ² with 2 degrees of freedom), all at that
// centre (shares 0 and 2 of two); a flat density's share is the discs'
// area over the grid's, split evenly; a density that sits between the
// centres has (all but a trace, split evenly) none near them; a mixture of 3:1 gives shares 1.5 and 0.5.
func TestMassNearModes(t *testing.T) {
	g := NewGrid2D(-1, 1, 400)
	pts := g.Points()
	const std = 0.1
	density := func(f func(x, y float64) float64) []float64 {
		out := make([]float64, len(pts)/2)
		for i := range out {
			out[i] = f(float64(pts[2*i]), float64(pts[2*i+1]))
		}
		return out
	}
	centres := [][2]float64{{-0.5, 0}, {0.5, 0}}
	tests := []struct {
		name       string
		logf       []float64
		want       float64
		tol        float64
		minS, maxS float64
	}{
		{"gaussian", density(func(x, y float64) float64 { return -((x-0.5)*(x-0.5) + y*y) / (2 * std * std) }), 1 - math.Exp(-4.5), 2e-3, 0, 2},
		{"flat", density(func(x, y float64) float64 { return 7 }), 2 * math.Pi * 0.09 / 4, 3e-3, 1, 1},
		{"between", density(func(x, y float64) float64 { return -(x*x + y*y) / (2 * 0.01 * 0.01) }), 0, 1e-12, 1, 1}, // a trace near both, evenly
		{"3:1", density(func(x, y float64) float64 {
			g := func(cx float64) float64 { return math.Exp(-((x-cx)*(x-cx) + y*y) / (2 * std * std)) }
			return math.Log(3*g(-0.5) + g(0.5))
		}), 1 - math.Exp(-4.5), 2e-3, 0.5, 1.5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, lo, hi, err := MassNearModes(g, tc.logf, centres, std, 3)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-tc.want) > tc.tol {
				t.Errorf("mass near modes %v, want %v ± %v", got, tc.want, tc.tol)
			}
			if math.Abs(lo-tc.minS) > 1e-3 || math.Abs(hi-tc.maxS) > 1e-3 {
				t.Errorf("shares [%v, %v], want [%v, %v]", lo, hi, tc.minS, tc.maxS)
			}
		})
	}
	if _, _, _, err := MassNearModes(g, make([]float64, 3), centres, std, 3); err == nil {
		t.Error("a density of the wrong size was accepted")
	}
	nan := make([]float64, g.N*g.N)
	nan[5] = math.NaN()
	if _, _, _, err := MassNearModes(g, nan, centres, std, 3); err == nil {
		t.Error("a NaN density was accepted")
	}
}
