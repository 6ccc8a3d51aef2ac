//go:build amd64 && !purego

package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

// inputs returns n values: normal ones of several scales, the saturating
// ends (±100, ±88.8, ±87.4, the clamp bounds), zeros and tiny values.
func inputs(rng *rand.Rand, n int) []float32 {
	special := []float32{0, float32(math.Copysign(0, -1)), 100, -100, 88.8, -88.8, 87.4, -87.4,
		88.72283, -88.72283, 87.33654, -87.33654, 88.72284, -88.72284, 1e-30, -1e-30, 30, -30, 1, -1}
	x := make([]float32, n)
	for i := range x {
		switch i % 4 {
		case 0:
			x[i] = special[rng.IntN(len(special))]
		case 1:
			x[i] = float32(rng.NormFloat64())
		case 2:
			x[i] = float32(10 * rng.NormFloat64())
		default:
			x[i] = float32(200*rng.Float64() - 100)
		}
	}
	return x
}

// close32 reports whether got is within rel of want, up to an absolute
// 2e-36: σ(z) for z near −88 is subnormal in float32, and below −88.72283
// nn.exp32 (so the kernel) saturates to +Inf, giving σ = 0 and y = −0 where
// the exact values are below 3e-39 and 3e-37.
func close32(got float32, want, rel float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(float64(got))
	}
	return math.Abs(float64(got)-want) <= rel*math.Abs(want)+2e-36
}

const guard = 12345

// Swish against float64 math for every length 0…40 and some longer ones,
// with and without pre, in place and not, and nothing written past n.
func TestSwishAgainstFloat64(t *testing.T) {
	if !AVX2FMA {
		t.Skip("no AVX2+FMA")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	lengths := []int{1000, 1001, 4099}
	for n := 0; n <= 40; n++ {
		lengths = append(lengths, n)
	}
	for _, n := range lengths {
		for _, scale := range []float32{1, 1 / 1.1} {
			for mode := 0; mode < 3; mode++ { // 0: pre, 1: no pre, 2: in place
				x := append(inputs(rng, n), guard, guard, guard, guard, guard, guard, guard, guard)
				x0 := append([]float32(nil), x...)
				pre, sig, y := fill(n+8, guard), fill(n+8, guard), fill(n+8, guard)
				var pp *float32
				if mode == 0 {
					pp = &pre[0]
				}
				if mode == 2 {
					y = x
				}
				Swish(&x[0], pp, &sig[0], &y[0], n, scale)
				for i := 0; i < n; i++ {
					z := float64(x0[i])
					s := 1 / (1 + math.Exp(-z))
					if !close32(sig[i], s, 1e-6) || !close32(y[i], float64(scale)*z*s, 1e-6) {
						t.Fatalf("n %d mode %d: z %v: σ %v y %v, want %v %v", n, mode, z, sig[i], y[i], s, float64(scale)*z*s)
					}
					if mode == 0 && pre[i] != x0[i] {
						t.Fatalf("n %d: pre[%d] = %v, want %v", n, i, pre[i], x0[i])
					}
				}
				for i := n; i < n+8; i++ {
					if sig[i] != guard || y[i] != guard || pre[i] != guard {
						t.Fatalf("n %d mode %d: wrote past the end at %d", n, mode, i)
					}
				}
			}
		}
	}
}

// Saturation: exactly 0 and z·scale at the far ends, NaN propagates.
func TestSwishEnds(t *testing.T) {
	if !AVX2FMA {
		t.Skip("no AVX2+FMA")
	}
	x := []float32{-100, 100, -89, 89, 0, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), -100}
	sig, y := make([]float32, len(x)), make([]float32, len(x))
	Swish(&x[0], nil, &sig[0], &y[0], len(x), 0.5)
	want := []float32{0, 1, 0, 1, 0.5}
	for i, w := range want {
		if sig[i] != w {
			t.Errorf("σ(%v) = %v, want %v", x[i], sig[i], w)
		}
	}
	if y[0] != 0 || y[1] != 50 || y[4] != 0 {
		t.Errorf("y = %v", y)
	}
	if !math.IsNaN(float64(sig[5])) || !math.IsNaN(float64(y[5])) {
		t.Errorf("NaN in: σ %v y %v", sig[5], y[5])
	}
	if sig[6] != 1 || !math.IsInf(float64(y[6]), 1) || sig[7] != 0 || sig[8] != 0 {
		t.Errorf("±Inf in: σ %v %v, y %v %v", sig[6], sig[7], y[6], y[7])
	}
}

// SwishGrad in the Go loop's order of operations gives the same bits.
func TestSwishGradSameBits(t *testing.T) {
	if !AVX2FMA {
		t.Skip("no AVX2+FMA")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 0; n <= 70; n++ {
		scale := float32(1 / 1.1)
		g, pre := inputs(rng, n+8), inputs(rng, n+8)
		sig := make([]float32, n+8)
		for i := range sig {
			sig[i] = float32(1 / (1 + math.Exp(-float64(pre[i]))))
		}
		dz := fill(n+8, guard)
		SwishGrad(&g[0], &pre[0], &sig[0], &dz[0], n, scale)
		for i := 0; i < n+8; i++ {
			s := sig[i]
			want := g[i] * scale * (s + pre[i]*s*(1-s))
			if i >= n {
				want = guard
			}
			if math.Float32bits(dz[i]) != math.Float32bits(want) {
				t.Fatalf("n %d: dz[%d] = %v, want %v", n, i, dz[i], want)
			}
		}
	}
}

func fill(n int, v float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = v
	}
	return s
}
