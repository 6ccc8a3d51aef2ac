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
