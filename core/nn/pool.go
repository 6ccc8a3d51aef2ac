package nn

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// AvgPool2D averages non-overlapping k×k windows of x (N, C, H, W), H and W
// divisible by k. gorgonia's AveragePool2D divides by the wrong count and
// has a wrong gradient (see the README), so the core has its own.
func AvgPool2D(x *G.Node, k int) (*G.Node, error) {
	s := x.Shape()
	if len(s) != 4 || k < 1 || s[2]%k != 0 || s[3]%k != 0 {
		return nil, fmt.Errorf("avgpool: input %v is not (N,C,H,W) with H and W divisible by %d", s, k)
	}
	return G.ApplyOp(&avgPoolOp{k: k, in: tensor.Shape{s[0], s[1], s[2], s[3]}}, x)
}

type avgPoolOp struct {
	opBase
	k  int
	in tensor.Shape
}

func (op *avgPoolOp) out() tensor.Shape {
	return tensor.Shape{op.in[0], op.in[1], op.in[2] / op.k, op.in[3] / op.k}
}
func (op *avgPoolOp) Arity() int                                     { return 1 }
func (op *avgPoolOp) Type() hm.Type                                  { t := tensorOf(4); return hm.NewFnType(t, t) }
func (op *avgPoolOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.out(), nil }
func (op *avgPoolOp) String() string                                 { return fmt.Sprintf("AvgPool{%d, %v}", op.k, op.in) }
func (op *avgPoolOp) WriteHash(h hash.Hash)                          { hashString(h, op) }
func (op *avgPoolOp) Hashcode() uint32                               { return hashOf(op) }
func (op *avgPoolOp) DiffWRT(int) []bool                             { return []bool{true} }
func (op *avgPoolOp) Do(in ...G.Value) (G.Value, error) {
	return op.UsePreallocDo(newLike(in[0], op.out()...), in...)
}
func (op *avgPoolOp) UsePreallocDo(out G.Value, in ...G.Value) (G.Value, error) {
	if err := checkOut(out, op.out()); err != nil {
		return nil, err
	}
	switch x := in[0].Data().(type) {
	case []float32:
		avgPool(op.k, op.in, x, out.Data().([]float32))
	case []float64:
		avgPool(op.k, op.in, x, out.Data().([]float64))
	default:
		return nil, fmt.Errorf("avgpool: unsupported data %T", x)
	}
	return out, nil
}
func (op *avgPoolOp) SymDiff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(&avgPoolGradOp{avgPoolOp{k: op.k, in: op.in}}, grad)
	return G.Nodes{dx}, err
}

// avgPool averages each k×k window of every (n, c) plane. Each output is
// (((x₀₀ + x₀₁) + …) + x₁₀ + …)·(1/k²), rows of the window top to bottom,
// each left to right. The loops index windows directly: the former
// out[j/k] += v per input element paid an integer division for each and
// cost as much as a convolution's transforms in a Langevin step.
func avgPool[T float](k int, s tensor.Shape, x, y []T) {
	h, w := s[2], s[3]
	ho, wo := h/k, w/k
	inv := 1 / T(k*k)
	forEach(s[0]*s[1], func(pl int) {
		src, dst := x[pl*h*w:(pl+1)*h*w], y[pl*ho*wo:(pl+1)*ho*wo]
		for i := 0; i < ho; i++ {
			out := dst[i*wo : (i+1)*wo]
			if k == 2 {
				r0, r1 := src[2*i*w:(2*i+1)*w], src[(2*i+1)*w:(2*i+2)*w]
				for j := range out {
					out[j] = (r0[2*j] + r0[2*j+1] + r1[2*j] + r1[2*j+1]) * inv
				}
				continue
			}
			for j := range out {
				var sum T
				for di := 0; di < k; di++ {
					row := src[(i*k+di)*w+j*k : (i*k+di)*w+j*k+k]
					for _, v := range row {
						sum += v
					}
				}
				out[j] = sum * inv
			}
		}
	})
}

// avgPoolGradOp spreads ∂L/∂y evenly over each window.
type avgPoolGradOp struct{ avgPoolOp }

func (op *avgPoolGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.in.Clone(), nil }
func (op *avgPoolGradOp) String() string                                 { return fmt.Sprintf("AvgPoolGrad{%d, %v}", op.k, op.in) }
func (op *avgPoolGradOp) WriteHash(h hash.Hash)                          { hashString(h, op) }
func (op *avgPoolGradOp) Hashcode() uint32                               { return hashOf(op) }
func (op *avgPoolGradOp) DiffWRT(int) []bool                             { return []bool{false} }
func (op *avgPoolGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("avgpool: second derivatives are not implemented")
}
func (op *avgPoolGradOp) Do(in ...G.Value) (G.Value, error) {
	return op.UsePreallocDo(newLike(in[0], op.in...), in...)
}
func (op *avgPoolGradOp) UsePreallocDo(out G.Value, in ...G.Value) (G.Value, error) {
	if err := checkOut(out, op.in); err != nil {
		return nil, err
	}
	switch dy := in[0].Data().(type) {
	case []float32:
		avgPoolGrad(op.k, op.in, dy, out.Data().([]float32))
	case []float64:
		avgPoolGrad(op.k, op.in, dy, out.Data().([]float64))
	default:
		return nil, fmt.Errorf("avgpool grad: unsupported data %T", dy)
	}
	return out, nil
}

// avgPoolGrad writes ∂L/∂y·(1/k²) over each window, without a division
// per element (see avgPool).
func avgPoolGrad[T float](k int, s tensor.Shape, dy, dx []T) {
	h, w := s[2], s[3]
	ho, wo := h/k, w/k
	inv := 1 / T(k*k)
	forEach(s[0]*s[1], func(pl int) {
		src, dst := dy[pl*ho*wo:(pl+1)*ho*wo], dx[pl*h*w:(pl+1)*h*w]
		for i := 0; i < ho; i++ {
			in := src[i*wo : (i+1)*wo]
			if k == 2 {
				r0, r1 := dst[2*i*w:(2*i+1)*w], dst[(2*i+1)*w:(2*i+2)*w]
				for j, g := range in {
					v := g * inv
					r0[2*j], r0[2*j+1], r1[2*j], r1[2*j+1] = v, v, v, v
				}
				continue
			}
			for di := 0; di < k; di++ {
				row := dst[(i*k+di)*w : (i*k+di+1)*w]
				for j, g := range in {
					v := g * inv
					for dj := range k {
						row[j*k+dj] = v
					}
				}
			}
		}
	})
}

// SumSpatial sums x (N, C, H, W) over H and W, giving (N, C): the global
// sum pooling of the energy network (Table 7). gorgonia's Sum over axes 2
// and 3 of a 4-D tensor has a wrong gradient (see the README).
func SumSpatial(x *G.Node) (*G.Node, error) {
	s := x.Shape()
	if len(s) != 4 {
		return nil, fmt.Errorf("sum over space: input %v is not (N,C,H,W)", s)
	}
	return G.ApplyOp(&sumSpatialOp{in: tensor.Shape{s[0], s[1], s[2], s[3]}}, x)
}

type sumSpatialOp struct {
	opBase
	in tensor.Shape
}

func (op *sumSpatialOp) Arity() int    { return 1 }
func (op *sumSpatialOp) Type() hm.Type { return hm.NewFnType(tensorOf(4), tensorOf(2)) }
func (op *sumSpatialOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.in[0], op.in[1]}, nil
}
func (op *sumSpatialOp) String() string        { return fmt.Sprintf("SumSpatial{%v}", op.in) }
func (op *sumSpatialOp) WriteHash(h hash.Hash) { hashString(h, op) }
func (op *sumSpatialOp) Hashcode() uint32      { return hashOf(op) }
func (op *sumSpatialOp) DiffWRT(int) []bool    { return []bool{true} }
func (op *sumSpatialOp) Do(in ...G.Value) (G.Value, error) {
	return op.UsePreallocDo(newLike(in[0], op.in[0], op.in[1]), in...)
}
func (op *sumSpatialOp) UsePreallocDo(out G.Value, in ...G.Value) (G.Value, error) {
	if err := checkOut(out, tensor.Shape{op.in[0], op.in[1]}); err != nil {
		return nil, err
	}
	hw := op.in[2] * op.in[3]
	switch x := in[0].Data().(type) {
	case []float32:
		sumPlanes(x, out.Data().([]float32), hw)
	case []float64:
		sumPlanes(x, out.Data().([]float64), hw)
	default:
		return nil, fmt.Errorf("sum over space: unsupported data %T", x)
	}
	return out, nil
}
func (op *sumSpatialOp) SymDiff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(&spreadOp{in: op.in}, grad)
	return G.Nodes{dx}, err
}

func sumPlanes[T float](x, y []T, hw int) {
	for i := range y {
		var s T
		for _, v := range x[i*hw : (i+1)*hw] {
			s += v
		}
		y[i] = s
	}
}

// spreadOp copies each (n, c) value of ∂L/∂y over its H×W plane.
type spreadOp struct {
	opBase
	in tensor.Shape
}

func (op *spreadOp) Arity() int    { return 1 }
func (op *spreadOp) Type() hm.Type { return hm.NewFnType(tensorOf(2), tensorOf(4)) }
func (op *spreadOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.in.Clone(), nil
}
func (op *spreadOp) String() string        { return fmt.Sprintf("Spread{%v}", op.in) }
func (op *spreadOp) WriteHash(h hash.Hash) { hashString(h, op) }
func (op *spreadOp) Hashcode() uint32      { return hashOf(op) }
func (op *spreadOp) DiffWRT(int) []bool    { return []bool{false} }
func (op *spreadOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("sum over space: second derivatives are not implemented")
}
func (op *spreadOp) Do(in ...G.Value) (G.Value, error) {
	return op.UsePreallocDo(newLike(in[0], op.in...), in...)
}
func (op *spreadOp) UsePreallocDo(out G.Value, in ...G.Value) (G.Value, error) {
	if err := checkOut(out, op.in); err != nil {
		return nil, err
	}
	hw := op.in[2] * op.in[3]
	switch dy := in[0].Data().(type) {
	case []float32:
		spread(dy, out.Data().([]float32), hw)
	case []float64:
		spread(dy, out.Data().([]float64), hw)
	default:
		return nil, fmt.Errorf("sum over space grad: unsupported data %T", dy)
	}
	return out, nil
}

func spread[T float](y, x []T, hw int) {
	for i, v := range y {
		p := x[i*hw : (i+1)*hw]
		for j := range p {
			p[j] = v
		}
	}
}

// sumAllButAxis1Op sums (N, O, H, W) to (O): a convolution's bias gradient.
type sumAllButAxis1Op struct{ opBase }

func (sumAllButAxis1Op) Arity() int    { return 1 }
func (sumAllButAxis1Op) Type() hm.Type { return hm.NewFnType(tensorOf(4), tensorOf(1)) }
func (sumAllButAxis1Op) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, ok := in[0].(tensor.Shape)
	if !ok || len(s) != 4 {
		return nil, fmt.Errorf("bias gradient: input shape %v", in[0])
	}
	return tensor.Shape{s[1]}, nil
}
func (sumAllButAxis1Op) String() string           { return "SumAllButAxis1" }
func (op sumAllButAxis1Op) WriteHash(h hash.Hash) { hashString(h, op) }
func (op sumAllButAxis1Op) Hashcode() uint32      { return hashOf(op) }
func (sumAllButAxis1Op) DiffWRT(int) []bool       { return []bool{false} }
func (sumAllButAxis1Op) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("bias gradient: second derivatives are not implemented")
}
func (op sumAllButAxis1Op) Do(in ...G.Value) (G.Value, error) {
	return op.UsePreallocDo(newLike(in[0], in[0].Shape()[1]), in...)
}
func (sumAllButAxis1Op) UsePreallocDo(out G.Value, in ...G.Value) (G.Value, error) {
	s := in[0].Shape()
	if err := checkOut(out, tensor.Shape{s[1]}); err != nil {
		return nil, err
	}
	switch dy := in[0].Data().(type) {
	case []float32:
		sumChannels(dy, out.Data().([]float32), s[0], s[1], s[2]*s[3])
	case []float64:
		sumChannels(dy, out.Data().([]float64), s[0], s[1], s[2]*s[3])
	default:
		return nil, fmt.Errorf("bias gradient: unsupported data %T", dy)
	}
	return out, nil
}

// sumChannels sums x (n, c, hw) over n and hw into y (c). The images are
// split between the cores, each summing its planes with four accumulators
// (one add chain per element would wait on the add's latency), and the
// cores' partial sums are added in a fixed order, so the result does not
// depend on timing.
func sumChannels[T float](x, y []T, n, c, hw int) {
	p := numWorkers(n)
	parts := make([]T, p*c) // c floats per core: 0.5 KiB for 64 channels
	forWorkers(n, func(k, lo, hi int) {
		part := parts[k*c : (k+1)*c]
		for i := lo; i < hi; i++ {
			for o := range part {
				part[o] += sum4(x[(i*c+o)*hw : (i*c+o+1)*hw])
			}
		}
	})
	copy(y, parts[:c])
	for k := 1; k < p; k++ {
		for o, v := range parts[k*c : (k+1)*c] {
			y[o] += v
		}
	}
}

// sum4 adds up x with four independent accumulators.
func sum4[T float](x []T) T {
	var s0, s1, s2, s3 T
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i]
		s1 += x[i+1]
		s2 += x[i+2]
		s3 += x[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// Upsample2D repeats each pixel of x (N, C, H, W) into a k×k block, giving
// (N, C, k·H, k·W): nearest-neighbour upsampling for decoders. Its gradient
// sums each block, k² times the average pooling.
func Upsample2D(x *G.Node, k int) (*G.Node, error) {
	s := x.Shape()
	if len(s) != 4 || k < 1 {
		return nil, fmt.Errorf("upsample: input %v is not (N,C,H,W) or factor %d < 1", s, k)
	}
	return G.ApplyOp(&upsampleOp{k: k, in: tensor.Shape{s[0], s[1], s[2], s[3]}}, x)
}

type upsampleOp struct {
	opBase
	k  int
	in tensor.Shape
}

func (op *upsampleOp) out() tensor.Shape {
	return tensor.Shape{op.in[0], op.in[1], op.in[2] * op.k, op.in[3] * op.k}
}
func (op *upsampleOp) Arity() int                                     { return 1 }
func (op *upsampleOp) Type() hm.Type                                  { t := tensorOf(4); return hm.NewFnType(t, t) }
func (op *upsampleOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.out(), nil }
func (op *upsampleOp) String() string                                 { return fmt.Sprintf("Upsample{%d, %v}", op.k, op.in) }
func (op *upsampleOp) WriteHash(h hash.Hash)                          { hashString(h, op) }
func (op *upsampleOp) Hashcode() uint32                               { return hashOf(op) }
func (op *upsampleOp) DiffWRT(int) []bool                             { return []bool{true} }
func (op *upsampleOp) Do(in ...G.Value) (G.Value, error) {
	return op.UsePreallocDo(newLike(in[0], op.out()...), in...)
}
func (op *upsampleOp) UsePreallocDo(out G.Value, in ...G.Value) (G.Value, error) {
	if err := checkOut(out, op.out()); err != nil {
		return nil, err
	}
	switch x := in[0].Data().(type) {
	case []float32:
		upsample(op.k, op.in, x, out.Data().([]float32))
	case []float64:
		upsample(op.k, op.in, x, out.Data().([]float64))
	default:
		return nil, fmt.Errorf("upsample: unsupported data %T", x)
	}
	return out, nil
}

// SymDiff: ∂L/∂x sums each k×k block of ∂L/∂y, i.e. k² · AvgPool(∂L/∂y).
func (op *upsampleOp) SymDiff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(&blockSumOp{avgPoolOp{k: op.k, in: op.out()}}, grad)
	return G.Nodes{dx}, err
}

func upsample[T float](k int, s tensor.Shape, x, y []T) {
	h, w := s[2], s[3]
	forEach(s[0]*s[1], func(pl int) {
		src, dst := x[pl*h*w:(pl+1)*h*w], y[pl*h*w*k*k:(pl+1)*h*w*k*k]
		for i := 0; i < h; i++ {
			// Widen input row i once, then copy it to the other k−1 rows
			// of its block (a division per element cost 2.4 ms of a VAE step).
			row, in := dst[i*k*w*k:(i*k+1)*w*k], src[i*w:(i+1)*w]
			if k == 2 {
				for j, v := range in {
					row[2*j], row[2*j+1] = v, v
				}
			} else {
				for j, v := range in {
					for r := j * k; r < (j+1)*k; r++ {
						row[r] = v
					}
				}
			}
			for r := 1; r < k; r++ {
				copy(dst[(i*k+r)*w*k:(i*k+r+1)*w*k], row)
			}
		}
	})
}

// blockSumOp sums non-overlapping k×k blocks: average pooling times k².
type blockSumOp struct{ avgPoolOp }

func (op *blockSumOp) String() string        { return fmt.Sprintf("BlockSum{%d, %v}", op.k, op.in) }
func (op *blockSumOp) WriteHash(h hash.Hash) { hashString(h, op) }
func (op *blockSumOp) Hashcode() uint32      { return hashOf(op) }
func (op *blockSumOp) DiffWRT(int) []bool    { return []bool{false} }
func (op *blockSumOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("upsample: second derivatives are not implemented")
}
func (op *blockSumOp) Do(in ...G.Value) (G.Value, error) {
	return op.UsePreallocDo(newLike(in[0], op.out()...), in...)
}
func (op *blockSumOp) UsePreallocDo(out G.Value, in ...G.Value) (G.Value, error) {
	v, err := op.avgPoolOp.UsePreallocDo(out, in...)
	if err != nil {
		return nil, err
	}
	k2 := float64(op.k * op.k)
	switch d := v.Data().(type) {
	case []float32:
		for i := range d {
			d[i] *= float32(k2)
		}
	case []float64:
		for i := range d {
			d[i] *= k2
		}
	}
	return v, nil
}
