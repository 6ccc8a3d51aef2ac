//go:build amd64 && !purego

package wino

import "golang.org/x/sys/cpu"

// AVX reports whether the kernels in wino_amd64.s can run here (the AVX
// ones need it; Deinterleave and Interleave are SSE, which every amd64
// has): the CPU has AVX and the OS saves the 256-bit registers.
var AVX = cpu.X86.HasAVX

// InAVX is nn.winoInTiles for float32, 8 tiles at a time: for L in
// [0, n8), v[ξ·vs + L] = (Bᵀ d_L B)[ξ] with d_L read from the parity
// planes p (4 × ps, row length gw).
//
//go:noescape
func InAVX(p *float32, ps, gw int, v *float32, vs, n int)

// OutAVX is nn.winoOutTiles for float32, 8 tiles at a time: for L in
// [0, n8), y[k·ys + L] = (Aᵀ m_L A)[k] + b, with m_L[ξ] = m[ξ·ms + L].
//
//go:noescape
func OutAVX(m *float32, ms int, y *float32, ys, n int, b float32)

// Deinterleave splits rows of src by column parity: for r < rows,
// a[r·ds + k] = src[r·ss + 2k] and b[r·ds + k] = src[r·ss + 2k + 1] over
// the row's w elements.
//
//go:noescape
func Deinterleave(src *float32, ss int, a, b *float32, ds, rows, w int)

// Interleave is Deinterleave's inverse: for r < rows,
// dst[r·ds + 2k] = a[r·ss + k] and dst[r·ds + 2k + 1] = b[r·ss + k] over
// the row's w elements.
//
//go:noescape
func Interleave(a, b *float32, ss int, dst *float32, ds, rows, w int)

// GradOutAVX is the adjoint of OutAVX without the bias, for the weight
// gradient: for L in [0, n8), m[ξ·ms + L] = (A dy_L Aᵀ)[ξ] with dy_L read
// from the output parity planes y (4 × ys).
//
//go:noescape
func GradOutAVX(y *float32, ys int, m *float32, ms int, n int)
