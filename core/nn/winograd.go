package nn

import "github.com/vaebm/vaebm/core/nn/internal/wino"

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
// tiles of several images go into one V, so that T (the GEMMs' N) is over
// a hundred even at 14×14 (56 grid tiles per image, see below). The GEMMs
// go through the BLAS hook. The input gradient is such a convolution too
// (convGradInput), and the weight gradient runs the same transforms
// backwards (convGradWeightWinograd).
//
// The transforms are a handful of additions per element, but in scalar Go
// they cost as much as the GEMMs save (3–4× the time of im2col's copies),
// so they are laid out to be element-wise over tiles and run as AVX kernels
// for float32 (internal/wino; Go loops otherwise). Each image is split
// into four planes by row and column parity, Pab[i][j] = x̃(2i+a, 2j+b)
// with x̃ the zero-padded input, on a grid of th+1 rows of gw = tw+1
// columns. Tile (i, j) then reads element d[r][c] of its 4×4 input at
// P(r%2)(c%2)[L + (r/2)·gw + c/2], L = i·gw + j: sixteen contiguous views,
// so a kernel transforms 8 tiles per instruction. The grid has one dummy
// tile per row of tiles (j = tw). Where the GEMMs dominate (many channels
// in and out: winoRowsMin), the kernels run row of tiles by row, so that V
// and M hold the th·tw real tiles alone and the GEMMs do not carry the
// dummies (7% more columns at 28×28, 14% at 14×14); a row's last 8 lanes
// may spill into the next row's first columns, which the next call
// overwrites. Elsewhere the calls per row cost more than the columns they
// save, and one call runs over the whole grid, dummies included. The
// output transform writes four planes by output parity likewise, which
// are then interleaved into y.
//
// F(2×2, 3×3) only uses the points 0, ±1 and ∞: its transforms add,
// subtract and halve, so float32 results stay close to the direct form's
// (the tests hold them to 1e-4 relative of a float64 reference). F(4×4,
// 3×3) would cut the multiplications by 4× but its points ±2, ±½ amplify
// rounding errors.
//
// Work is split as in convIm2col: each core takes a contiguous range of
// images and runs the input transform, the 16 GEMMs and the output
// transform (with bias and the fused activation) on its own buffers, so no
// BLAS threads are needed.

// useAsm: the float32 transforms run as assembly kernels (AVX, and SSE for
// the parity split). Tests turn it off to check the Go loops.
var useAsm = wino.AVX

// Winograd enables the Winograd path for 3×3, stride-1, padding-1
// convolutions (forward, input and weight gradients). It is a switch for A/B
// benchmarks and tests; set it only while no op runs.
var Winograd = true

// winoTileTarget is roughly how many tiles each worker puts through one set
// of 16 GEMMs: whole images are batched up to it (at least one). Smaller
// chunks keep V and M in L2 (16·C·T·4 B each: 0.9 MB for one 28×28 image
// at 64 channels); 112 (two 14×14 images, one 28×28) was best or tied
// against 56, 196, 300 and 420 on the energy net's convs, up to 25% at
// 64→128 on 14×14.
var winoTileTarget = 112

// winoMinC is the fewest input channels for which Winograd pays: with few
// input channels — the energy net's first conv, 3→64 — the GEMMs are tiny
// and the output transform over O channels costs more than they save.
// Few output channels are fine (64→3, that conv's input gradient).
var winoMinC = 16

// useWinograd reports whether the Winograd path handles g.
func useWinograd(g convGeom) bool {
	return Winograd && g.KH == 3 && g.KW == 3 && g.S == 1 && g.P == 1 && g.C >= winoMinC
}

// winoGeom is the tiling of one convolution (P = 1): th×tw tiles per image
// cover the Ho×Wo output (the last row or column of tiles overhangs it when
// Ho or Wo is odd), laid out in the parity planes on a grid of th rows of
// gw = tw+1 columns, n grid tiles per image. The kernels run over runs
// stretches of run tiles each: stretch r starts at grid tile r·gw and
// fills the columns from r·run on of V and M, nt = runs·run columns per
// image. The stretches are the th rows of tw tiles, or the whole grid. ps is the size of one input
// parity plane and ys of one output parity plane, each with room for the
// kernels' reads and writes past the last stretch; ld is the row length
// of V and M: a chunk's tiles plus room for the kernels' writes past them.
type winoGeom struct {
	th, tw, gw, n int
	runs, run, nt int
	ps, ys, ld    int
	chunk         int // images per set of GEMMs
}

// winoRowsMin is the least C·O for which the kernels run row of tiles by
// row (see above), on outputs of at least 13 columns (rows of 7 tiles or
// more). BenchmarkWinogradRows, forward and weight gradient (grid time
// over rows time): 1.10–1.16 at 64→128 and 1.17–1.19 at 128→128 on 14×14
// (batch 128), but 0.98–0.99 at 64→128 on 7×7; 1.00–1.04 at 64→64 on
// 28×28 and 7×7; 0.88–1.06 with 32 channels or fewer, and 0.95 at 64→3.
// The quick-scale experiments' convolutions and judges (at most 64→64 on
// 14×14, 64→128 on 7×7) stay on the grid, and so keep their bits.
var winoRowsMin = 64 * 128

func newWinoGeom(g convGeom) winoGeom {
	th, tw := (g.Ho+1)/2, (g.Wo+1)/2
	gw := tw + 1
	n := th * gw
	runs, run := 1, n
	if g.C*g.O >= winoRowsMin && tw >= 7 {
		runs, run = th, tw
	}
	chunk := max(1, min(g.N, winoTileTarget/n))
	return winoGeom{th: th, tw: tw, gw: gw, n: n, runs: runs, run: run, nt: runs * run,
		ps: (th+1)*gw + gw + 16, ys: (n + 15) &^ 7, ld: chunk*runs*run + 8, chunk: chunk}
}

// convWinograd is convForward for a 3×3 kernel at stride 1: y = w ⋆ x + b,
// then post per image. Scratch slots: 0 the transformed kernels U, then per
// worker k the transformed inputs V, the products M, and the input and
// output parity planes.
func convWinograd[T float](g convGeom, x, w, b, y []T, s *scratch[T], post func(off int, y []T)) {
	wg := newWinoGeom(g)
	workers := numWorkers(g.N)
	vn, mn, pn := 16*g.C*wg.ld, 16*g.O*wg.ld, 4*wg.ps+4*wg.ys
	s.buf(0, 16*g.O*g.C)
	for k := 0; k < workers; k++ {
		s.buf(1+3*k, vn)
		s.buf(2+3*k, mn)
		s.buf(3+3*k, pn)
	}
	u := s.buf(0, 16*g.O*g.C)
	forWorkers(g.O, func(_, lo, hi int) { winoKernels(g, w, u, lo, hi) })
	inSize, outSize := g.C*g.H*g.W, g.O*g.pix()
	forWorkers(g.N, func(k, lo, hi int) {
		v, m, planes := s.buf(1+3*k, vn), s.buf(2+3*k, mn), s.buf(3+3*k, pn)
		in, out := planes[:4*wg.ps], planes[4*wg.ps:]
		clear(in) // the padding stays zero: only the image is rewritten
		for i0 := lo; i0 < hi; i0 += wg.chunk {
			nimg := min(wg.chunk, hi-i0)
			nt := nimg * wg.nt
			for i := 0; i < nimg; i++ {
				winoInput(g, wg, x[(i0+i)*inSize:(i0+i+1)*inSize], in, v, i*wg.nt)
			}
			for xi := 0; xi < 16; xi++ {
				gemm(false, false, g.O, nt, g.C, 1, u[xi*g.O*g.C:(xi+1)*g.O*g.C], g.C,
					v[xi*g.C*wg.ld:(xi+1)*g.C*wg.ld], wg.ld, 0, m[xi*g.O*wg.ld:(xi+1)*g.O*wg.ld], wg.ld)
			}
			for i := 0; i < nimg; i++ {
				yi := y[(i0+i)*outSize : (i0+i+1)*outSize]
				winoOutput(g, wg, m, b, yi, out, i*wg.nt)
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
// [t0, t0+nt) of V (16 × C × ld), stretch after stretch, with
//
//	Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1],
//
// channel by channel through the parity planes in planes (4 × ps), whose
// entries outside the image are zero: the padding, the overhang of odd
// sizes and the dummy tiles. The kernel writes up to 7 columns past each
// stretch: into the next stretch's or image's (written after) or the
// row's spare 8.
func winoInput[T float](g convGeom, wg winoGeom, img, planes, v []T, t0 int) {
	gw, ps := wg.gw, wg.ps
	for c := 0; c < g.C; c++ {
		plane := img[c*g.H*g.W : (c+1)*g.H*g.W]
		// Input pixel (ih, iw) is padded pixel (ih+1, iw+1): even input
		// rows go to the odd planes' rows ih/2, odd ones to the even
		// planes' rows (ih+1)/2; even columns to the odd planes' columns
		// iw/2, odd ones to the even planes' columns iw/2 + 1.
		deinterleave(plane, 2*g.W, planes[3*ps:], planes[2*ps+1:], gw, (g.H+1)/2, g.W)
		if g.H > 1 {
			deinterleave(plane[g.W:], 2*g.W, planes[ps+gw:], planes[gw+1:], gw, g.H/2, g.W)
		}
		for r := 0; r < wg.runs; r++ {
			winoInTiles(planes[r*gw:], ps, gw, v[c*wg.ld+t0+r*wg.run:], g.C*wg.ld, wg.run)
		}
	}
}

// winoInTiles transforms tiles [0, n) of the parity planes p (4 × ps),
// which may start at a row of tiles, into v[ξ·vs + L], ξ = 0…15; the AVX
// kernel also reads and writes tiles up to n8.
func winoInTiles[T float](p []T, ps, gw int, v []T, vs, n int) {
	n8 := (n + 7) &^ 7
	if len(p) < 3*ps+n8+gw+1 || len(v) < 15*vs+n8 {
		panic("winograd: short input buffers")
	}
	if p32, ok := any(p).([]float32); ok && useAsm {
		wino.InAVX(&p32[0], ps, gw, &any(v).([]float32)[0], vs, n)
		return
	}
	p00, p01, p10, p11 := p[:ps], p[ps:2*ps], p[2*ps:3*ps], p[3*ps:4*ps]
	for L := 0; L < n; L++ {
		// Row r of the tile: r%2 picks the plane pair, r/2 shifts by gw.
		var d [4][4]T
		for r := 0; r < 4; r++ {
			e, o := p00, p01
			if r&1 == 1 {
				e, o = p10, p11
			}
			at := L + (r>>1)*gw
			d[r] = [4]T{e[at], o[at], e[at+1], o[at+1]}
		}
		for k, x := range [4][4]T{
			{d[0][0] - d[2][0], d[0][1] - d[2][1], d[0][2] - d[2][2], d[0][3] - d[2][3]},
			{d[1][0] + d[2][0], d[1][1] + d[2][1], d[1][2] + d[2][2], d[1][3] + d[2][3]},
			{d[2][0] - d[1][0], d[2][1] - d[1][1], d[2][2] - d[1][2], d[2][3] - d[1][3]},
			{d[1][0] - d[3][0], d[1][1] - d[3][1], d[1][2] - d[3][2], d[1][3] - d[3][3]},
		} {
			v[(4*k)*vs+L] = x[0] - x[2]
			v[(4*k+1)*vs+L] = x[1] + x[2]
			v[(4*k+2)*vs+L] = x[2] - x[1]
			v[(4*k+3)*vs+L] = x[1] - x[3]
		}
	}
}

// winoOutput turns columns [t0, t0+nt) of M (16 × O × ld) into one output
// image y (O × Ho × Wo), adding b when it is not nil, with
//
//	Aᵀ = [1 1 1 0; 0 1 −1 −1],
//
// channel by channel: winoOutTiles writes the four output parity planes
// (4 × ys) stretch by stretch, and the copy into y drops the outputs of
// dummy tiles (whatever the kernel wrote there) and of tiles that
// overhang an odd Ho or Wo.
func winoOutput[T float](g convGeom, wg winoGeom, m, b, y, planes []T, t0 int) {
	gw, ys := wg.gw, wg.ys
	for o := 0; o < g.O; o++ {
		var bo T
		if b != nil {
			bo = b[o]
		}
		for r := 0; r < wg.runs; r++ {
			winoOutTiles(m[o*wg.ld+t0+r*wg.run:], g.O*wg.ld, planes[r*gw:], ys, wg.run, bo)
		}
		plane := y[o*g.Ho*g.Wo : (o+1)*g.Ho*g.Wo]
		// Output row 2i + a, columns 2j and 2j+1, come from planes 2a and
		// 2a+1 at tile i·gw + j.
		interleave(planes, planes[ys:], gw, plane, 2*g.Wo, (g.Ho+1)/2, g.Wo)
		if g.Ho > 1 {
			interleave(planes[2*ys:], planes[3*ys:], gw, plane[g.Wo:], 2*g.Wo, g.Ho/2, g.Wo)
		}
	}
}

// deinterleave splits rows by column parity: for r < rows,
// a[r·ds + k] = src[r·ss + 2k] and b[r·ds + k] = src[r·ss + 2k + 1] over
// the row's w elements.
func deinterleave[T float](src []T, ss int, a, b []T, ds, rows, w int) {
	if rows == 0 || w == 0 {
		return
	}
	if len(src) < (rows-1)*ss+w || len(a) < (rows-1)*ds+(w+1)/2 || len(b) < (rows-1)*ds+w/2 {
		panic("winograd: short deinterleave buffers")
	}
	if s32, ok := any(src).([]float32); ok && useAsm {
		wino.Deinterleave(&s32[0], ss, &any(a).([]float32)[0], &any(b).([]float32)[0], ds, rows, w)
		return
	}
	for r := 0; r < rows; r++ {
		row, ar, br := src[r*ss:r*ss+w], a[r*ds:], b[r*ds:]
		for k := 0; 2*k < len(row); k++ {
			ar[k] = row[2*k]
			if 2*k+1 < len(row) {
				br[k] = row[2*k+1]
			}
		}
	}
}

// interleave is deinterleave's inverse: for r < rows,
// dst[r·ds + 2k] = a[r·ss + k] and dst[r·ds + 2k + 1] = b[r·ss + k] over
// the row's w elements.
func interleave[T float](a, b []T, ss int, dst []T, ds, rows, w int) {
	if rows == 0 || w == 0 {
		return
	}
	if len(dst) < (rows-1)*ds+w || len(a) < (rows-1)*ss+(w+1)/2 || len(b) < (rows-1)*ss+w/2 {
		panic("winograd: short interleave buffers")
	}
	if d32, ok := any(dst).([]float32); ok && useAsm {
		wino.Interleave(&any(a).([]float32)[0], &any(b).([]float32)[0], ss, &d32[0], ds, rows, w)
		return
	}
	for r := 0; r < rows; r++ {
		row, ar, br := dst[r*ds:r*ds+w], a[r*ss:], b[r*ss:]
		for k := 0; 2*k < len(row); k++ {
			row[2*k] = ar[k]
			if 2*k+1 < len(row) {
				row[2*k+1] = br[k]
			}
		}
	}
}

// winoOutTiles transforms tiles [0, n) of m[ξ·ms + L], ξ = 0…15, into the
// output parity planes y (4 × ys, which may start at a row of tiles), plus
// b; the AVX kernel also reads and writes tiles up to n8.
func winoOutTiles[T float](m []T, ms int, y []T, ys, n int, b T) {
	n8 := (n + 7) &^ 7
	if len(m) < 15*ms+n8 || ys < n8 || len(y) < 3*ys+n8 {
		panic("winograd: short output buffers")
	}
	if m32, ok := any(m).([]float32); ok && useAsm {
		wino.OutAVX(&m32[0], ms, &any(y).([]float32)[0], ys, n, float32(b))
		return
	}
	for L := 0; L < n; L++ {
		var s, d [4]T // columns of Aᵀ m
		for c := 0; c < 4; c++ {
			m0, m1, m2, m3 := m[c*ms+L], m[(4+c)*ms+L], m[(8+c)*ms+L], m[(12+c)*ms+L]
			s[c], d[c] = m0+m1+m2, m1-m2-m3
		}
		y[L] = s[0] + s[1] + s[2] + b
		y[ys+L] = s[1] - s[2] - s[3] + b
		y[2*ys+L] = d[0] + d[1] + d[2] + b
		y[3*ys+L] = d[1] - d[2] - d[3] + b
	}
}

// convGradWeightWinograd is convGradWeight for a 3×3 kernel at stride 1,
// through the same transforms: ∂L/∂U[ξ] = Σ_t ∂L/∂M[ξ] · V[ξ]ᵀ, 16 GEMMs of
// O × C summed over tiles, with ∂L/∂M the output gradient tiles taken
// through the adjoint of the output transform, A dy Aᵀ; then
// ∂L/∂w = Gᵀ (∂L/∂U) G. Each worker sums its images into its own ∂L/∂U;
// the workers' sums are added before the kernel transform. Scratch slots
// per worker k: V, ∂L/∂M, the input and output parity planes, ∂L/∂U.
func convGradWeightWinograd[T float](g convGeom, x, dy, dw []T, s *scratch[T]) {
	wg := newWinoGeom(g)
	workers := numWorkers(g.N)
	vn, mn, pn, un := 16*g.C*wg.ld, 16*g.O*wg.ld, 4*wg.ps+4*wg.ys, 16*g.O*g.C
	for k := 0; k < workers; k++ { // all slots exist before the workers start
		s.buf(4*k, vn)
		s.buf(4*k+1, mn)
		s.buf(4*k+2, pn)
		s.buf(4*k+3, un)
	}
	inSize, outSize := g.C*g.H*g.W, g.O*g.pix()
	forWorkers(g.N, func(k, lo, hi int) {
		v, m, planes, du := s.buf(4*k, vn), s.buf(4*k+1, mn), s.buf(4*k+2, pn), s.buf(4*k+3, un)
		in, out := planes[:4*wg.ps], planes[4*wg.ps:]
		clear(planes) // padding, overhang and dummy tiles stay zero
		clear(du)
		for i0 := lo; i0 < hi; i0 += wg.chunk {
			nimg := min(wg.chunk, hi-i0)
			nt := nimg * wg.nt
			for i := 0; i < nimg; i++ {
				winoInput(g, wg, x[(i0+i)*inSize:(i0+i+1)*inSize], in, v, i*wg.nt)
				winoGradOutput(g, wg, dy[(i0+i)*outSize:(i0+i+1)*outSize], out, m, i*wg.nt)
			}
			for xi := 0; xi < 16; xi++ {
				gemm(false, true, g.O, g.C, nt, 1, m[xi*g.O*wg.ld:(xi+1)*g.O*wg.ld], wg.ld,
					v[xi*g.C*wg.ld:(xi+1)*g.C*wg.ld], wg.ld, 1, du[xi*g.O*g.C:(xi+1)*g.O*g.C], g.C)
			}
		}
	})
	du := s.buf(3, un)
	for k := 1; k < workers; k++ {
		for j, d := range s.buf(4*k+3, un) {
			du[j] += d
		}
	}
	forWorkers(g.O, func(_, lo, hi int) { winoKernelsGrad(g, du, dw, lo, hi) })
}

// winoGradOutput writes A dy Aᵀ for the tiles of one output gradient image
// dy (O × Ho × Wo) into columns [t0, t0+nt) of ∂L/∂M (16 × O × ld),
// stretch by stretch, through the output parity planes (4 × ys), whose
// entries for dummy tiles and the overhang of odd sizes stay zero, so
// those tiles add nothing.
func winoGradOutput[T float](g convGeom, wg winoGeom, dy, planes, m []T, t0 int) {
	gw, ys := wg.gw, wg.ys
	for o := 0; o < g.O; o++ {
		plane := dy[o*g.Ho*g.Wo : (o+1)*g.Ho*g.Wo]
		deinterleave(plane, 2*g.Wo, planes, planes[ys:], gw, (g.Ho+1)/2, g.Wo)
		if g.Ho > 1 {
			deinterleave(plane[g.Wo:], 2*g.Wo, planes[2*ys:], planes[3*ys:], gw, g.Ho/2, g.Wo)
		}
		for r := 0; r < wg.runs; r++ {
			winoGradOutTiles(planes[r*gw:], ys, m[o*wg.ld+t0+r*wg.run:], g.O*wg.ld, wg.run)
		}
	}
}

// winoGradOutTiles is winoOutTiles' adjoint (without the bias): tiles
// [0, n) of the parity planes y (4 × ys, which may start at a row of
// tiles) into m[ξ·ms + L]; the AVX kernel also reads and writes tiles up
// to n8.
func winoGradOutTiles[T float](y []T, ys int, m []T, ms, n int) {
	n8 := (n + 7) &^ 7
	if len(m) < 15*ms+n8 || ys < n8 || len(y) < 3*ys+n8 {
		panic("winograd: short output gradient buffers")
	}
	if y32, ok := any(y).([]float32); ok && useAsm {
		wino.GradOutAVX(&y32[0], ys, &any(m).([]float32)[0], ms, n)
		return
	}
	for L := 0; L < n; L++ {
		p, q, s, t := y[L], y[ys+L], y[2*ys+L], y[3*ys+L]
		// Rows of A dy: (h0, h1); each gives h0, h0+h1, h0−h1, −h1.
		for r, h := range [4][2]T{{p, q}, {p + s, q + t}, {p - s, q - t}, {-s, -t}} {
			m[(4*r)*ms+L] = h[0]
			m[(4*r+1)*ms+L] = h[0] + h[1]
			m[(4*r+2)*ms+L] = h[0] - h[1]
			m[(4*r+3)*ms+L] = -h[1]
		}
	}
}

// winoKernelsGrad writes dw[o][c] = Gᵀ du[·][o][c] G for o in [lo, hi): the
// adjoint of winoKernels.
func winoKernelsGrad[T float](g convGeom, du, dw []T, lo, hi int) {
	oc := g.O * g.C
	for o := lo; o < hi; o++ {
		for c := 0; c < g.C; c++ {
			at := o*g.C + c
			// Rows: t = Gᵀ du (3×4).
			var t [3][4]T
			for j := 0; j < 4; j++ {
				d0, d1, d2, d3 := du[j*oc+at], du[(4+j)*oc+at], du[(8+j)*oc+at], du[(12+j)*oc+at]
				t[0][j] = d0 + (d1+d2)/2
				t[1][j] = (d1 - d2) / 2
				t[2][j] = (d1+d2)/2 + d3
			}
			// Columns: t G (3×3).
			k := dw[at*9 : at*9+9]
			for i := 0; i < 3; i++ {
				t0, t1, t2, t3 := t[i][0], t[i][1], t[i][2], t[i][3]
				k[3*i] = t0 + (t1+t2)/2
				k[3*i+1] = (t1 - t2) / 2
				k[3*i+2] = (t1+t2)/2 + t3
			}
		}
	}
}
