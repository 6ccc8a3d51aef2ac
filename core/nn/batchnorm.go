package nn

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// BatchNorm is batch normalisation (Ioffe & Szegedy 2015) of each channel
// of (N, C, H, W) activations, or of each feature of (N, C): in training by
// the batch's mean and (biased) variance, at inference by running averages
// of them; then y = γ·x̂ + β. gorgonia's BatchNorm keeps its statistics
// outside the parameters, so checkpoints would lose them; here they are
// Params marked Buffer: saved and loaded with the weights, never trained.
type BatchNorm struct {
	Gamma, Beta *Param // (C), trained
	Mean, Var   *Param // (C), the running averages used at inference
	// Momentum is the weight of each training batch in the running
	// averages (PyTorch's default 0.1); Eps is added to the variance.
	Momentum, Eps float64
}

// NewBatchNorm returns batch normalisation of c channels with γ = 1,
// β = 0, running mean 0 and variance 1.
func NewBatchNorm(name string, c int) *BatchNorm {
	bn := &BatchNorm{Gamma: NewParam(name+".gamma", c), Beta: NewParam(name+".beta", c),
		Mean: NewParam(name+".running_mean", c), Var: NewParam(name+".running_var", c), Momentum: 0.1, Eps: 1e-5}
	bn.Mean.Buffer, bn.Var.Buffer = true, true
	for i := range bn.Gamma.Data() {
		bn.Gamma.Data()[i], bn.Var.Data()[i] = 1, 1
	}
	return bn
}

// Params returns γ, β and the running averages (Buffer params).
func (bn *BatchNorm) Params() []*Param { return []*Param{bn.Gamma, bn.Beta, bn.Mean, bn.Var} }

// Forward normalises x: with train by the batch statistics, updating the
// running averages each time the graph runs; without, by the running
// averages (no gradient flows then).
func (bn *BatchNorm) Forward(b *Builder, x *G.Node, train bool) (*G.Node, error) {
	s := x.Shape()
	if (len(s) != 2 && len(s) != 4) || s[1] != len(bn.Gamma.Data()) {
		return nil, fmt.Errorf("%s: input %v is not (N, %d) or (N, %d, H, W)", bn.Gamma.Name, s, len(bn.Gamma.Data()), len(bn.Gamma.Data()))
	}
	g := bnGeomOf(s)
	if !train {
		return G.ApplyOp(&bnInferOp{g: g, eps: bn.Eps, name: bn.Gamma.Name}, x, b.Node(bn.Gamma), b.Node(bn.Beta), b.Node(bn.Mean), b.Node(bn.Var))
	}
	if g.n*g.s < 2 {
		return nil, fmt.Errorf("%s: batch statistics of input %v need at least 2 values per channel", bn.Gamma.Name, s)
	}
	op := &bnTrainOp{g: g, eps: bn.Eps, momentum: bn.Momentum, mean: bn.Mean.Data(), vr: bn.Var.Data(), name: bn.Gamma.Name}
	return G.ApplyOp(op, x, b.Node(bn.Gamma), b.Node(bn.Beta))
}

// Trainable returns the params that are not Buffer: what optimisers and
// gradients see.
func Trainable(ps []*Param) []*Param {
	var out []*Param
	for _, p := range ps {
		if !p.Buffer {
			out = append(out, p)
		}
	}
	return out
}

// Buffers returns the params that are saved but not trained: the
// complement of Trainable.
func Buffers(ps []*Param) []*Param {
	var out []*Param
	for _, p := range ps {
		if p.Buffer {
			out = append(out, p)
		}
	}
	return out
}

// bnGeom views an input as (n, c, s): s = H·W values per plane, 1 for (N, C).
type bnGeom struct {
	shape   tensor.Shape
	n, c, s int
}

func bnGeomOf(s tensor.Shape) bnGeom {
	g := bnGeom{shape: s.Clone(), n: s[0], c: s[1], s: 1}
	if len(s) == 4 {
		g.s = s[2] * s[3]
	}
	return g
}

// bnCache holds the statistics of the last training batch, computed by the
// forward op and read by the gradient ops of the same run.
type bnCache struct{ mean, inv []float64 }

// bnStats sets each channel's mean and 1/√(var + eps), var the biased batch
// variance (two passes, float64 sums), and returns the variances.
func bnStats[T float](g bnGeom, x []T, eps float64, st *bnCache) []float64 {
	st.mean, st.inv = make([]float64, g.c), make([]float64, g.c)
	vr := make([]float64, g.c)
	m := float64(g.n * g.s)
	forEach(g.c, func(c int) {
		var sum float64
		for i := 0; i < g.n; i++ {
			for _, v := range x[(i*g.c+c)*g.s : (i*g.c+c+1)*g.s] {
				sum += float64(v)
			}
		}
		mean := sum / m
		var ss float64
		for i := 0; i < g.n; i++ {
			for _, v := range x[(i*g.c+c)*g.s : (i*g.c+c+1)*g.s] {
				d := float64(v) - mean
				ss += d * d
			}
		}
		st.mean[c], vr[c] = mean, ss/m
		st.inv[c] = 1 / math.Sqrt(vr[c]+eps)
	})
	return vr
}

// bnTrainOp: inputs x, γ, β; y = γ·(x − μ_B)/√(σ²_B + eps) + β. Each run
// also moves the running averages (the unbiased variance, as PyTorch).
type bnTrainOp struct {
	opBase
	g             bnGeom
	eps, momentum float64
	mean, vr      []float32 // the running averages, updated in place
	name          string
	st            bnCache
}

func (op *bnTrainOp) Arity() int { return 3 }
func (op *bnTrainOp) Type() hm.Type {
	t := tensorOf(len(op.g.shape))
	return hm.NewFnType(t, tensorOf(1), tensorOf(1), t)
}
func (op *bnTrainOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.g.shape.Clone(), nil }
func (op *bnTrainOp) String() string                                 { return fmt.Sprintf("BatchNorm{%s, %v}", op.name, op.g.shape) }
func (op *bnTrainOp) WriteHash(h hash.Hash)                          { hashString(h, op) }
func (op *bnTrainOp) Hashcode() uint32                               { return hashOf(op) }
func (op *bnTrainOp) DiffWRT(int) []bool                             { return []bool{true, true, true} }
func (op *bnTrainOp) Do(in ...G.Value) (G.Value, error) {
	return op.UsePreallocDo(newLike(in[0], op.g.shape...), in...)
}
func (op *bnTrainOp) UsePreallocDo(out G.Value, in ...G.Value) (G.Value, error) {
	if err := checkOut(out, op.g.shape); err != nil {
		return nil, err
	}
	var vr []float64
	switch x := in[0].Data().(type) {
	case []float32:
		vr = bnTrain(op.g, x, in[1].Data().([]float32), in[2].Data().([]float32), out.Data().([]float32), op.eps, &op.st)
	case []float64:
		vr = bnTrain(op.g, x, in[1].Data().([]float64), in[2].Data().([]float64), out.Data().([]float64), op.eps, &op.st)
	default:
		return nil, fmt.Errorf("batch norm: unsupported data %T", x)
	}
	unbias := float64(op.g.n*op.g.s) / float64(op.g.n*op.g.s-1)
	for c := range vr {
		op.mean[c] = float32((1-op.momentum)*float64(op.mean[c]) + op.momentum*op.st.mean[c])
		op.vr[c] = float32((1-op.momentum)*float64(op.vr[c]) + op.momentum*vr[c]*unbias)
	}
	return out, nil
}

func bnTrain[T float](g bnGeom, x, gamma, beta, y []T, eps float64, st *bnCache) []float64 {
	vr := bnStats(g, x, eps, st)
	forEach(g.c, func(c int) {
		a := float64(gamma[c]) * st.inv[c]
		b := float64(beta[c]) - a*st.mean[c]
		for i := 0; i < g.n; i++ {
			lo := (i*g.c + c) * g.s
			for j, v := range x[lo : lo+g.s] {
				y[lo+j] = T(a*float64(v) + b)
			}
		}
	})
	return vr
}

// SymDiff: with x̂ = (x − μ)·inv, ∂L/∂β = Σ dy, ∂L/∂γ = Σ dy·x̂ and
// ∂L/∂x = γ·inv·(dy − mean(dy) − x̂·mean(dy·x̂)), sums and means per channel.
// The gradient ops read the forward op's batch statistics; they take its
// output as an input, unread, so that they always run after it.
func (op *bnTrainOp) SymDiff(in G.Nodes, y, grad *G.Node) (G.Nodes, error) {
	var out G.Nodes
	for wrt := 0; wrt < 3; wrt++ {
		d, err := G.ApplyOp(&bnGradOp{fwd: op, wrt: wrt}, in[0], in[1], y, grad)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// bnGradOp computes one of the three gradients from x, γ and dy.
type bnGradOp struct {
	opBase
	fwd *bnTrainOp
	wrt int // 0: x, 1: γ, 2: β
}

func (op *bnGradOp) out() tensor.Shape {
	if op.wrt == 0 {
		return op.fwd.g.shape.Clone()
	}
	return tensor.Shape{op.fwd.g.c}
}
func (op *bnGradOp) Arity() int { return 4 }
func (op *bnGradOp) Type() hm.Type {
	t := tensorOf(len(op.fwd.g.shape))
	if op.wrt == 0 {
		return hm.NewFnType(t, tensorOf(1), t, t, t)
	}
	return hm.NewFnType(t, tensorOf(1), t, t, tensorOf(1))
}
func (op *bnGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.out(), nil }
func (op *bnGradOp) String() string {
	return fmt.Sprintf("BatchNormGrad{%s, %v, %d}", op.fwd.name, op.fwd.g.shape, op.wrt)
}
func (op *bnGradOp) WriteHash(h hash.Hash) { hashString(h, op) }
func (op *bnGradOp) Hashcode() uint32      { return hashOf(op) }
func (op *bnGradOp) DiffWRT(int) []bool    { return []bool{false, false, false, false} }
func (op *bnGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("batch norm: second derivatives are not implemented")
}
func (op *bnGradOp) Do(in ...G.Value) (G.Value, error) {
	return op.UsePreallocDo(newLike(in[0], op.out()...), in...)
}
func (op *bnGradOp) UsePreallocDo(out G.Value, in ...G.Value) (G.Value, error) {
	if err := checkOut(out, op.out()); err != nil {
		return nil, err
	}
	if len(op.fwd.st.inv) != op.fwd.g.c {
		return nil, fmt.Errorf("batch norm grad %s: the forward op has not run", op.fwd.name)
	}
	switch x := in[0].Data().(type) {
	case []float32:
		bnGrad(op.fwd.g, op.wrt, x, in[1].Data().([]float32), in[3].Data().([]float32), out.Data().([]float32), &op.fwd.st)
	case []float64:
		bnGrad(op.fwd.g, op.wrt, x, in[1].Data().([]float64), in[3].Data().([]float64), out.Data().([]float64), &op.fwd.st)
	default:
		return nil, fmt.Errorf("batch norm grad: unsupported data %T", x)
	}
	return out, nil
}

func bnGrad[T float](g bnGeom, wrt int, x, gamma, dy, out []T, st *bnCache) {
	m := float64(g.n * g.s)
	forEach(g.c, func(c int) {
		mean, inv := st.mean[c], st.inv[c]
		var sumDy, sumDyXh float64
		for i := 0; i < g.n; i++ {
			lo := (i*g.c + c) * g.s
			for j, d := range dy[lo : lo+g.s] {
				sumDy += float64(d)
				if wrt != 2 {
					sumDyXh += float64(d) * (float64(x[lo+j]) - mean)
				}
			}
		}
		sumDyXh *= inv
		switch wrt {
		case 1:
			out[c] = T(sumDyXh)
		case 2:
			out[c] = T(sumDy)
		default:
			a := float64(gamma[c]) * inv
			md, mdx := sumDy/m, sumDyXh/m
			for i := 0; i < g.n; i++ {
				lo := (i*g.c + c) * g.s
				for j, d := range dy[lo : lo+g.s] {
					xh := (float64(x[lo+j]) - mean) * inv
					out[lo+j] = T(a * (float64(d) - md - xh*mdx))
				}
			}
		}
	})
}

// bnInferOp: inputs x, γ, β, running mean, running variance;
// y = γ·(x − mean)/√(var + eps) + β, for inference only.
type bnInferOp struct {
	opBase
	g    bnGeom
	eps  float64
	name string
}

func (op *bnInferOp) Arity() int { return 5 }
func (op *bnInferOp) Type() hm.Type {
	t, v := tensorOf(len(op.g.shape)), tensorOf(1)
	return hm.NewFnType(t, v, v, v, v, t)
}
func (op *bnInferOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.g.shape.Clone(), nil }
func (op *bnInferOp) String() string {
	return fmt.Sprintf("BatchNormInfer{%s, %v}", op.name, op.g.shape)
}
func (op *bnInferOp) WriteHash(h hash.Hash) { hashString(h, op) }
func (op *bnInferOp) Hashcode() uint32      { return hashOf(op) }
func (op *bnInferOp) DiffWRT(int) []bool    { return []bool{false, false, false, false, false} }
func (op *bnInferOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("batch norm at inference has no gradient here (train with batch statistics)")
}
func (op *bnInferOp) Do(in ...G.Value) (G.Value, error) {
	return op.UsePreallocDo(newLike(in[0], op.g.shape...), in...)
}
func (op *bnInferOp) UsePreallocDo(out G.Value, in ...G.Value) (G.Value, error) {
	if err := checkOut(out, op.g.shape); err != nil {
		return nil, err
	}
	switch x := in[0].Data().(type) {
	case []float32:
		bnInfer(op.g, x, in[1].Data().([]float32), in[2].Data().([]float32), in[3].Data().([]float32), in[4].Data().([]float32), out.Data().([]float32), op.eps)
	case []float64:
		bnInfer(op.g, x, in[1].Data().([]float64), in[2].Data().([]float64), in[3].Data().([]float64), in[4].Data().([]float64), out.Data().([]float64), op.eps)
	default:
		return nil, fmt.Errorf("batch norm: unsupported data %T", x)
	}
	return out, nil
}

func bnInfer[T float](g bnGeom, x, gamma, beta, mean, vr, y []T, eps float64) {
	forEach(g.c, func(c int) {
		a := float64(gamma[c]) / math.Sqrt(float64(vr[c])+eps)
		b := float64(beta[c]) - a*float64(mean[c])
		for i := 0; i < g.n; i++ {
			lo := (i*g.c + c) * g.s
			for j, v := range x[lo : lo+g.s] {
				y[lo+j] = T(a*float64(v) + b)
			}
		}
	})
}
