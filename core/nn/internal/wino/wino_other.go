//go:build !amd64 || purego

package wino

// AVX is false: this build has no assembly kernels (the pure-Go build, or
// not amd64), and core/nn runs its Go loops.
var AVX = false

// InAVX is not available in this build.
func InAVX(*float32, int, int, *float32, int, int) {
	panic("winograd: no assembly kernels")
}

// OutAVX is not available in this build.
func OutAVX(*float32, int, *float32, int, int, float32) {
	panic("winograd: no assembly kernels")
}

// Deinterleave is not available in this build.
func Deinterleave(*float32, int, *float32, *float32, int, int, int) {
	panic("winograd: no assembly kernels")
}

// Interleave is not available in this build.
func Interleave(*float32, *float32, int, *float32, int, int, int) {
	panic("winograd: no assembly kernels")
}

// GradOutAVX is not available in this build.
func GradOutAVX(*float32, int, *float32, int, int) {
	panic("winograd: no assembly kernels")
}
