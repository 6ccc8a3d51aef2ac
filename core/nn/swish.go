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

	"github.com/vaebm/vaebm/core/nn/internal/vec"
)

// SIMD enables the AVX2+FMA assembly kernels (core/nn/internal/vec) of the
// float32 Swish and its gradient, and of Adam's update, where the CPU has
// AVX2 and FMA; off, or on other CPUs, in float64 and with -tags purego, the
// Go loops run. It is a switch for A/B benchmarks and tests; set it only
// while no op or optimiser step runs.
var SIMD = true

// useSIMD reports whether the assembly kernels run.
func useSIMD() bool { return SIMD && vec.AVX2FMA }

// Swish applies scale·x·σ(x) in one pass. gorgonia has no Swish; composing
// it from Sigmoid and HadamardProd costs two ops, two buffers and a float64
// exp per element, which made it the largest single cost of a Langevin step.
// scale = 1 is Swish; scale = 1/1.1 is LipSwish (App. E).
func Swish(x *G.Node, scale float64) (*G.Node, error) {
	return G.ApplyOp(swishOp{scale: scale, sig: &sigmoidCache{}}, x)
}

// sigmoidCache carries σ(x) from the forward op to its gradient op, which
// runs later in the same pass, so the backward pass needs no exp.
type sigmoidCache struct {
	f32 []float32
	f64 []float64
}

type swishOp struct {
	scale float64
	sig   *sigmoidCache
}

func (op swishOp) Arity() int    { return 1 }
func (op swishOp) Type() hm.Type { a := hm.TypeVariable('a'); return hm.NewFnType(a, a) }
func (op swishOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return in[0].(tensor.Shape).Clone(), nil
}
func (op swishOp) ReturnsPtr() bool      { return false }
func (op swishOp) CallsExtern() bool     { return false }
func (op swishOp) OverwritesInput() int  { return -1 }
func (op swishOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op swishOp) Hashcode() uint32      { return hashOf(op) }
func (op swishOp) String() string        { return fmt.Sprintf("Swish{%g}", op.scale) }
func (op swishOp) DiffWRT(int) []bool    { return []bool{true} }

func (op swishOp) Do(in ...G.Value) (G.Value, error) {
	x := in[0].(tensor.Tensor)
	out := tensor.New(tensor.WithShape(x.Shape().Clone()...), tensor.Of(x.Dtype()))
	return op.UsePreallocDo(out, in...)
}

func (op swishOp) UsePreallocDo(prealloc G.Value, in ...G.Value) (G.Value, error) {
	switch x := in[0].Data().(type) {
	case []float32:
		y, sig, s := prealloc.Data().([]float32), grow(&op.sig.f32, len(x)), float32(op.scale)
		parallel(len(x), func(lo, hi int) { swishInto(s, x[lo:hi], nil, sig[lo:hi], y[lo:hi], exp32) })
	case []float64:
		y, sig := prealloc.Data().([]float64), grow(&op.sig.f64, len(x))
		parallel(len(x), func(lo, hi int) { swishInto(op.scale, x[lo:hi], nil, sig[lo:hi], y[lo:hi], math.Exp) })
	default:
		return nil, fmt.Errorf("swish: unsupported data %T", x)
	}
	return prealloc, nil
}

func (op swishOp) SymDiff(inputs G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	gx, err := G.ApplyOp(swishGradOp(op), inputs[0], grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{gx}, nil
}

func grow[T float](buf *[]T, n int) []T {
	if len(*buf) < n {
		*buf = make([]T, n)
	}
	return (*buf)[:n]
}

// swishGradOp computes ∂L/∂x = g · scale · (σ(x) + x σ(x)(1 − σ(x))),
// with σ(x) from the forward op's cache.
type swishGradOp swishOp

func (op swishGradOp) Arity() int { return 2 }
func (op swishGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a, a)
}
func (op swishGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return in[0].(tensor.Shape).Clone(), nil
}
func (op swishGradOp) ReturnsPtr() bool      { return false }
func (op swishGradOp) CallsExtern() bool     { return false }
func (op swishGradOp) OverwritesInput() int  { return -1 }
func (op swishGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op swishGradOp) Hashcode() uint32      { return hashOf(op) }
func (op swishGradOp) String() string        { return fmt.Sprintf("SwishGrad{%g}", op.scale) }
func (op swishGradOp) DiffWRT(int) []bool    { return []bool{false, false} }
func (op swishGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("swish: second derivatives are not implemented")
}

func (op swishGradOp) Do(in ...G.Value) (G.Value, error) {
	x := in[0].(tensor.Tensor)
	out := tensor.New(tensor.WithShape(x.Shape().Clone()...), tensor.Of(x.Dtype()))
	return op.UsePreallocDo(out, in...)
}

func (op swishGradOp) UsePreallocDo(prealloc G.Value, in ...G.Value) (G.Value, error) {
	switch x := in[0].Data().(type) {
	case []float32:
		if err := swishGradFrom(float32(op.scale), in[1].Data().([]float32), x, op.sig.f32, prealloc.Data().([]float32)); err != nil {
			return nil, err
		}
	case []float64:
		if err := swishGradFrom(op.scale, in[1].Data().([]float64), x, op.sig.f64, prealloc.Data().([]float64)); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("swish grad: unsupported data %T", x)
	}
	return prealloc, nil
}

// swishInto writes y = scale·z·σ(z) for z in x and keeps σ(z) in sig (and
// z in pre, when not nil) for the gradient; x and y may be the same slice.
// Swish and the fused Conv2DSwish both use it. float32 goes through the
// AVX2+FMA kernel when useSIMD (it computes exp32's algorithm itself, with
// FMA: σ within 2.5e-7 relative of the Go loop's), otherwise through exp.
func swishInto[T float](scale T, x, pre, sig, y []T, exp func(T) T) {
	if x32, ok := any(x).([]float32); ok && len(x) > 0 && useSIMD() {
		sig32, y32 := any(sig).([]float32), any(y).([]float32)
		if len(sig) < len(x) || len(y) < len(x) || (pre != nil && len(pre) < len(x)) {
			panic(fmt.Sprintf("swish: buffers of %d, %d, %d for %d inputs", len(pre), len(sig), len(y), len(x)))
		}
		var p *float32
		if pre != nil {
			p = &any(pre).([]float32)[0]
		}
		vec.Swish(&x32[0], p, &sig32[0], &y32[0], len(x), float32(scale))
		return
	}
	for i, z := range x {
		s := 1 / (1 + exp(-z))
		if pre != nil {
			pre[i] = z
		}
		sig[i] = s
		y[i] = scale * z * s
	}
}

// swishGradFrom writes ∂L/∂z = g·scale·(σ + z·σ(1 − σ)) from the z and σ(z)
// its forward pass kept. The AVX2 kernel (float32, useSIMD) computes the
// same operations in the same order, so the same bits.
func swishGradFrom[T float](scale T, g, pre, sig, dz []T) error {
	if len(pre) != len(g) || len(sig) != len(g) {
		return fmt.Errorf("swish grad: forward cache holds %d inputs and %d sigmoids for %d gradients (forward not run?)", len(pre), len(sig), len(g))
	}
	if len(dz) < len(g) {
		return fmt.Errorf("swish grad: output holds %d values for %d gradients", len(dz), len(g))
	}
	g32, simd := any(g).([]float32)
	simd = simd && useSIMD()
	parallel(len(g), func(lo, hi int) {
		if simd && hi > lo {
			p, s, d := any(pre).([]float32), any(sig).([]float32), any(dz).([]float32)
			vec.SwishGrad(&g32[lo], &p[lo], &s[lo], &d[lo], hi-lo, float32(scale))
			return
		}
		for i := lo; i < hi; i++ {
			s := sig[i]
			dz[i] = g[i] * scale * (s + pre[i]*s*(1-s))
		}
	})
	return nil
}

func hashOf(s fmt.Stringer) uint32 {
	var h uint32 = 2166136261
	for _, c := range []byte(s.String()) {
		h = (h ^ uint32(c)) * 16777619
	}
	return h
}

// parallelMin is the element count below which splitting across cores
// costs more than it saves.
const parallelMin = 1 << 14

// parallel runs f over [0, n) split across the available cores.
func parallel(n int, f func(lo, hi int)) {
	p := runtime.GOMAXPROCS(0)
	if n < parallelMin || p == 1 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	for k := 0; k < p; k++ {
		lo, hi := n*k/p, n*(k+1)/p
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(lo, hi)
		}()
	}
	wg.Wait()
}

// exp32 is e^x in float32 with relative error below 3e-7 over the whole
// float32 range (tested against math.Exp), about 4× faster than going
// through math.Exp in float64: Cody–Waite reduction x = k·ln2 + r with
// |r| ≤ ln2/2, a degree-6 Taylor polynomial for e^r, and 2^k put into the
// exponent bits. Swish and its gradient spend most of their time here.
func exp32(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
		// Adding 1.5·2²³ rounds a float32 of magnitude below 2²² to the
		// nearest integer, which then sits in the low mantissa bits: a
		// branch-free round (a data-dependent branch here cost 5 ns a call).
		magic = 12582912.0
	)
	if x > 88.72283 {
		return float32(math.Inf(1))
	}
	if x < -87.33654 {
		return 0
	}
	t := float32(x*log2e) + magic
	fk := t - magic
	k := int32(math.Float32bits(t)) - 0x4B400000
	r := x - fk*ln2hi - fk*ln2lo
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720))))))
	if k > 127 { // 2^128 is not a float32; the product still is
		return p * 2 * math.Float32frombits(uint32(254)<<23)
	}
	return p * math.Float32frombits(uint32(k+127)<<23)
}
