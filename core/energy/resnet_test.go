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
