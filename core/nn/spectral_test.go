package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// Power iteration must converge to the largest singular value (checked with
// gonum's SVD), and the added gradient must be Coef·u vᵀ = Coef·∂σ/∂W
// (checked by finite differences of σ computed by SVD).
func TestSpectralRegularizer(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	l := NewLinear(rng, "l", 5, 3)
	ps := l.Params()
	s := NewSpectralRegularizer(0.2, ps, rng)
	grads := [][]float32{make([]float32, 15), make([]float32, 3)}
	pen := s.AddGrad(ps, grads, 200)
	sigma := func() float64 {
		var svd mat.SVD
		d := l.W.Data()
		f := make([]float64, len(d))
		for i, v := range d {
			f[i] = float64(v)
		}
		svd.Factorize(mat.NewDense(5, 3, f), mat.SVDNone)
		return svd.Values(nil)[0]
	}
	if want := 0.2 * sigma(); math.Abs(pen-want) > 1e-5 {
		t.Fatalf("penalty %v, want %v", pen, want)
	}
	for _, g := range grads[1] {
		if g != 0 {
			t.Fatal("bias gradient changed")
		}
	}
	const h = 1e-3
	w := l.W.Data()
	for j := range w {
		orig := w[j]
		w[j] = orig + h
		sp := sigma()
		w[j] = orig - h
		sm := sigma()
		w[j] = orig
		if num := 0.2 * (sp - sm) / (2 * h); math.Abs(num-float64(grads[0][j])) > 2e-3 {
			t.Errorf("grad[%d] = %v, finite difference %v", j, grads[0][j], num)
		}
	}
}

// A conv kernel is regularised as an O × C·K·K matrix; under weight
// normalisation the penalty is σ of the effective kernel g·v/‖v‖ and its
// gradient reaches both v and g. Both are checked against SVD and finite
// differences.
func TestSpectralRegularizerConvAndWeightNorm(t *testing.T) {
	for _, wn := range []bool{false, true} {
		rng := rand.New(rand.NewPCG(4, 5))
		c := NewConv(rng, "c", 2, 3, 3, 1, 1, true)
		if wn {
			c.WeightNormalize()
			for i := range c.Gain.Data() {
				c.Gain.Data()[i] = float32(0.5 + rng.Float64())
			}
		}
		ps := c.Params()
		s := NewSpectralRegularizer(0.2, ps, rng)
		sigma := func() float64 {
			w := toF64(make([]float64, len(c.W.Data())), c.W.Data())
			if wn {
				eff := make([]float64, len(w))
				weightNorm(w, toF64(make([]float64, 3), c.Gain.Data()), eff, 3, 18)
				w = eff
			}
			var svd mat.SVD
			svd.Factorize(mat.NewDense(3, 18, w), mat.SVDNone)
			return svd.Values(nil)[0]
		}
		grads := make([][]float32, len(ps))
		for i, p := range ps {
			grads[i] = make([]float32, len(p.Data()))
		}
		pen := s.AddGrad(ps, grads, 300)
		if want := 0.2 * sigma(); math.Abs(pen-want) > 1e-5 {
			t.Fatalf("weight norm %v: penalty %v, want %v", wn, pen, want)
		}
		const h = 1e-3
		for pi, p := range ps {
			if p == c.B {
				continue
			}
			d := p.Data()
			for j := range d {
				orig := d[j]
				d[j] = orig + h
				sp := sigma()
				d[j] = orig - h
				sm := sigma()
				d[j] = orig
				if num := 0.2 * (sp - sm) / (2 * h); math.Abs(num-float64(grads[pi][j])) > 2e-3 {
					t.Errorf("weight norm %v: %s[%d] gradient %v, finite difference %v", wn, p.Name, j, grads[pi][j], num)
				}
			}
		}
	}
}
