package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vaebm/vaebm/core/nn/internal/vec"
)

// withSIMD runs f with the assembly kernels on or off.
func withSIMD(on bool, f func()) {
	defer func(old bool) { SIMD = old }(SIMD)
	SIMD = on
	f()
}

// swishInputs: normal values of several scales, uniform on [−100, 100],
// the clamp bounds of exp32 and their neighbours, zeros.
func swishInputs(rng *rand.Rand, n int) []float32 {
	special := []float32{0, float32(math.Copysign(0, -1)), 100, -100, 88.72283, -88.72283, 87.33654,
		-87.33654, 88.72284, -88.72284, 87.4, -87.4, 1e-30, -1e-30, 20, -20}
	x := make([]float32, n)
	for i := range x {
		switch i % 4 {
		case 0:
			x[i] = special[rng.IntN(len(special))]
		case 1:
			x[i] = float32(rng.NormFloat64())
		case 2:
			x[i] = float32(8 * rng.NormFloat64())
		default:
			x[i] = float32(200*rng.Float64() - 100)
		}
	}
	return x
}

// relErr is |a − b| / |b|, counting differences below 1e-36 as 0: for
// z < −87.3, σ(z) < 1.2e-38 is subnormal in float32, and below −88.72283
// exp32 saturates to +Inf, so σ = 0 and y = −0 where the exact values are
// below 3e-39 and 3e-37 (the Go loop does the same).
func relErr(a, b float64) float64 {
	d := math.Abs(a - b)
	if d < 1e-36 {
		return 0
	}
	return d / math.Abs(b)
}

// The AVX2 Swish against the Go loop (exp32) and against float64 math, for
// lengths that are and are not multiples of 8, with and without pre, in
// place and not.
func TestSwishSIMDMatchesGo(t *testing.T) {
	if !vec.AVX2FMA {
		t.Skip("no AVX2+FMA kernels in this build or on this CPU")
	}
	rng := rand.New(rand.NewPCG(7, 7))
	var worstGo, worst64, worstGo64 float64
	for _, n := range []int{1, 3, 7, 8, 9, 15, 16, 17, 31, 100, 1023, 4096, 20001} {
		for _, scale := range []float32{1, 1 / 1.1} {
			for _, inPlace := range []bool{false, true} {
				x := swishInputs(rng, n)
				var pre, sig, y, preG, sigG, yG []float32
				run := func(simd bool, pre, sig, y *[]float32) {
					*pre, *sig = make([]float32, n), make([]float32, n)
					in := append([]float32(nil), x...)
					*y = make([]float32, n)
					if inPlace {
						*y = in
						*pre = nil
					}
					withSIMD(simd, func() { swishInto(scale, in, *pre, *sig, *y, exp32) })
				}
				run(true, &pre, &sig, &y)
				run(false, &preG, &sigG, &yG)
				for i, z := range x {
					if !inPlace && pre[i] != z {
						t.Fatalf("pre[%d] = %v, want %v", i, pre[i], z)
					}
					s64 := 1 / (1 + math.Exp(-float64(z)))
					y64 := float64(scale) * float64(z) * s64
					for _, e := range []struct{ got, goRef, exact float64 }{
						{float64(sig[i]), float64(sigG[i]), s64}, {float64(y[i]), float64(yG[i]), y64},
					} {
						worstGo = max(worstGo, relErr(e.got, e.goRef))
						worst64 = max(worst64, relErr(e.got, e.exact))
						worstGo64 = max(worstGo64, relErr(e.goRef, e.exact))
					}
				}
			}
		}
	}
	t.Logf("worst relative error of σ and y: SIMD vs Go loop %.3g, SIMD vs float64 %.3g (Go loop vs float64 %.3g)", worstGo, worst64, worstGo64)
	if worstGo > 1e-6 || worst64 > 1e-6 {
		t.Fatalf("SIMD Swish off by %.3g from the Go loop, %.3g from float64", worstGo, worst64)
	}
}

// The AVX2 gradient gives the Go loop's bits.
func TestSwishGradSIMDMatchesGo(t *testing.T) {
	if !vec.AVX2FMA {
		t.Skip("no AVX2+FMA kernels in this build or on this CPU")
	}
	rng := rand.New(rand.NewPCG(8, 8))
	for _, n := range []int{1, 5, 8, 13, 64, 1001, 1 << 15, 1<<15 + 3} {
		g, pre := swishInputs(rng, n), swishInputs(rng, n)
		sig := make([]float32, n)
		for i, z := range pre {
			sig[i] = 1 / (1 + exp32(-z))
		}
		dz, dzG := make([]float32, n), make([]float32, n)
		withSIMD(true, func() {
			if err := swishGradFrom(1/1.1, g, pre, sig, dz); err != nil {
				t.Fatal(err)
			}
		})
		withSIMD(false, func() {
			if err := swishGradFrom(1/1.1, g, pre, sig, dzG); err != nil {
				t.Fatal(err)
			}
		})
		for i := range dz {
			if math.Float32bits(dz[i]) != math.Float32bits(dzG[i]) {
				t.Fatalf("n %d: dz[%d] = %v, Go loop %v", n, i, dz[i], dzG[i])
			}
		}
	}
}
