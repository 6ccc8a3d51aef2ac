package nn

import (
	"fmt"
	"hash"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// matMulOp runs gorgonia's matrix product C = op(A)·op(B) (a linear
// layer's forward pass and both of its gradients) split over the cores.
//
// The BLAS runs on one thread (see blas_openblas.go), so gorgonia's own op
// used one core: the MLP workload's three kinds of product ran at about
// 91 GFLOP/s there and were three quarters of its step. Halving C's rows
// between two goroutines, each calling the one-thread BLAS, gives about
// 150 GFLOP/s at its 512×256×256 shapes, with the same bits in C. It
// replaces gorgonia's op at compile time only (fastOp), after
// differentiation, so the graph and its gradients are gorgonia's; views
// and other shapes go to gorgonia's op.
type matMulOp struct {
	G.Op           // gorgonia's op: type, hash and string come from it
	orig           G.UsePreallocDoer
	tA, tB         bool
	m, n, k        int
	aShape, bShape tensor.Shape
}

// matMulOpFor returns a matMulOp for gorgonia's matrix–matrix product op
// over the 2-D inputs in, or nil when op is something else.
func matMulOpFor(op G.Op, in []*G.Node) G.Op {
	if len(in) != 2 || fmt.Sprintf("%T", op) != "gorgonia.linAlgBinOp" {
		return nil
	}
	var tA, tB bool
	switch op.String() {
	case "A × B":
	case "Aᵀ × B":
		tA = true
	case "A × Bᵀ":
		tB = true
	case "Aᵀ × Bᵀ":
		tA, tB = true, true
	default: // matrix–vector, dot, outer and batched products
		return nil
	}
	a, b := in[0].Shape(), in[1].Shape()
	if len(a) != 2 || len(b) != 2 || in[0].Dtype() != in[1].Dtype() {
		return nil
	}
	if dt := in[0].Dtype(); dt != tensor.Float32 && dt != tensor.Float64 {
		return nil
	}
	pd, ok := op.(G.UsePreallocDoer)
	if !ok {
		return nil
	}
	m, k := a[0], a[1]
	if tA {
		m, k = k, m
	}
	n, kb := b[1], b[0]
	if tB {
		n, kb = kb, n
	}
	if k != kb {
		return nil
	}
	return &matMulOp{Op: op, orig: pd, tA: tA, tB: tB, m: m, n: n, k: k, aShape: a.Clone(), bShape: b.Clone()}
}

func (op *matMulOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.m, op.n}, nil
}

// ReturnsPtr is false: the op writes a fresh or preallocated tensor.
func (op *matMulOp) ReturnsPtr() bool { return false }

func (op *matMulOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "matmul%v%v%v%v", op.tA, op.tB, op.aShape, op.bShape)
}
func (op *matMulOp) Hashcode() uint32 { return hashOf(op) }

func (op *matMulOp) Do(in ...G.Value) (G.Value, error) {
	return op.UsePreallocDo(newLike(in[0], op.m, op.n), in...)
}

func (op *matMulOp) UsePreallocDo(out G.Value, in ...G.Value) (G.Value, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("%v: %d inputs, want 2", op, len(in))
	}
	if !plainOf(out, tensor.Shape{op.m, op.n}) || !plainOf(in[0], op.aShape) || !plainOf(in[1], op.bShape) ||
		out.Dtype() != in[0].Dtype() || in[0].Dtype() != in[1].Dtype() {
		return op.orig.UsePreallocDo(out, in...)
	}
	lda, ldb := op.aShape[1], op.bShape[1]
	switch a := in[0].Data().(type) {
	case []float32:
		splitGemm(op.tA, op.tB, op.m, op.n, op.k, a, lda, in[1].Data().([]float32), ldb, out.Data().([]float32))
	case []float64:
		splitGemm(op.tA, op.tB, op.m, op.n, op.k, a, lda, in[1].Data().([]float64), ldb, out.Data().([]float64))
	default:
		return nil, fmt.Errorf("%v: unsupported data %T", op, a)
	}
	return out, nil
}

// plainOf reports whether v is a dense tensor of shape s that owns
// contiguous row-major data (not a view or a transposed tensor).
func plainOf(v G.Value, s tensor.Shape) bool {
	d, ok := ownDense(v, s.TotalSize())
	return ok && d.Shape().Eq(s) && !d.DataOrder().IsColMajor()
}

// splitMinPart is the least M·N·K of each core's part of a split product.
// Debian's OpenBLAS (0.3.21, SkylakeX and Cooperlake kernels) sends
// products of M·N·K ≤ 100³ to its small-matrix kernels, which round
// differently from its regular ones where N is not a multiple of 16
// (256×256 by 256×20: 933 of 5,120 elements); a split whose parts fall
// under that line while the whole does not would change results. Above it
// a part is also well over the microsecond or two of handing it over.
const splitMinPart = 1_000_001

// splitGemm computes C = op(A)·op(B) into the m×n row-major C, splitting
// C's rows into one block per core when each block's M·N·K is at least
// splitMinPart: each block is an independent product over its own rows of
// C, and gives each element the bits one call gives it
// (TestSplitGemmBitwise). Only rows are split: splitting the columns of a
// C with few rows rounded differently (all 512 elements of a 2×256 weight
// gradient over 2,000 rows) and moved the toy's results in the third decimal.
func splitGemm[T float](tA, tB bool, m, n, k int, a []T, lda int, b []T, ldb int, c []T) {
	p := numWorkers(m)
	if p == 1 || (m/p)*n*k < splitMinPart {
		gemm(tA, tB, m, n, k, 1, a, lda, b, ldb, 0, c, n)
		return
	}
	forWorkers(m, func(_, lo, hi int) {
		// Row lo of op(A) starts at a[lo·lda], or at column lo when A is transposed.
		off := lo * lda
		if tA {
			off = lo
		}
		gemm(tA, tB, hi-lo, n, k, 1, a[off:], lda, b, ldb, 0, c[lo*n:], n)
	})
}
