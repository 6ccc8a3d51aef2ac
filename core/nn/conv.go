package nn

import (
	"fmt"
	"hash"
	"math"
	"runtime"
	"sync"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Conv2D convolves x (N, C, H, W) with w (O, C, KH, KW) at the given stride
// and zero padding, adding b (O) when it is not nil: the result is
// (N, O, Ho, Wo) with Ho = (H + 2·pad − KH)/stride + 1.
//
// gorgonia's conv goes through im2col, transposes and a fresh buffer per
// op per step (4.96 s and 1.3–2.7 GB per step of the reference conv
// workload). This op unfolds one image at a time into a reused column
// buffer and makes one GEMM per image, or, for 3×3 stride-1 padding-1
// convolutions with at least 16 input channels, goes through Winograd
// F(2×2, 3×3) (winograd.go); its input and weight gradients are separate
// ops, so a Langevin step, which needs only the input gradient, never
// computes the weight gradient.
func Conv2D(x, w, b *G.Node, stride, pad int) (*G.Node, error) {
	return conv2D(x, w, b, stride, pad, 0)
}

// Conv2DSwish is Swish(Conv2D(x, w, b), scale) in one op (scale 1/1.1 is
// LipSwish): the activation is applied to each image's output while it is
// still in cache, and its gradient is folded into the convolution's.
func Conv2DSwish(x, w, b *G.Node, stride, pad int, scale float64) (*G.Node, error) {
	if scale <= 0 {
		return nil, fmt.Errorf("conv2d: swish scale %v must be > 0", scale)
	}
	return conv2D(x, w, b, stride, pad, scale)
}

func conv2D(x, w, b *G.Node, stride, pad int, act float64) (*G.Node, error) {
	xs, ws := x.Shape(), w.Shape()
	if len(xs) != 4 || len(ws) != 4 || xs[1] != ws[1] {
		return nil, fmt.Errorf("conv2d: input %v and weight %v do not fit (want (N,C,H,W) and (O,C,KH,KW))", xs, ws)
	}
	g := convGeom{N: xs[0], C: xs[1], H: xs[2], W: xs[3], O: ws[0], KH: ws[2], KW: ws[3], S: stride, P: pad}
	if stride < 1 || pad < 0 {
		return nil, fmt.Errorf("conv2d: stride %d, pad %d", stride, pad)
	}
	g.Ho, g.Wo = (g.H+2*pad-g.KH)/stride+1, (g.W+2*pad-g.KW)/stride+1
	if g.Ho < 1 || g.Wo < 1 {
		return nil, fmt.Errorf("conv2d: a %dx%d kernel does not fit a %dx%d input with padding %d", g.KH, g.KW, g.H, g.W, pad)
	}
	op := &conv2dOp{g: g, act: act}
	if act > 0 {
		op.cache = &actCache{}
	}
	if b == nil {
		return G.ApplyOp(op, x, w)
	}
	if bs := b.Shape(); len(bs) != 1 || bs[0] != g.O {
		return nil, fmt.Errorf("conv2d: bias shape %v, want (%d)", bs, g.O)
	}
	op.bias = true
	return G.ApplyOp(op, x, w, b)
}

// convGeom is the geometry of one convolution.
type convGeom struct{ N, C, H, W, O, KH, KW, S, P, Ho, Wo int }

func (g convGeom) ckk() int { return g.C * g.KH * g.KW }
func (g convGeom) pix() int { return g.Ho * g.Wo }

func (g convGeom) String() string {
	return fmt.Sprintf("%dx%d/%d pad %d, %d→%d on %dx%d", g.KH, g.KW, g.S, g.P, g.C, g.O, g.H, g.W)
}

// scratch holds an op's reusable buffers of one element type, by slot.
type scratch[T float] struct{ bufs [][]T }

// reserve sizes slots [from, to) to n elements before workers start, so
// that buf never grows the slot list while workers read it.
func (s *scratch[T]) reserve(from, to, n int) {
	for i := from; i < to; i++ {
		s.buf(i, n)
	}
}

// buf returns slot i with n elements, growing it if needed.
func (s *scratch[T]) buf(i, n int) []T {
	for len(s.bufs) <= i {
		s.bufs = append(s.bufs, nil)
	}
	if len(s.bufs[i]) < n {
		s.bufs[i] = make([]T, n)
	}
	return s.bufs[i][:n]
}

// buffers keeps one scratch per element type; ops hold a pointer to it.
type buffers struct {
	f32 scratch[float32]
	f64 scratch[float64]
}

func scratchFor[T float](b *buffers) *scratch[T] {
	var z T
	if _, ok := any(z).(float32); ok {
		return any(&b.f32).(*scratch[T])
	}
	return any(&b.f64).(*scratch[T])
}

// opBase supplies the parts of gorgonia's Op interface that the core's ops share.
type opBase struct{}

func (opBase) ReturnsPtr() bool     { return false }
func (opBase) CallsExtern() bool    { return false }
func (opBase) OverwritesInput() int { return -1 }

func tensorOf(dims int) G.TensorType { return G.TensorType{Dims: dims, Of: hm.TypeVariable('a')} }

func hashString(h hash.Hash, s fmt.Stringer) { fmt.Fprint(h, s.String()) }

// newLike allocates a tensor of the given shape and x's dtype.
func newLike(x G.Value, shape ...int) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.Of(x.Dtype()))
}

// checkOut verifies that a preallocated output has the expected shape.
func checkOut(prealloc G.Value, shape tensor.Shape) error {
	if !prealloc.Shape().Eq(shape) {
		return fmt.Errorf("preallocated %v, want %v", prealloc.Shape(), shape)
	}
	return nil
}

type conv2dOp struct {
	opBase
	g    convGeom
	bias bool
	buf  buffers
	// act > 0 fuses y = act·z·σ(z) after the convolution z; cache keeps z
	// and σ(z) for the gradient.
	act   float64
	cache *actCache
}

// actCache holds a fused activation's pre-activations and sigmoids.
type actCache struct {
	pre32, sig32 []float32
	pre64, sig64 []float64
}

func (op *conv2dOp) Arity() int {
	if op.bias {
		return 3
	}
	return 2
}
func (op *conv2dOp) Type() hm.Type {
	t4 := tensorOf(4)
	if op.bias {
		return hm.NewFnType(t4, t4, tensorOf(1), t4)
	}
	return hm.NewFnType(t4, t4, t4)
}
func (op *conv2dOp) outShape() tensor.Shape { return tensor.Shape{op.g.N, op.g.O, op.g.Ho, op.g.Wo} }
func (op *conv2dOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.outShape(), nil
}
func (op *conv2dOp) String() string {
	if op.act > 0 {
		return fmt.Sprintf("Conv2DSwish{%v, bias %v, scale %g, %p}", op.g, op.bias, op.act, op.cache)
	}
	return fmt.Sprintf("Conv2D{%v, bias %v}", op.g, op.bias)
}
func (op *conv2dOp) WriteHash(h hash.Hash) { hashString(h, op) }
func (op *conv2dOp) Hashcode() uint32      { return hashOf(op) }
func (op *conv2dOp) DiffWRT(n int) []bool {
	out := make([]bool, n)
	for i := range out {
		out[i] = true
	}
	return out
}

func (op *conv2dOp) Do(in ...G.Value) (G.Value, error) {
	return op.UsePreallocDo(newLike(in[0], op.outShape()...), in...)
}

func (op *conv2dOp) UsePreallocDo(out G.Value, in ...G.Value) (G.Value, error) {
	if err := checkOut(out, op.outShape()); err != nil {
		return nil, err
	}
	n := op.g.N * op.g.O * op.g.pix()
	switch x := in[0].Data().(type) {
	case []float32:
		var post func(int, []float32)
		if op.act > 0 {
			post = swishPost(float32(op.act), grow(&op.cache.pre32, n), grow(&op.cache.sig32, n), exp32)
		}
		convForward(op.g, x, in[1].Data().([]float32), biasOf[float32](in, op.bias), out.Data().([]float32), scratchFor[float32](&op.buf), post)
	case []float64:
		var post func(int, []float64)
		if op.act > 0 {
			post = swishPost(op.act, grow(&op.cache.pre64, n), grow(&op.cache.sig64, n), math.Exp)
		}
		convForward(op.g, x, in[1].Data().([]float64), biasOf[float64](in, op.bias), out.Data().([]float64), scratchFor[float64](&op.buf), post)
	default:
		return nil, fmt.Errorf("conv2d: unsupported data %T", x)
	}
	return out, nil
}

func biasOf[T float](in []G.Value, has bool) []T {
	if !has {
		return nil
	}
	return in[2].Data().([]T)
}

// swishPost returns the per-image step of a fused Swish: y = scale·z·σ(z),
// keeping z and σ(z) for the gradient. off is the image's offset into y.
func swishPost[T float](scale T, pre, sig []T, exp func(T) T) func(off int, y []T) {
	return func(off int, y []T) {
		swishInto(scale, y, pre[off:off+len(y)], sig[off:off+len(y)], y, exp)
	}
}

func (op *conv2dOp) SymDiff(inputs G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	if op.act > 0 {
		var err error
		if grad, err = G.ApplyOp(&swishCachedGradOp{scale: op.act, cache: op.cache, shape: op.outShape()}, grad); err != nil {
			return nil, err
		}
	}
	dx, err := G.ApplyOp(&convGradInputOp{g: op.g}, inputs[1], grad)
	if err != nil {
		return nil, err
	}
	dw, err := G.ApplyOp(&convGradWeightOp{g: op.g}, inputs[0], grad)
	if err != nil {
		return nil, err
	}
	out := G.Nodes{dx, dw}
	if op.bias {
		db, err := G.ApplyOp(sumAllButAxis1Op{}, grad)
		if err != nil {
			return nil, err
		}
		out = append(out, db)
	}
	return out, nil
}

// swishCachedGradOp turns ∂L/∂y of a fused Swish into ∂L/∂z with the z
// and σ(z) its forward op cached.
type swishCachedGradOp struct {
	opBase
	scale float64
	cache *actCache
	shape tensor.Shape
}

func (op *swishCachedGradOp) Arity() int    { return 1 }
func (op *swishCachedGradOp) Type() hm.Type { t := tensorOf(len(op.shape)); return hm.NewFnType(t, t) }
func (op *swishCachedGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.shape.Clone(), nil
}
func (op *swishCachedGradOp) String() string {
	return fmt.Sprintf("SwishCachedGrad{%g, %p}", op.scale, op.cache)
}
func (op *swishCachedGradOp) WriteHash(h hash.Hash) { hashString(h, op) }
func (op *swishCachedGradOp) Hashcode() uint32      { return hashOf(op) }
func (op *swishCachedGradOp) DiffWRT(int) []bool    { return []bool{false} }
func (op *swishCachedGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("conv2d swish: second derivatives are not implemented")
}
func (op *swishCachedGradOp) Do(in ...G.Value) (G.Value, error) {
	return op.UsePreallocDo(newLike(in[0], op.shape...), in...)
}
func (op *swishCachedGradOp) UsePreallocDo(out G.Value, in ...G.Value) (G.Value, error) {
	if err := checkOut(out, op.shape); err != nil {
		return nil, err
	}
	switch g := in[0].Data().(type) {
	case []float32:
		return out, swishGradFrom(float32(op.scale), g, op.cache.pre32, op.cache.sig32, out.Data().([]float32))
	case []float64:
		return out, swishGradFrom(op.scale, g, op.cache.pre64, op.cache.sig64, out.Data().([]float64))
	}
	return nil, fmt.Errorf("conv2d swish grad: unsupported data %T", in[0].Data())
}

// convGradInputOp computes ∂L/∂x from the weight and ∂L/∂y.
type convGradInputOp struct {
	opBase
	g     convGeom
	buf   buffers
	flip  []float32
	flip6 []float64
}

func (op *convGradInputOp) Arity() int    { return 2 }
func (op *convGradInputOp) Type() hm.Type { t4 := tensorOf(4); return hm.NewFnType(t4, t4, t4) }
func (op *convGradInputOp) outShape() tensor.Shape {
	return tensor.Shape{op.g.N, op.g.C, op.g.H, op.g.W}
}
func (op *convGradInputOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.outShape(), nil }
func (op *convGradInputOp) String() string                                 { return fmt.Sprintf("Conv2DGradInput{%v}", op.g) }
func (op *convGradInputOp) WriteHash(h hash.Hash)                          { hashString(h, op) }
func (op *convGradInputOp) Hashcode() uint32                               { return hashOf(op) }
func (op *convGradInputOp) DiffWRT(n int) []bool                           { return make([]bool, n) }
func (op *convGradInputOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("conv2d: second derivatives are not implemented")
}
func (op *convGradInputOp) Do(in ...G.Value) (G.Value, error) {
	return op.UsePreallocDo(newLike(in[1], op.outShape()...), in...)
}
func (op *convGradInputOp) UsePreallocDo(out G.Value, in ...G.Value) (G.Value, error) {
	if err := checkOut(out, op.outShape()); err != nil {
		return nil, err
	}
	switch w := in[0].Data().(type) {
	case []float32:
		convGradInput(op.g, w, in[1].Data().([]float32), out.Data().([]float32), scratchFor[float32](&op.buf), &op.flip)
	case []float64:
		convGradInput(op.g, w, in[1].Data().([]float64), out.Data().([]float64), scratchFor[float64](&op.buf), &op.flip6)
	default:
		return nil, fmt.Errorf("conv2d grad: unsupported data %T", w)
	}
	return out, nil
}

// convGradWeightOp computes ∂L/∂w from the input and ∂L/∂y.
type convGradWeightOp struct {
	opBase
	g   convGeom
	buf buffers
}

func (op *convGradWeightOp) Arity() int    { return 2 }
func (op *convGradWeightOp) Type() hm.Type { t4 := tensorOf(4); return hm.NewFnType(t4, t4, t4) }
func (op *convGradWeightOp) outShape() tensor.Shape {
	return tensor.Shape{op.g.O, op.g.C, op.g.KH, op.g.KW}
}
func (op *convGradWeightOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.outShape(), nil
}
func (op *convGradWeightOp) String() string        { return fmt.Sprintf("Conv2DGradWeight{%v}", op.g) }
func (op *convGradWeightOp) WriteHash(h hash.Hash) { hashString(h, op) }
func (op *convGradWeightOp) Hashcode() uint32      { return hashOf(op) }
func (op *convGradWeightOp) DiffWRT(n int) []bool  { return make([]bool, n) }
func (op *convGradWeightOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("conv2d: second derivatives are not implemented")
}
func (op *convGradWeightOp) Do(in ...G.Value) (G.Value, error) {
	return op.UsePreallocDo(newLike(in[0], op.outShape()...), in...)
}
func (op *convGradWeightOp) UsePreallocDo(out G.Value, in ...G.Value) (G.Value, error) {
	if err := checkOut(out, op.outShape()); err != nil {
		return nil, err
	}
	switch x := in[0].Data().(type) {
	case []float32:
		convGradWeight(op.g, x, in[1].Data().([]float32), out.Data().([]float32), scratchFor[float32](&op.buf))
	case []float64:
		convGradWeight(op.g, x, in[1].Data().([]float64), out.Data().([]float64), scratchFor[float64](&op.buf))
	default:
		return nil, fmt.Errorf("conv2d grad: unsupported data %T", x)
	}
	return out, nil
}

// Each worker takes a contiguous range of images and, per image, unfolds it
// into its own column buffer (C·KH·KW × Ho·Wo, about 2 MB for the 64→64
// convs: it stays in the core's cache) and makes one single-threaded GEMM.
// Splitting by image keeps both cores busy through the unfolding, the GEMM
// and the copies, with no BLAS threads spinning between calls.

// convForward: y = w ⋆ x + b, then post(offset, yᵢ) on each image's output.
// 3×3 stride-1 padding-1 convolutions go through Winograd (winograd.go),
// the others through im2col.
func convForward[T float](g convGeom, x, w, b, y []T, s *scratch[T], post func(off int, y []T)) {
	if useWinograd(g) {
		convWinograd(g, x, w, b, y, s, post)
		return
	}
	convIm2col(g, x, w, b, y, s, post)
}

// convIm2col is convForward through im2col and one GEMM per image.
func convIm2col[T float](g convGeom, x, w, b, y []T, s *scratch[T], post func(off int, y []T)) {
	ckk, pix := g.ckk(), g.pix()
	inSize, outSize := g.C*g.H*g.W, g.O*pix
	s.reserve(0, numWorkers(g.N), ckk*pix)
	forWorkers(g.N, func(k, lo, hi int) {
		col := s.buf(k, ckk*pix)
		for i := lo; i < hi; i++ {
			im2col(g, x[i*inSize:(i+1)*inSize], col)
			yi := y[i*outSize : (i+1)*outSize]
			gemm(false, false, g.O, pix, ckk, 1, w, ckk, col, pix, 0, yi, pix)
			if b != nil {
				for o, bo := range b {
					row := yi[o*pix : (o+1)*pix]
					for p := range row {
						row[p] += bo
					}
				}
			}
			if post != nil {
				post(i*outSize, yi)
			}
		}
	})
}

// convGradInput: ∂L/∂x. At stride 1 it is the convolution of ∂L/∂y with
// the flipped, transposed kernel at padding K−1−P, which unfolds by copies
// (im2col) instead of scattered additions (col2im), and for a 3×3 kernel at
// padding 1 is again a padding-1 convolution, so it takes the Winograd path
// as the forward one does; otherwise
// col2im(wᵀ · ∂L/∂y).
func convGradInput[T float](g convGeom, w, dy, dx []T, s *scratch[T], flip *[]T) {
	if g.S == 1 && g.P <= g.KH-1 && g.P <= g.KW-1 && g.KH == g.KW {
		wf := grow(flip, len(w))
		k := g.KH
		for o := 0; o < g.O; o++ {
			for c := 0; c < g.C; c++ {
				for ki := 0; ki < k; ki++ {
					for kj := 0; kj < k; kj++ {
						wf[((c*g.O+o)*k+ki)*k+kj] = w[((o*g.C+c)*k+(k-1-ki))*k+(k-1-kj)]
					}
				}
			}
		}
		gt := convGeom{N: g.N, C: g.O, H: g.Ho, W: g.Wo, O: g.C, KH: k, KW: k, S: 1, P: k - 1 - g.P, Ho: g.H, Wo: g.W}
		convForward(gt, dy, wf, nil, dx, s, nil)
		return
	}
	convGradInputCol2im(g, w, dy, dx, s)
}

func convGradInputCol2im[T float](g convGeom, w, dy, dx []T, s *scratch[T]) {
	ckk, pix := g.ckk(), g.pix()
	inSize, outSize := g.C*g.H*g.W, g.O*pix
	s.reserve(0, numWorkers(g.N), ckk*pix)
	forWorkers(g.N, func(k, lo, hi int) {
		dcol := s.buf(k, ckk*pix)
		for i := lo; i < hi; i++ {
			gemm(true, false, ckk, pix, g.O, 1, w, ckk, dy[i*outSize:(i+1)*outSize], pix, 0, dcol, pix)
			dxi := dx[i*inSize : (i+1)*inSize]
			clear(dxi)
			col2im(g, dcol, dxi)
		}
	})
}

// convGradWeight: ∂L/∂w, through Winograd for the convolutions whose
// forward takes it (winograd.go), otherwise through im2col.
func convGradWeight[T float](g convGeom, x, dy, dw []T, s *scratch[T]) {
	if useWinograd(g) {
		convGradWeightWinograd(g, x, dy, dw, s)
		return
	}
	convGradWeightIm2col(g, x, dy, dw, s)
}

// convGradWeightIm2col: ∂L/∂w = Σᵢ ∂L/∂yᵢ · im2col(xᵢ)ᵀ, summed per worker,
// then across workers.
func convGradWeightIm2col[T float](g convGeom, x, dy, dw []T, s *scratch[T]) {
	ckk, pix := g.ckk(), g.pix()
	inSize, outSize := g.C*g.H*g.W, g.O*pix
	workers := numWorkers(g.N)
	s.reserve(0, workers, ckk*pix)
	s.reserve(workers, 2*workers, len(dw))
	forWorkers(g.N, func(k, lo, hi int) {
		col := s.buf(k, ckk*pix)
		part := dw
		if k > 0 {
			part = s.buf(workers+k, len(dw))
		}
		clear(part)
		for i := lo; i < hi; i++ {
			im2col(g, x[i*inSize:(i+1)*inSize], col)
			gemm(false, true, g.O, ckk, pix, 1, dy[i*outSize:(i+1)*outSize], pix, col, pix, 1, part, ckk)
		}
	})
	for k := 1; k < workers; k++ {
		part := s.buf(workers+k, len(dw))
		for j, v := range part {
			dw[j] += v
		}
	}
}

// im2col unfolds one image into col, a (C·KH·KW, Ho·Wo) matrix whose
// column (oh, ow) holds the receptive field of output pixel (oh, ow),
// zeros where it overhangs the padding.
func im2col[T float](g convGeom, img, col []T) {
	pix := g.pix()
	samePlane := g.S == 1 && g.Wo == g.W
	for c := 0; c < g.C; c++ {
		plane := img[c*g.H*g.W : (c+1)*g.H*g.W]
		for ki := 0; ki < g.KH; ki++ {
			for kj := 0; kj < g.KW; kj++ {
				r := (c*g.KH+ki)*g.KW + kj
				dst := col[r*pix : (r+1)*pix]
				lo, hi := rangeInside(g.P-kj, g.S, g.W, g.Wo)
				if samePlane {
					shiftedPlane(dst, plane, g, ki, kj, lo, hi)
					continue
				}
				for oh := 0; oh < g.Ho; oh++ {
					row := dst[oh*g.Wo : (oh+1)*g.Wo]
					ih := oh*g.S - g.P + ki
					if ih < 0 || ih >= g.H || lo >= hi {
						clear(row)
						continue
					}
					// At most P columns overhang each side: plain
					// stores, not a call to clear per row.
					for j := 0; j < lo; j++ {
						row[j] = 0
					}
					for j := hi; j < len(row); j++ {
						row[j] = 0
					}
					src := plane[ih*g.W:]
					if g.S == 1 {
						copy(row[lo:hi], src[lo-g.P+kj:hi-g.P+kj])
						continue
					}
					base := lo*g.S - g.P + kj
					gatherStrided(row[lo:hi], src[base:base+(hi-lo-1)*g.S+1], g.S)
				}
			}
		}
	}
}

// gatherStrided sets dst[i] = src[i·stride], with stride 2 (the
// downsampling convolutions) unrolled.
func gatherStrided[T float](dst, src []T, stride int) {
	if len(dst) == 0 {
		return
	}
	_ = src[(len(dst)-1)*stride]
	if stride == 2 {
		i := 0
		for ; i+2 <= len(dst); i += 2 {
			dst[i], dst[i+1] = src[2*i], src[2*i+2]
		}
		if i < len(dst) {
			dst[i] = src[2*i]
		}
		return
	}
	for i := range dst {
		dst[i] = src[i*stride]
	}
}

// shiftedPlane fills one im2col row for a stride-1 convolution whose output
// is as wide as its input: the row is the input plane shifted by
// (ki−P, kj−P), so it is one copy of the rows that stay inside, with the
// columns that wrapped around the edge zeroed, instead of one copy per row.
func shiftedPlane[T float](dst, plane []T, g convGeom, ki, kj, lo, hi int) {
	w := g.W
	ohLo, ohHi := max(0, g.P-ki), min(g.Ho, g.H+g.P-ki)
	if ohLo >= ohHi || lo >= hi {
		clear(dst)
		return
	}
	clear(dst[:ohLo*w])
	clear(dst[ohHi*w:])
	shift := (ki-g.P)*w + (kj - g.P)
	from, to := ohLo*w, ohHi*w
	// The first and last elements may fall outside the plane; they belong
	// to wrapped columns, zeroed below.
	s0, s1 := from+shift, to+shift
	d0 := from
	if s0 < 0 {
		d0 -= s0
		s0 = 0
	}
	if s1 > len(plane) {
		s1 = len(plane)
	}
	copy(dst[d0:], plane[s0:s1])
	if lo == 0 && hi == w {
		return
	}
	// One or two wrapped columns per row: plain stores beat clear's call.
	for oh := ohLo; oh < ohHi; oh++ {
		row := dst[oh*w : (oh+1)*w]
		for j := 0; j < lo; j++ {
			row[j] = 0
		}
		for j := hi; j < w; j++ {
			row[j] = 0
		}
	}
}

// col2im adds the columns of col back into one image dx: the adjoint of im2col.
func col2im[T float](g convGeom, col, img []T) {
	pix := g.pix()
	for c := 0; c < g.C; c++ {
		plane := img[c*g.H*g.W : (c+1)*g.H*g.W]
		for ki := 0; ki < g.KH; ki++ {
			for kj := 0; kj < g.KW; kj++ {
				r := (c*g.KH+ki)*g.KW + kj
				src := col[r*pix : (r+1)*pix]
				lo, hi := rangeInside(g.P-kj, g.S, g.W, g.Wo)
				for oh := 0; oh < g.Ho; oh++ {
					ih := oh*g.S - g.P + ki
					if ih < 0 || ih >= g.H {
						continue
					}
					row := src[oh*g.Wo : (oh+1)*g.Wo]
					dst := plane[ih*g.W:]
					for ow := lo; ow < hi; ow++ {
						dst[ow*g.S-g.P+kj] += row[ow]
					}
				}
			}
		}
	}
}

// rangeInside returns the output columns [lo, hi) whose input column
// ow·stride − off lies inside [0, width).
func rangeInside(off, stride, width, outW int) (lo, hi int) {
	lo = (off + stride - 1) / stride
	if off <= 0 {
		lo = 0
	}
	hi = (width - 1 + off) / stride
	hi = min(hi+1, outW)
	if width-1+off < 0 {
		hi = 0
	}
	return min(lo, outW), max(hi, 0)
}

func numWorkers(n int) int { return max(1, min(runtime.GOMAXPROCS(0), n)) }

// forWorkers splits [0, n) into numWorkers(n) contiguous ranges and runs
// f(worker, lo, hi) for each on its own goroutine.
func forWorkers(n int, f func(k, lo, hi int)) {
	p := numWorkers(n)
	if p == 1 {
		f(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	for k := 0; k < p; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			f(k, n*k/p, n*(k+1)/p)
		}(k)
	}
	wg.Wait()
}

// forEach runs f(0…n−1) spread over the available cores.
func forEach(n int, f func(i int)) {
	p := min(runtime.GOMAXPROCS(0), n)
	if p <= 1 {
		for i := 0; i < n; i++ {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	for k := 0; k < p; k++ {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				f(i)
			}
		}(n*k/p, n*(k+1)/p)
	}
	wg.Wait()
}
