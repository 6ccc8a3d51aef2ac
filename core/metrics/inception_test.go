package metrics

import (
	"math"
	"testing"
)

func TestInceptionScore(t *testing.T) {
	const k, splits = 4, 10
	// onehot(n, f) gives n rows, row i certain of class f(i).
	onehot := func(n int, f func(int) int) []float64 {
		p := make([]float64, n*k)
		for i := 0; i < n; i++ {
			p[i*k+f(i)] = 1
		}
		return p
	}
	uniform := make([]float64, 80*k)
	for i := range uniform {
		uniform[i] = 1.0 / k
	}
	// Half the rows certain of class 0, half of class 1, alternating:
	// p(y) = (½, ½, 0, 0), KL = log 2 for every row, IS = 2.
	half := onehot(80, func(i int) int { return i % 2 })
	cases := []struct {
		name      string
		probs     []float64
		mean, std float64
	}{
		// Confident and uniform over the K classes in every split: IS = K.
		{"confident, all classes", onehot(80, func(i int) int { return i % k }), k, 0},
		{"one class", onehot(80, func(int) int { return 2 }), 1, 0},
		{"uncertain", uniform, 1, 0},
		{"two classes", half, 2, 0},
	}
	for _, tc := range cases {
		mean, std, err := InceptionScore(tc.probs, k, splits)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(mean-tc.mean) > 1e-12 || math.Abs(std-tc.std) > 1e-12 {
			t.Errorf("%s: IS %g ± %g, want %g ± %g", tc.name, mean, std, tc.mean, tc.std)
		}
	}
	// Splits that differ: two parts, one confident over all 4 classes (4),
	// one all class 0 (1): mean 2.5, population std 1.5.
	mixed := append(onehot(8, func(i int) int { return i % k }), onehot(8, func(int) int { return 0 })...)
	if mean, std, _ := InceptionScore(mixed, k, 2); math.Abs(mean-2.5) > 1e-12 || math.Abs(std-1.5) > 1e-12 {
		t.Errorf("mixed splits: %g ± %g, want 2.5 ± 1.5", mean, std)
	}
	for _, bad := range [][]float64{{0.5, 0.4, 0, 0}, {1, 0, 0}, {2, -1, 0, 0}} {
		if _, _, err := InceptionScore(bad, k, 1); err == nil {
			t.Errorf("%v gave no error", bad)
		}
	}
	if _, _, err := InceptionScore(onehot(5, func(int) int { return 0 }), k, 10); err == nil {
		t.Error("5 samples in 10 splits gave no error")
	}
}
