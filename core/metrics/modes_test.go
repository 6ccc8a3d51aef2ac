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
