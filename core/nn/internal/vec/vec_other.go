//go:build !amd64 || purego

package vec

// AVX2FMA is false: this build has no assembly kernels (the pure-Go build,
// or not amd64), and core/nn runs its Go loops.
var AVX2FMA = false

// Swish is not available in this build.
func Swish(x, pre, sig, y *float32, n int, scale float32) {
	panic("vec: no assembly kernels")
}

// SwishGrad is not available in this build.
func SwishGrad(gy, pre, sig, dz *float32, n int, scale float32) {
	panic("vec: no assembly kernels")
}

// AdamConsts are the constants of one Adam step (unused in this build).
type AdamConsts struct {
	WeightDecay, ClipStd, Beta1, OneMinusBeta1, Beta2, OneMinusBeta2 [4]float64
	C1, C2, C2Prev, LR, Eps                                          [4]float64
	Clip                                                             int64
}

// Adam is not available in this build.
func Adam(w, grad, m, v *float32, n int, k *AdamConsts) {
	panic("vec: no assembly kernels")
}
