package nn

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// SoftmaxCrossEntropy returns the mean over rows of −log softmax(logits)[label]
// for logits (N, K) and one-hot (or any probability) targets (N, K), computed
// with the log-sum-exp shift so that large logits do not overflow. Its
// gradient with respect to the logits is (softmax − target)/N.
func SoftmaxCrossEntropy(logits, targets *G.Node) (*G.Node, error) {
	ls, ts := logits.Shape(), targets.Shape()
	if len(ls) != 2 || !ls.Eq(ts) {
		return nil, fmt.Errorf("softmax cross-entropy: logits %v and targets %v must both be (N, K)", ls, ts)
	}
	return G.ApplyOp(&xentOp{n: ls[0], k: ls[1]}, logits, targets)
}

type xentOp struct {
	opBase
	n, k int
}

func (op *xentOp) Arity() int { return 2 }
func (op *xentOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	t := G.TensorType{Dims: 2, Of: a}
	return hm.NewFnType(t, t, a)
}
func (op *xentOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return tensor.ScalarShape(), nil }
func (op *xentOp) String() string                                 { return fmt.Sprintf("SoftmaxXent{%d,%d}", op.n, op.k) }
func (op *xentOp) WriteHash(h hash.Hash)                          { hashString(h, op) }
func (op *xentOp) Hashcode() uint32                               { return hashOf(op) }
func (op *xentOp) DiffWRT(int) []bool                             { return []bool{true, false} }

func (op *xentOp) Do(in ...G.Value) (G.Value, error) {
	switch l := in[0].Data().(type) {
	case []float32:
		v := xent(l, in[1].Data().([]float32), nil, op.n, op.k)
		return G.NewF32(float32(v)), nil
	case []float64:
		return G.NewF64(xent(l, in[1].Data().([]float64), nil, op.n, op.k)), nil
	}
	return nil, fmt.Errorf("softmax cross-entropy: unsupported data %T", in[0].Data())
}

func (op *xentOp) SymDiff(inputs G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	d, err := G.ApplyOp(&xentGradOp{xentOp: *op}, inputs[0], inputs[1], grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{d, nil}, nil
}

// xent returns the mean cross-entropy; when d is not nil it also writes
// (softmax − target)/N · scale into d.
func xent[T float](logits, targets, d []T, n, k int, scale ...T) float64 {
	var total float64
	for i := 0; i < n; i++ {
		row, t := logits[i*k:(i+1)*k], targets[i*k:(i+1)*k]
		m := row[0]
		for _, v := range row {
			m = max(m, v)
		}
		var z float64
		for _, v := range row {
			z += math.Exp(float64(v - m))
		}
		lse := float64(m) + math.Log(z)
		for j, v := range row {
			total -= float64(t[j]) * (float64(v) - lse)
			if d != nil {
				p := math.Exp(float64(v) - lse)
				d[i*k+j] = T((p - float64(t[j])) / float64(n) * float64(scale[0]))
			}
		}
	}
	return total / float64(n)
}

// xentGradOp computes ∂L/∂logits = g·(softmax − target)/N.
type xentGradOp struct{ xentOp }

func (op *xentGradOp) Arity() int { return 3 }
func (op *xentGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	t := G.TensorType{Dims: 2, Of: a}
	return hm.NewFnType(t, t, a, t)
}
func (op *xentGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.n, op.k}, nil
}
func (op *xentGradOp) String() string        { return fmt.Sprintf("SoftmaxXentGrad{%d,%d}", op.n, op.k) }
func (op *xentGradOp) WriteHash(h hash.Hash) { hashString(h, op) }
func (op *xentGradOp) Hashcode() uint32      { return hashOf(op) }
func (op *xentGradOp) DiffWRT(int) []bool    { return []bool{false, false, false} }
func (op *xentGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("softmax cross-entropy: second derivatives are not implemented")
}
func (op *xentGradOp) Do(in ...G.Value) (G.Value, error) {
	return op.UsePreallocDo(newLike(in[0], op.n, op.k), in...)
}
func (op *xentGradOp) UsePreallocDo(out G.Value, in ...G.Value) (G.Value, error) {
	if err := checkOut(out, tensor.Shape{op.n, op.k}); err != nil {
		return nil, err
	}
	switch l := in[0].Data().(type) {
	case []float32:
		xent(l, in[1].Data().([]float32), out.Data().([]float32), op.n, op.k, scalarOf[float32](in[2]))
	case []float64:
		xent(l, in[1].Data().([]float64), out.Data().([]float64), op.n, op.k, scalarOf[float64](in[2]))
	default:
		return nil, fmt.Errorf("softmax cross-entropy grad: unsupported data %T", l)
	}
	return out, nil
}

func scalarOf[T float](v G.Value) T {
	switch d := v.Data().(type) {
	case float32:
		return T(d)
	case float64:
		return T(d)
	case []float32:
		return T(d[0])
	case []float64:
		return T(d[0])
	}
	return 1
}
