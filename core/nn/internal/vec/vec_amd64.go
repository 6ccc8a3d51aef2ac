//go:build amd64 && !purego

package vec

import "golang.org/x/sys/cpu"

// AVX2FMA reports whether the kernels in vec_amd64.s can run here: the CPU
// has AVX2 and FMA, and the OS saves the 256-bit registers (x/sys/cpu's
// flags include that check).
var AVX2FMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// Swish is nn.swishInto for float32 with the exp of nn.exp32 (the same
// reduction and polynomial, evaluated with FMA), 8 elements at a time and
// a masked tail: for i < n, with z = x[i] and s = 1/(1 + e^−z),
// sig[i] = s, y[i] = (scale·z)·s, and pre[i] = z when pre is not nil.
// x and y may be the same buffer.
//
//go:noescape
func Swish(x, pre, sig, y *float32, n int, scale float32)

// SwishGrad is nn.swishGradFrom for float32: for i < n,
// dz[i] = (gy[i]·scale)·(s + (pre[i]·s)·(1 − s)) with s = sig[i], in the
// same order of operations as the Go loop (so the same rounding).
//
//go:noescape
func SwishGrad(gy, pre, sig, dz *float32, n int, scale float32)

// AdamConsts are the constants of one Adam step, each in four float64
// lanes for the kernel's memory operands (see nn.Adam.update).
type AdamConsts struct {
	WeightDecay, ClipStd, Beta1, OneMinusBeta1, Beta2, OneMinusBeta2 [4]float64
	C1, C2, C2Prev, LR, Eps                                          [4]float64
	// Clip is 1 when gradients are clipped to ±ClipStd·sqrt(v/C2Prev).
	Clip int64
}

// Adam is nn.Adam.update for n elements (w, grad, m and v), n a multiple of 4: the same float64
// arithmetic in the same order, four elements at a time (AVX, no FMA), so
// the same rounding. Clipping takes min(lim, g) then max(−lim, ·) as
// math.Min and math.Max do, except that a NaN lim (a NaN second moment)
// leaves g unclipped.
//
//go:noescape
func Adam(w, grad, m, v *float32, n int, k *AdamConsts)
