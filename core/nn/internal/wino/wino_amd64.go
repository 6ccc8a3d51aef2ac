//go:build amd64 && !purego

package wino

// AVX reports whether the kernels in wino_amd64.s can run here.
var AVX = cpuHasAVX()

// cpuHasAVX reports whether the CPU and the OS support AVX (256-bit
// registers saved by XSAVE).
func cpuHasAVX() bool

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
