package nn

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// WeightNorm returns w = g · v / ‖v‖ with one norm and one gain per output
// unit, the first axis of v (Salimans & Kingma 2016; used by every layer of
// the VAEBM energy, App. E).
func WeightNorm(v, g *G.Node) (*G.Node, error) {
	vs, gs := v.Shape(), g.Shape()
	if len(vs) < 2 || len(gs) != 1 || gs[0] != vs[0] {
		return nil, fmt.Errorf("weight norm: direction %v and gain %v do not fit", vs, gs)
	}
	return G.ApplyOp(&weightNormOp{shape: vs.Clone()}, v, g)
}

type weightNormOp struct {
	opBase
	shape tensor.Shape
}

func (op *weightNormOp) rows() (n, d int) { return op.shape[0], op.shape.TotalSize() / op.shape[0] }
func (op *weightNormOp) Arity() int       { return 2 }
func (op *weightNormOp) Type() hm.Type {
	t := tensorOf(len(op.shape))
	return hm.NewFnType(t, tensorOf(1), t)
}
func (op *weightNormOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.shape.Clone(), nil }
func (op *weightNormOp) String() string                                 { return fmt.Sprintf("WeightNorm{%v}", op.shape) }
func (op *weightNormOp) WriteHash(h hash.Hash)                          { hashString(h, op) }
func (op *weightNormOp) Hashcode() uint32                               { return hashOf(op) }
func (op *weightNormOp) DiffWRT(int) []bool                             { return []bool{true, true} }
func (op *weightNormOp) Do(in ...G.Value) (G.Value, error) {
	return op.UsePreallocDo(newLike(in[0], op.shape...), in...)
}
func (op *weightNormOp) UsePreallocDo(out G.Value, in ...G.Value) (G.Value, error) {
	if err := checkOut(out, op.shape); err != nil {
		return nil, err
	}
	n, d := op.rows()
	switch v := in[0].Data().(type) {
	case []float32:
		weightNorm(v, in[1].Data().([]float32), out.Data().([]float32), n, d)
	case []float64:
		weightNorm(v, in[1].Data().([]float64), out.Data().([]float64), n, d)
	default:
		return nil, fmt.Errorf("weight norm: unsupported data %T", v)
	}
	return out, nil
}

func weightNorm[T float](v, g, w []T, n, d int) {
	for i := 0; i < n; i++ {
		row := v[i*d : (i+1)*d]
		s := T(float64(g[i]) / rowNorm(row))
		for j, x := range row {
			w[i*d+j] = s * x
		}
	}
}

func rowNorm[T float](row []T) float64 {
	var ss float64
	for _, x := range row {
		ss += float64(x) * float64(x)
	}
	return math.Sqrt(ss)
}

func (op *weightNormOp) SymDiff(inputs G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	dv, err := G.ApplyOp(&weightNormGradOp{weightNormOp: *op, wrtGain: false}, inputs[0], inputs[1], grad)
	if err != nil {
		return nil, err
	}
	dg, err := G.ApplyOp(&weightNormGradOp{weightNormOp: *op, wrtGain: true}, inputs[0], inputs[1], grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dv, dg}, nil
}

// weightNormGradOp: with v̂ = v/‖v‖ per row, ∂L/∂g = ∂L/∂w · v̂ and
// ∂L/∂v = (g/‖v‖)(∂L/∂w − (∂L/∂w · v̂) v̂).
type weightNormGradOp struct {
	weightNormOp
	wrtGain bool
}

func (op *weightNormGradOp) Arity() int { return 3 }
func (op *weightNormGradOp) Type() hm.Type {
	t := tensorOf(len(op.shape))
	if op.wrtGain {
		return hm.NewFnType(t, tensorOf(1), t, tensorOf(1))
	}
	return hm.NewFnType(t, tensorOf(1), t, t)
}
func (op *weightNormGradOp) outShape() tensor.Shape {
	if op.wrtGain {
		return tensor.Shape{op.shape[0]}
	}
	return op.shape.Clone()
}
func (op *weightNormGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.outShape(), nil
}
func (op *weightNormGradOp) String() string {
	return fmt.Sprintf("WeightNormGrad{%v, gain %v}", op.shape, op.wrtGain)
}
func (op *weightNormGradOp) WriteHash(h hash.Hash) { hashString(h, op) }
func (op *weightNormGradOp) Hashcode() uint32      { return hashOf(op) }
func (op *weightNormGradOp) DiffWRT(int) []bool    { return []bool{false, false, false} }
func (op *weightNormGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("weight norm: second derivatives are not implemented")
}
func (op *weightNormGradOp) Do(in ...G.Value) (G.Value, error) {
	return op.UsePreallocDo(newLike(in[0], op.outShape()...), in...)
}
func (op *weightNormGradOp) UsePreallocDo(out G.Value, in ...G.Value) (G.Value, error) {
	if err := checkOut(out, op.outShape()); err != nil {
		return nil, err
	}
	n, d := op.rows()
	switch v := in[0].Data().(type) {
	case []float32:
		weightNormGrad(v, in[1].Data().([]float32), in[2].Data().([]float32), out.Data().([]float32), n, d, op.wrtGain)
	case []float64:
		weightNormGrad(v, in[1].Data().([]float64), in[2].Data().([]float64), out.Data().([]float64), n, d, op.wrtGain)
	default:
		return nil, fmt.Errorf("weight norm grad: unsupported data %T", v)
	}
	return out, nil
}

func weightNormGrad[T float](v, g, dw, out []T, n, d int, wrtGain bool) {
	for i := 0; i < n; i++ {
		row, drow := v[i*d:(i+1)*d], dw[i*d:(i+1)*d]
		norm := rowNorm(row)
		var dot float64 // ∂L/∂w · v̂
		for j, x := range row {
			dot += float64(drow[j]) * float64(x) / norm
		}
		if wrtGain {
			out[i] = T(dot)
			continue
		}
		s := float64(g[i]) / norm
		for j, x := range row {
			out[i*d+j] = T(s * (float64(drow[j]) - dot*float64(x)/norm))
		}
	}
}
