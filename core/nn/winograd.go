package nn

// Winograd F(2×2, 3×3) for the 3×3, stride-1 convolutions that make up
// almost all of the energy net's FLOPs (Lavin & Gray, "Fast Algorithms for
// Convolutional Neural Networks", 2016).
//
// Each 2×2 block of output pixels ("tile") is computed from the 4×4 block of
// input around it as Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A: 16 multiplications per input
// channel instead of 36 for the direct form, a 2.25× cut. Summed over input
// channels, the 16 element-wise products become 16 independent GEMMs
//
//	M[ξ] (O × T) = U[ξ] (O × C) · V[ξ] (C × T),  ξ = 0…15,
//
// with U the transformed kernels and V the transformed input tiles. The
// tiles of several images go into one V, so that T (the GEMMs' N) is a few
// hundred even at 14×14 (49 tiles per image). The transforms are a handful
// of additions per element, done in Go; the GEMMs go through the BLAS hook.
//
// F(2×2, 3×3) only uses the points 0, ±1 and ∞: its transforms are exact
// up to a factor ½ in G, so float32 keeps the accuracy of the direct form
// (F(4×4, 3×3) would cut the multiplications by 4× but loses 1–2 digits).
//
// Work is split as in convForward: each core takes a contiguous range of
// images and runs the input transform, the 16 GEMMs and the output
// transform (with bias and the fused activation) on its own buffers, so no
// BLAS threads are needed.

// Winograd enables the Winograd path for 3×3, stride-1, padding-1
// convolutions (forward and input gradient). It is a switch for A/B
// benchmarks and tests; set it only while no op runs.
var Winograd = true

// winoTileTarget is roughly how many tiles each worker puts through one set
// of 16 GEMMs: whole images are batched up to it. With 64 channels V and M
// then take 16·64·T·4 B ≈ 0.4 MB each at T = 100…200 and stay in L2.
var winoTileTarget = 196

// winoMinC is the fewest input channels for which Winograd pays. Its
// transforms cost about as much per channel as its GEMMs save (they are
// scalar Go), so with few input channels — the first 3→64 conv of the
// energy net — the output transform over O channels outweighs the saving:
// 4× slower than im2col at C = 3. Few output channels are fine (64→3, the
// first conv's input gradient, is 1.6× faster).
var winoMinC = 16

// useWinograd reports whether the Winograd path handles g.
func useWinograd(g convGeom) bool {
	return Winograd && g.KH == 3 && g.KW == 3 && g.S == 1 && g.P == 1 && g.C >= winoMinC
}

// winoGeom is the tiling of one convolution: th×tw tiles per image cover
// the Ho×Wo output (the last row or column of tiles overhangs it when Ho or
// Wo is odd), and each image plane is read through a zero-padded copy of
// hp×wp that covers every tile's 4×4 input.
type winoGeom struct {
	th, tw, hp, wp int
	chunk          int // images per set of GEMMs
}

func newWinoGeom(g convGeom) winoGeom {
	th, tw := (g.Ho+1)/2, (g.Wo+1)/2
	return winoGeom{th: th, tw: tw, hp: 2*th + 2, wp: 2*tw + 2, chunk: max(1, min(g.N, winoTileTarget/(th*tw)))}
}

func (wg winoGeom) tiles() int { return wg.th * wg.tw }

// convWinograd is convForward for a 3×3 kernel at stride 1: y = w ⋆ x + b,
// then post per image. Scratch slots: 0 the transformed kernels U, then per
// worker k the transformed inputs V, the products M and the padded plane.
func convWinograd[T float](g convGeom, x, w, b, y []T, s *scratch[T], post func(off int, y []T)) {
	wg := newWinoGeom(g)
	maxT := wg.chunk * wg.tiles()
	workers := numWorkers(g.N)
	s.buf(0, 16*g.O*g.C)
	for k := 0; k < workers; k++ {
		s.buf(1+3*k, 16*g.C*maxT)
		s.buf(2+3*k, 16*g.O*maxT)
		s.buf(3+3*k, wg.hp*wg.wp)
	}
	u := s.buf(0, 16*g.O*g.C)
	forWorkers(g.O, func(_, lo, hi int) { winoKernels(g, w, u, lo, hi) })
	inSize, outSize := g.C*g.H*g.W, g.O*g.pix()
	forWorkers(g.N, func(k, lo, hi int) {
		v, m, pad := s.buf(1+3*k, 16*g.C*maxT), s.buf(2+3*k, 16*g.O*maxT), s.buf(3+3*k, wg.hp*wg.wp)
		clear(pad) // its border stays zero: only the interior is rewritten
		for i0 := lo; i0 < hi; i0 += wg.chunk {
			n := min(wg.chunk, hi-i0)
			nt := n * wg.tiles()
			for i := 0; i < n; i++ {
				winoInput(g, wg, x[(i0+i)*inSize:(i0+i+1)*inSize], pad, v[:16*g.C*nt], i*wg.tiles(), nt)
			}
			for xi := 0; xi < 16; xi++ {
				gemm(false, false, g.O, nt, g.C, 1, u[xi*g.O*g.C:(xi+1)*g.O*g.C], g.C,
					v[xi*g.C*nt:(xi+1)*g.C*nt], nt, 0, m[xi*g.O*nt:(xi+1)*g.O*nt], nt)
			}
			for i := 0; i < n; i++ {
				yi := y[(i0+i)*outSize : (i0+i+1)*outSize]
				winoOutput(g, wg, m[:16*g.O*nt], b, yi, i*wg.tiles(), nt)
				if post != nil {
					post((i0+i)*outSize, yi)
				}
			}
		}
	})
}

// winoKernels writes U[ξ][o][c] = (G w[o][c] Gᵀ)[ξ] for o in [lo, hi), with
//
//	G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1].
func winoKernels[T float](g convGeom, w, u []T, lo, hi int) {
	oc := g.O * g.C
	for o := lo; o < hi; o++ {
		for c := 0; c < g.C; c++ {
			k := w[(o*g.C+c)*9 : (o*g.C+c)*9+9]
			// Rows: t = G k (4×3).
			var t [4][3]T
			for j := 0; j < 3; j++ {
				k0, k1, k2 := k[j], k[3+j], k[6+j]
				t[0][j] = k0
				t[1][j] = (k0 + k1 + k2) / 2
				t[2][j] = (k0 - k1 + k2) / 2
				t[3][j] = k2
			}
			// Columns: t Gᵀ (4×4).
			at := o*g.C + c
			for r := 0; r < 4; r++ {
				k0, k1, k2 := t[r][0], t[r][1], t[r][2]
				u[(4*r+0)*oc+at] = k0
				u[(4*r+1)*oc+at] = (k0 + k1 + k2) / 2
				u[(4*r+2)*oc+at] = (k0 - k1 + k2) / 2
				u[(4*r+3)*oc+at] = k2
			}
		}
	}
}

// winoInput writes the transformed tiles Bᵀ d B of one image into columns
// [t0, t0+tiles) of V (16 × C × nt), with
//
//	Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1].
//
// Each channel plane is first copied into the interior of pad, whose zero
// border stands for the padding and for the overhang of odd sizes, so every
// tile is read without tests. Along a row of tiles, the column sums Bᵀd of
// a tile's right half are its right neighbour's left half, so each tile
// loads and combines two new columns. The loops are written for Go's bounds
// check elimination (every store slice is cut to the row's length): the
// transforms are scalar Go and cost about as much as the GEMMs.
func winoInput[T float](g convGeom, wg winoGeom, img, pad, v []T, t0, nt int) {
	wp, tw := wg.wp, wg.tw
	cs := g.C * nt // stride between the 16 matrices of V
	for c := 0; c < g.C; c++ {
		plane := img[c*g.H*g.W : (c+1)*g.H*g.W]
		// Input row ih lands on pad row ih+P (the tiles start at −P).
		for ih := 0; ih < g.H; ih++ {
			copy(pad[(ih+g.P)*wp+g.P:], plane[ih*g.W:(ih+1)*g.W])
		}
		for ti := 0; ti < wg.th; ti++ {
			r0 := pad[2*ti*wp : 2*ti*wp+wp]
			r1 := pad[(2*ti+1)*wp : (2*ti+1)*wp+wp]
			r2 := pad[(2*ti+2)*wp : (2*ti+2)*wp+wp]
			r3 := pad[(2*ti+3)*wp : (2*ti+3)*wp+wp]
			at := c*nt + t0 + ti*tw
			v0 := v[at : at+tw]
			v1, v2, v3 := v[at+cs:][:len(v0)], v[at+2*cs:][:len(v0)], v[at+3*cs:][:len(v0)]
			v4, v5, v6, v7 := v[at+4*cs:][:len(v0)], v[at+5*cs:][:len(v0)], v[at+6*cs:][:len(v0)], v[at+7*cs:][:len(v0)]
			v8, v9, v10, v11 := v[at+8*cs:][:len(v0)], v[at+9*cs:][:len(v0)], v[at+10*cs:][:len(v0)], v[at+11*cs:][:len(v0)]
			v12, v13, v14, v15 := v[at+12*cs:][:len(v0)], v[at+13*cs:][:len(v0)], v[at+14*cs:][:len(v0)], v[at+15*cs:][:len(v0)]
			// Bᵀ d of columns 0 and 1.
			a0, b0, c0, d0 := r0[0]-r2[0], r1[0]+r2[0], r2[0]-r1[0], r1[0]-r3[0]
			a1, b1, c1, d1 := r0[1]-r2[1], r1[1]+r2[1], r2[1]-r1[1], r1[1]-r3[1]
			for tj := range v0 {
				j := 2*tj + 2
				p0, p1, p2, p3 := (*[2]T)(r0[j:j+2]), (*[2]T)(r1[j:j+2]), (*[2]T)(r2[j:j+2]), (*[2]T)(r3[j:j+2])
				a2, b2, c2, d2 := p0[0]-p2[0], p1[0]+p2[0], p2[0]-p1[0], p1[0]-p3[0]
				a3, b3, c3, d3 := p0[1]-p2[1], p1[1]+p2[1], p2[1]-p1[1], p1[1]-p3[1]
				// (Bᵀ d) B: the same combinations across the columns.
				v0[tj], v1[tj], v2[tj], v3[tj] = a0-a2, a1+a2, a2-a1, a1-a3
				v4[tj], v5[tj], v6[tj], v7[tj] = b0-b2, b1+b2, b2-b1, b1-b3
				v8[tj], v9[tj], v10[tj], v11[tj] = c0-c2, c1+c2, c2-c1, c1-c3
				v12[tj], v13[tj], v14[tj], v15[tj] = d0-d2, d1+d2, d2-d1, d1-d3
				a0, b0, c0, d0, a1, b1, c1, d1 = a2, b2, c2, d2, a3, b3, c3, d3
			}
		}
	}
}

// winoOutput turns columns [t0, t0+tiles) of M (16 × O × nt) into one output
// image y (O × Ho × Wo), adding b when it is not nil, with
//
//	Aᵀ = [1 1 1 0; 0 1 −1 −1].
//
// Tiles that overhang an odd Ho or Wo drop their last row or column.
func winoOutput[T float](g convGeom, wg winoGeom, m, b, y []T, t0, nt int) {
	ms, tw := g.O*nt, wg.tw
	for o := 0; o < g.O; o++ {
		var bo T
		if b != nil {
			bo = b[o]
		}
		plane := y[o*g.Ho*g.Wo : (o+1)*g.Ho*g.Wo]
		for ti := 0; ti < wg.th; ti++ {
			at := o*nt + t0 + ti*tw
			m0 := m[at : at+tw]
			m1, m2, m3 := m[at+ms:][:len(m0)], m[at+2*ms:][:len(m0)], m[at+3*ms:][:len(m0)]
			m4, m5, m6, m7 := m[at+4*ms:][:len(m0)], m[at+5*ms:][:len(m0)], m[at+6*ms:][:len(m0)], m[at+7*ms:][:len(m0)]
			m8, m9, m10, m11 := m[at+8*ms:][:len(m0)], m[at+9*ms:][:len(m0)], m[at+10*ms:][:len(m0)], m[at+11*ms:][:len(m0)]
			m12, m13, m14, m15 := m[at+12*ms:][:len(m0)], m[at+13*ms:][:len(m0)], m[at+14*ms:][:len(m0)], m[at+15*ms:][:len(m0)]
			oh := 2 * ti
			row0 := plane[oh*g.Wo : (oh+1)*g.Wo]
			if oh+1 < g.Ho && g.Wo == 2*tw {
				// Whole tiles.
				row1 := plane[(oh+1)*g.Wo : (oh+2)*g.Wo]
				for tj := range m0 {
					// Aᵀ m: rows; then (Aᵀ m) A: columns.
					s0, s1, s2, s3 := m0[tj]+m4[tj]+m8[tj], m1[tj]+m5[tj]+m9[tj], m2[tj]+m6[tj]+m10[tj], m3[tj]+m7[tj]+m11[tj]
					q0, q1, q2, q3 := m4[tj]-m8[tj]-m12[tj], m5[tj]-m9[tj]-m13[tj], m6[tj]-m10[tj]-m14[tj], m7[tj]-m11[tj]-m15[tj]
					o0, o1 := (*[2]T)(row0[2*tj:2*tj+2]), (*[2]T)(row1[2*tj:2*tj+2])
					o0[0], o0[1] = s0+s1+s2+bo, s1-s2-s3+bo
					o1[0], o1[1] = q0+q1+q2+bo, q1-q2-q3+bo
				}
				continue
			}
			for tj := range m0 {
				s0, s1, s2, s3 := m0[tj]+m4[tj]+m8[tj], m1[tj]+m5[tj]+m9[tj], m2[tj]+m6[tj]+m10[tj], m3[tj]+m7[tj]+m11[tj]
				q0, q1, q2, q3 := m4[tj]-m8[tj]-m12[tj], m5[tj]-m9[tj]-m13[tj], m6[tj]-m10[tj]-m14[tj], m7[tj]-m11[tj]-m15[tj]
				ow := 2 * tj
				row0[ow] = s0 + s1 + s2 + bo
				if oh+1 < g.Ho {
					plane[(oh+1)*g.Wo+ow] = q0 + q1 + q2 + bo
				}
				if ow+1 < g.Wo {
					row0[ow+1] = s1 - s2 - s3 + bo
					if oh+1 < g.Ho {
						plane[(oh+1)*g.Wo+ow+1] = q1 - q2 - q3 + bo
					}
				}
			}
		}
	}
}
