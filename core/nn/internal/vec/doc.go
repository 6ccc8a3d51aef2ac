// Package vec holds AVX2+FMA kernels for core/nn's element-wise float32
// loops (Swish and its gradient, Adam's update). Like internal/wino, it lives apart
// because core/nn uses cgo, and a cgo package cannot hold Go assembly.
// The kernels work on raw pointers and trust their callers to have checked
// the buffers' lengths; core/nn keeps its Go loops as the reference and the
// fallback (float64, -tags purego, other architectures, CPUs without AVX2
// or FMA).
package vec
