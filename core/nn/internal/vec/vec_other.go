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
