package energy

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/vaebm/vaebm/core/nn"
)

// The composed network (fused conv+LipSwish, residual adds, 1×1 skips,
// pooling, global sum, linear head) must have the input and parameter
// gradients that central finite differences give.
func TestResNetGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	net := NewResNet(rng, 2, 4, 4, 3, []BlockSpec{{Out: 3, Down: true}, {Out: 5, Down: true}})
	b := nn.NewBuilder()
	x, xt := b.Input("x", 3, 2*4*4)
	e, err := net.Forward(b, x)
	if err != nil {
		t.Fatal(err)
	}
	if s := e.Shape(); len(s) != 2 || s[0] != 3 || s[1] != 1 {
		t.Fatalf("energy shape %v, want (3, 1)", s)
	}
	w, wt := b.Input("w", 3, 1)
	copy(wt.Data().([]float32), []float32{1, -2, 0.5})
	cost := G.Must(G.Sum(G.Must(G.HadamardProd(e, w))))
	out := b.Read(cost)
	wrt := append(G.Nodes{x}, b.ParamNodes(net.Params())...)
	p, err := nn.Compile(b, cost, wrt)
	if err != nil {
		t.Fatal(err)
	}
	xs := xt.Data().([]float32)
	for i := range xs {
		xs[i] = float32(rng.NormFloat64())
	}
	f := func() float64 {
		if err := p.Run(); err != nil {
			t.Fatal(err)
		}
		return out.Scalar()
	}
	f()
	vars := [][]float32{xs}
	var grads [][]float32
	for _, prm := range net.Params() {
		vars = append(vars, prm.Data())
	}
	for _, n := range wrt {
		g, err := p.Grad(n)
		if err != nil {
			t.Fatal(err)
		}
		grads = append(grads, append([]float32(nil), g...))
	}
	const h = 1e-2
	checked := 0
	for vi, v := range vars {
		for j := 0; j < len(v); j += 1 + len(v)/12 {
			orig := v[j]
			v[j] = orig + h
			fp := f()
			v[j] = orig - h
			fm := f()
			v[j] = orig
			num := (fp - fm) / (2 * h)
			if got := float64(grads[vi][j]); math.Abs(got-num) > 2e-2*(1+math.Abs(num)) {
				t.Errorf("variable %d element %d: gradient %v, finite difference %v", vi, j, got, num)
			}
			checked++
		}
	}
	if checked < 50 {
		t.Fatalf("only %d elements checked", checked)
	}
}

// After data-dependent initialisation every weight-normalised convolution
// outputs unit variance per channel on the initialisation batch, and zero
// mean where it has a bias.
func TestResNetDataInit(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	net := NewResNet(rng, 3, 8, 8, 4, []BlockSpec{{Out: 4, Down: true}, {Out: 6, Down: true}})
	net.WeightNormalize()
	const n = 16
	x := make([]float32, n*3*8*8)
	for i := range x {
		x[i] = float32(0.5 + 2*rng.NormFloat64())
	}
	if err := net.DataInit(x, n); err != nil {
		t.Fatal(err)
	}
	b := nn.NewBuilder()
	in, it := b.Input("x", n, 3*8*8)
	copy(it.Data().([]float32), x)
	taps := map[*nn.Conv]*G.Node{}
	if _, err := net.forward(b, in, taps); err != nil {
		t.Fatal(err)
	}
	outs := map[*nn.Conv]*nn.Output{}
	for c, z := range taps {
		outs[c] = b.Read(z)
	}
	p, err := nn.Compile(b, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(); err != nil {
		t.Fatal(err)
	}
	for c, o := range outs {
		z := o.Values()
		s := taps[c].Shape()
		ch, hw := s[1], s[2]*s[3]
		for k := 0; k < ch; k++ {
			var sum, ss float64
			for i := 0; i < n; i++ {
				for _, v := range z[(i*ch+k)*hw : (i*ch+k+1)*hw] {
					sum += float64(v)
					ss += float64(v) * float64(v)
				}
			}
			cnt := float64(n * hw)
			mean, variance := sum/cnt, ss/cnt-(sum/cnt)*(sum/cnt)
			// A skip convolution has no bias: only its scale is set.
			if (c.B != nil && math.Abs(mean) > 1e-3) || math.Abs(variance-1) > 1e-2 {
				t.Errorf("%s channel %d: mean %.4f variance %.4f after data init", c.W.Name, k, mean, variance)
			}
		}
	}
}
