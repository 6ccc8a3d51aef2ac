package nn

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ConcatAxis joins xs, of equal shape but for their sizes along axis, into
// one contiguous tensor. With SliceAxis it lets several convolutions that
// read the same input run as one (ForwardShared); gorgonia's Concat
// and Slice would do, but its slices are views, which the executor's own
// element-wise ops leave to gorgonia's slower ones (elementwise.go).
func ConcatAxis(axis int, xs ...*G.Node) (*G.Node, error) {
	if len(xs) == 0 {
		return nil, fmt.Errorf("concat: no inputs")
	}
	if len(xs) == 1 {
		return xs[0], nil
	}
	op := &concatAxisOp{axis: axis}
	first := xs[0].Shape()
	if axis < 0 || axis >= len(first) {
		return nil, fmt.Errorf("concat: axis %d of a %d-D tensor", axis, len(first))
	}
	for i, x := range xs {
		s := x.Shape()
		if len(s) != len(first) {
			return nil, fmt.Errorf("concat: input %d has shape %v, input 0 %v", i, s, first)
		}
		for d := range s {
			if d != axis && s[d] != first[d] {
				return nil, fmt.Errorf("concat: input %d has shape %v, input 0 %v (they may differ only along axis %d)", i, s, first, axis)
			}
		}
		op.shapes = append(op.shapes, s.Clone())
	}
	return G.ApplyOp(op, xs...)
}

// SliceAxis returns x's indices [lo, hi) along axis as a new contiguous
// tensor.
func SliceAxis(x *G.Node, axis, lo, hi int) (*G.Node, error) {
	s := x.Shape()
	if axis < 0 || axis >= len(s) || lo < 0 || hi > s[axis] || lo >= hi {
		return nil, fmt.Errorf("slice: [%d, %d) along axis %d of shape %v", lo, hi, axis, s)
	}
	return G.ApplyOp(&sliceAxisOp{axis: axis, lo: lo, hi: hi, in: s.Clone()}, x)
}

// blocks views shape as (outer, shape[axis], inner): a slice along axis is
// outer runs of (hi−lo)·inner contiguous elements.
func blocks(shape tensor.Shape, axis int) (outer, inner int) {
	outer, inner = 1, 1
	for _, d := range shape[:axis] {
		outer *= d
	}
	for _, d := range shape[axis+1:] {
		inner *= d
	}
	return outer, inner
}

// copyBlocks copies, for each of outer rows, n elements from src at
// srcOff + o·srcRow to dst at dstOff + o·dstRow.
func copyBlocks[T float](dst, src []T, outer, n, dstOff, dstRow, srcOff, srcRow int) {
	for o := 0; o < outer; o++ {
		copy(dst[dstOff+o*dstRow:dstOff+o*dstRow+n], src[srcOff+o*srcRow:srcOff+o*srcRow+n])
	}
}

type concatAxisOp struct {
	opBase
	axis   int
	shapes []tensor.Shape
}

func (op *concatAxisOp) Arity() int { return len(op.shapes) }
func (op *concatAxisOp) Type() hm.Type {
	ts := make([]hm.Type, len(op.shapes)+1)
	for i := range ts {
		ts[i] = tensorOf(len(op.shapes[0]))
	}
	return hm.NewFnType(ts...)
}
func (op *concatAxisOp) outShape() tensor.Shape {
	s := op.shapes[0].Clone()
	s[op.axis] = 0
	for _, in := range op.shapes {
		s[op.axis] += in[op.axis]
	}
	return s
}
func (op *concatAxisOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.outShape(), nil }
func (op *concatAxisOp) String() string {
	return fmt.Sprintf("ConcatAxis{%d, %v}", op.axis, op.shapes)
}
func (op *concatAxisOp) WriteHash(h hash.Hash) { hashString(h, op) }
func (op *concatAxisOp) Hashcode() uint32      { return hashOf(op) }
func (op *concatAxisOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	for i := range d {
		d[i] = true
	}
	return d
}

func (op *concatAxisOp) Do(in ...G.Value) (G.Value, error) {
	return op.UsePreallocDo(newLike(in[0], op.outShape()...), in...)
}

func (op *concatAxisOp) UsePreallocDo(out G.Value, in ...G.Value) (G.Value, error) {
	if err := checkOut(out, op.outShape()); err != nil {
		return nil, err
	}
	switch y := out.Data().(type) {
	case []float32:
		return out, concatInto(op, y, in)
	case []float64:
		return out, concatInto(op, y, in)
	}
	return nil, fmt.Errorf("concat: unsupported data %T", out.Data())
}

func concatInto[T float](op *concatAxisOp, y []T, in []G.Value) error {
	outer, inner := blocks(op.shapes[0], op.axis)
	row := op.outShape()[op.axis] * inner
	off := 0
	for i, v := range in {
		x, ok := v.Data().([]T)
		if !ok {
			return fmt.Errorf("concat: input %d holds %T, the output %T", i, v.Data(), y)
		}
		n := op.shapes[i][op.axis] * inner
		copyBlocks(y, x, outer, n, off, row, 0, n)
		off += n
	}
	return nil
}

// SymDiff: each input's gradient is its slice of the output's.
func (op *concatAxisOp) SymDiff(inputs G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	out := make(G.Nodes, len(inputs))
	lo := 0
	for i, s := range op.shapes {
		g, err := SliceAxis(grad, op.axis, lo, lo+s[op.axis])
		if err != nil {
			return nil, err
		}
		out[i] = g
		lo += s[op.axis]
	}
	return out, nil
}

type sliceAxisOp struct {
	opBase
	axis, lo, hi int
	in           tensor.Shape
}

func (op *sliceAxisOp) Arity() int { return 1 }
func (op *sliceAxisOp) Type() hm.Type {
	t := tensorOf(len(op.in))
	return hm.NewFnType(t, t)
}
func (op *sliceAxisOp) outShape() tensor.Shape {
	s := op.in.Clone()
	s[op.axis] = op.hi - op.lo
	return s
}
func (op *sliceAxisOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.outShape(), nil }
func (op *sliceAxisOp) String() string {
	return fmt.Sprintf("SliceAxis{%d, [%d, %d) of %v}", op.axis, op.lo, op.hi, op.in)
}
func (op *sliceAxisOp) WriteHash(h hash.Hash) { hashString(h, op) }
func (op *sliceAxisOp) Hashcode() uint32      { return hashOf(op) }
func (op *sliceAxisOp) DiffWRT(int) []bool    { return []bool{true} }

func (op *sliceAxisOp) Do(in ...G.Value) (G.Value, error) {
	return op.UsePreallocDo(newLike(in[0], op.outShape()...), in...)
}

func (op *sliceAxisOp) UsePreallocDo(out G.Value, in ...G.Value) (G.Value, error) {
	if err := checkOut(out, op.outShape()); err != nil {
		return nil, err
	}
	outer, inner := blocks(op.in, op.axis)
	n := (op.hi - op.lo) * inner
	switch y := out.Data().(type) {
	case []float32:
		copyBlocks(y, in[0].Data().([]float32), outer, n, 0, n, op.lo*inner, op.in[op.axis]*inner)
	case []float64:
		copyBlocks(y, in[0].Data().([]float64), outer, n, 0, n, op.lo*inner, op.in[op.axis]*inner)
	default:
		return nil, fmt.Errorf("slice: unsupported data %T", out.Data())
	}
	return out, nil
}

// SymDiff: the gradient is the output's, zero-padded back to the input's
// shape.
func (op *sliceAxisOp) SymDiff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	g, err := G.ApplyOp(&padAxisOp{s: op}, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{g}, nil
}

// padAxisOp is the adjoint of a sliceAxisOp: a tensor of the slice's input
// shape, zero but for the slice, which holds its input.
type padAxisOp struct {
	opBase
	s *sliceAxisOp
}

func (op *padAxisOp) Arity() int                                     { return 1 }
func (op *padAxisOp) Type() hm.Type                                  { return op.s.Type() }
func (op *padAxisOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.s.in.Clone(), nil }
func (op *padAxisOp) String() string                                 { return "PadAxis" + op.s.String()[len("SliceAxis"):] }
func (op *padAxisOp) WriteHash(h hash.Hash)                          { hashString(h, op) }
func (op *padAxisOp) Hashcode() uint32                               { return hashOf(op) }
func (op *padAxisOp) DiffWRT(int) []bool                             { return []bool{true} }

func (op *padAxisOp) Do(in ...G.Value) (G.Value, error) {
	return op.UsePreallocDo(newLike(in[0], op.s.in...), in...)
}

func (op *padAxisOp) UsePreallocDo(out G.Value, in ...G.Value) (G.Value, error) {
	if err := checkOut(out, op.s.in); err != nil {
		return nil, err
	}
	outer, inner := blocks(op.s.in, op.s.axis)
	n, row := (op.s.hi-op.s.lo)*inner, op.s.in[op.s.axis]*inner
	switch y := out.Data().(type) {
	case []float32:
		clear(y)
		copyBlocks(y, in[0].Data().([]float32), outer, n, op.s.lo*inner, row, 0, n)
	case []float64:
		clear(y)
		copyBlocks(y, in[0].Data().([]float64), outer, n, op.s.lo*inner, row, 0, n)
	default:
		return nil, fmt.Errorf("pad: unsupported data %T", out.Data())
	}
	return out, nil
}

// SymDiff: padding's adjoint is the slice.
func (op *padAxisOp) SymDiff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	g, err := SliceAxis(grad, op.s.axis, op.s.lo, op.s.hi)
	if err != nil {
		return nil, err
	}
	return G.Nodes{g}, nil
}
