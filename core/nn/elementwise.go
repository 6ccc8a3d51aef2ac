package nn

import (
	"fmt"
	"hash"
	"strings"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// fastOp returns an op of ours that computes what gorgonia's op does on
// inputs of these shapes, for the executor to run in its place, or nil.
// The graph keeps gorgonia's op (its differentiation is unchanged); only
// the arithmetic is ours. Matrix products go to matMulOp (matmul.go).
//
// gorgonia's element-wise add of two same-shaped tensors into a
// preallocated output copies the first input into it and then adds the
// second in place, one core, through its generic engine: 1.2 ms for the
// 32×32×28×28 residual sums and gradient accumulations of the StackedMNIST
// VAE, 7% of its training step (README: Performance).
func fastOp(op G.Op, in []*G.Node) G.Op {
	if f := matMulOpFor(op, in); f != nil {
		return f
	}
	if len(in) != 2 || !strings.HasPrefix(fmt.Sprintf("%T", op), "gorgonia.elemBinOp") {
		return nil
	}
	a, b := in[0].Shape(), in[1].Shape()
	if !a.Eq(b) || a.IsScalar() || in[0].Dtype() != in[1].Dtype() {
		return nil
	}
	if dt := in[0].Dtype(); dt != tensor.Float32 && dt != tensor.Float64 {
		return nil
	}
	pd, ok := op.(G.UsePreallocDoer)
	if s := op.String(); ok && strings.HasPrefix(s, "+ ") {
		return &addOp{shape: a.Clone(), orig: pd}
	}
	return nil
}

// addOp is a + b for two tensors of one shape, split over the cores.
// Inputs that are views (a slice of another tensor, whose data need not
// be contiguous) go to gorgonia's op, orig.
type addOp struct {
	opBase
	shape tensor.Shape
	orig  G.UsePreallocDoer
}

func (op *addOp) Arity() int    { return 2 }
func (op *addOp) Type() hm.Type { a := hm.TypeVariable('a'); return hm.NewFnType(a, a, a) }
func (op *addOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.shape.Clone(), nil
}
func (op *addOp) String() string        { return "+" }
func (op *addOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "add%v", op.shape) }
func (op *addOp) Hashcode() uint32      { return hashOf(op) }

func (op *addOp) Do(in ...G.Value) (G.Value, error) {
	return op.UsePreallocDo(newLike(in[0], op.shape...), in...)
}

func (op *addOp) UsePreallocDo(out G.Value, in ...G.Value) (G.Value, error) {
	if err := checkOut(out, op.shape); err != nil {
		return nil, err
	}
	if !op.plain(out) || !op.plain(in[0]) || !op.plain(in[1]) {
		return op.orig.UsePreallocDo(out, in...)
	}
	switch a := in[0].Data().(type) {
	case []float32:
		addInto(a, in[1].Data().([]float32), out.Data().([]float32))
	case []float64:
		addInto(a, in[1].Data().([]float64), out.Data().([]float64))
	default:
		return nil, fmt.Errorf("add: unsupported data %T", a)
	}
	return out, nil
}

// plain reports whether v is a dense tensor of the op's size that owns
// contiguous data (not a view).
func (op *addOp) plain(v G.Value) bool {
	_, ok := ownDense(v, op.shape.TotalSize())
	return ok
}

// ownDense returns v as a dense tensor when it is one that owns its data
// (not a view) of n elements.
func ownDense(v G.Value, n int) (*tensor.Dense, bool) {
	d, ok := v.(*tensor.Dense)
	return d, ok && !d.IsView() && d.DataSize() == n
}

func addInto[T float](a, b, out []T) {
	parallel(len(a), func(lo, hi int) {
		a, b, out := a[lo:hi], b[lo:hi], out[lo:hi]
		for i := range out {
			out[i] = a[i] + b[i]
		}
	})
}
