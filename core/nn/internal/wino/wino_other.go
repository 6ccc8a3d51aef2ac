//go:build !amd64 || purego

package wino

// AVX is false: this build has no assembly kernels (the pure-Go build, or
// not amd64), and core/nn runs its Go loops.
var AVX = false

// InAVX is not available in this build.
func InAVX(*float32, int, int, *float32, int, int) {
	panic("winograd: no AVX kernels")
}

// OutAVX is not available in this build.
func OutAVX(*float32, int, *float32, int, int, float32) {
	panic("winograd: no AVX kernels")
}
