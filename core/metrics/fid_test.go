package metrics

import (
	"math"
	"math/rand/v2"
	"testing"
)

// gaussianSet draws n vectors x = mean + L·z, z ~ N(0, I), L row-major d×d.
func gaussianSet(rng *rand.Rand, n int, mean, l []float64) []float32 {
	d := len(mean)
	out := make([]float32, n*d)
	z := make([]float64, d)
	for i := 0; i < n; i++ {
		for j := range z {
			z[j] = rng.NormFloat64()
		}
		for r := 0; r < d; r++ {
			v := mean[r]
			for c := 0; c < d; c++ {
				v += l[r*d+c] * z[c]
			}
			out[i*d+r] = float32(v)
		}
	}
	return out
}

func stats(mean, cov []float64) FeatureStats { return FeatureStats{N: 100, Mean: mean, Cov: cov} }

// Cases with a closed form. Where Σ₁ and Σ₂ commute the trace term is
// Σ√(λ₁λ₂) over shared eigenvectors; the non-commuting case is worked by
// hand below.
func TestFrechetDistanceKnown(t *testing.T) {
	// Rotation by 30°: R diag(a) Rᵀ and R diag(b) Rᵀ commute.
	c, s := math.Cos(math.Pi/6), math.Sin(math.Pi/6)
	rot := func(d0, d1 float64) []float64 {
		// R diag(d0, d1) Rᵀ with R = [[c, −s], [s, c]].
		return []float64{c*c*d0 + s*s*d1, c * s * (d0 - d1), c * s * (d0 - d1), s*s*d0 + c*c*d1}
	}
	cases := []struct {
		name string
		a, b FeatureStats
		want float64
	}{
		{"identical", stats([]float64{1, 2}, []float64{2, 0.5, 0.5, 1}), stats([]float64{1, 2}, []float64{2, 0.5, 0.5, 1}), 0},
		{"means only", stats([]float64{0, 0}, []float64{1, 0, 0, 1}), stats([]float64{3, 4}, []float64{1, 0, 0, 1}), 25},
		// Diagonal: Σ(μ₁−μ₂)² + Σ(√a − √b)² = 1 + (2−1)² + (3−1)² = 6.
		{"diagonal", stats([]float64{1, 0}, []float64{4, 0, 0, 9}), stats([]float64{0, 0}, []float64{1, 0, 0, 1}), 6},
		// Commuting, same eigenvectors: (√4 − √1)² + (√9 − √16)² = 1 + 1 = 2.
		{"commuting", stats([]float64{0, 0}, rot(4, 9)), stats([]float64{0, 0}, rot(1, 16)), 2},
		// Non-commuting: Σ₁ = diag(4, 1), Σ₂ = [[1, 1], [1, 2]].
		// Σ₁^½ Σ₂ Σ₁^½ = diag(2, 1)·Σ₂·diag(2, 1) = [[4, 2], [2, 2]], trace 6, det 4.
		// For a 2×2 PSD M, (tr √M)² = tr M + 2√det M = 6 + 4, so tr √M = √10, and
		// the distance is tr Σ₁ + tr Σ₂ − 2√10 = 5 + 3 − 2√10.
		{"non-commuting 2×2", stats([]float64{0, 0}, []float64{4, 0, 0, 1}), stats([]float64{0, 0}, []float64{1, 1, 1, 2}), 8 - 2*math.Sqrt(10)},
		// Singular covariances: a point mass against N(0, I) in 2-D is tr I = 2.
		{"singular", stats([]float64{0, 0}, []float64{0, 0, 0, 0}), stats([]float64{0, 0}, []float64{1, 0, 0, 1}), 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, order := range [][2]FeatureStats{{tc.a, tc.b}, {tc.b, tc.a}} {
				got, err := FrechetDistance(order[0], order[1])
				if err != nil {
					t.Fatal(err)
				}
				if math.Abs(got-tc.want) > 1e-9 {
					t.Errorf("got %.12f, want %.12f", got, tc.want)
				}
			}
		})
	}
}

// On sampled sets: FID(X, X) = 0, FID is symmetric, translating both sets
// by one vector leaves it unchanged, and translating one set by v adds ‖v‖².
func TestFrechetDistanceSampled(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const d, n = 6, 4000
	l1, l2 := make([]float64, d*d), make([]float64, d*d)
	m1, m2 := make([]float64, d), make([]float64, d)
	for i := range l1 {
		l1[i], l2[i] = rng.NormFloat64(), rng.NormFloat64()*0.5
	}
	for i := range m1 {
		m1[i], m2[i] = rng.NormFloat64(), rng.NormFloat64()
	}
	x, y := gaussianSet(rng, n, m1, l1), gaussianSet(rng, n, m2, l2)
	sx, err := NewFeatureStats(x, d)
	if err != nil {
		t.Fatal(err)
	}
	sy, _ := NewFeatureStats(y, d)
	if self, _ := FrechetDistance(sx, sx); self > 1e-9 {
		t.Errorf("FID(X, X) = %g", self)
	}
	xy, _ := FrechetDistance(sx, sy)
	yx, _ := FrechetDistance(sy, sx)
	if xy <= 0 || math.Abs(xy-yx) > 1e-9*xy {
		t.Errorf("FID(X, Y) = %g, FID(Y, X) = %g", xy, yx)
	}
	shift := func(v []float32, by []float64) []float32 {
		out := make([]float32, len(v))
		for i := range v {
			out[i] = v[i] + float32(by[i%d])
		}
		return out
	}
	v := []float64{0.5, -1, 2, 0, 0.25, 1}
	sx2, _ := NewFeatureStats(shift(x, v), d)
	sy2, _ := NewFeatureStats(shift(y, v), d)
	both, _ := FrechetDistance(sx2, sy2)
	if math.Abs(both-xy) > 1e-4*xy {
		t.Errorf("translating both sets: %g, before %g", both, xy)
	}
	one, _ := FrechetDistance(sx2, sx)
	if want := 0.5*0.5 + 1 + 4 + 0.25*0.25 + 1; math.Abs(one-want) > 1e-4 {
		t.Errorf("translating one set by v: %g, want ‖v‖² = %g", one, want)
	}
}

// The sample covariance divides by N − 1, as numpy.cov.
func TestFeatureStats(t *testing.T) {
	s, err := NewFeatureStats([]float32{1, 10, 3, 20, 5, 60}, 2)
	if err != nil {
		t.Fatal(err)
	}
	// Column 0: 1, 3, 5 (mean 3, var 4); column 1: 10, 20, 60 (mean 30, var 700);
	// covariance ((−2)(−20) + 0 + 2·30)/2 = 50.
	want := []float64{4, 50, 50, 700}
	if s.N != 3 || s.Mean[0] != 3 || s.Mean[1] != 30 {
		t.Errorf("n %d mean %v", s.N, s.Mean)
	}
	for i := range want {
		if math.Abs(s.Cov[i]-want[i]) > 1e-9 {
			t.Errorf("cov %v, want %v", s.Cov, want)
			break
		}
	}
	for _, bad := range []struct {
		v []float32
		d int
	}{{[]float32{1, 2, 3}, 2}, {[]float32{1, 2}, 2}, {[]float32{1, float32(math.NaN()), 3, 4}, 2}} {
		if _, err := NewFeatureStats(bad.v, bad.d); err == nil {
			t.Errorf("NewFeatureStats(%v, %d) gave no error", bad.v, bad.d)
		}
	}
	if _, err := FrechetDistance(stats([]float64{0}, []float64{1}), stats([]float64{0, 0}, []float64{1, 0, 0, 1})); err == nil {
		t.Error("sizes 1 and 2 gave no error")
	}
}
