package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Softplus in float64: values against log(1 + eˣ) (and its limits where
// that overflows or rounds to 0), gradients against central finite
// differences, on one core and in parallel (n above parallelMin).
func TestSoftplusOpFloat64(t *testing.T) {
	for _, n := range []int{50, parallelMin + 7} {
		rng := rand.New(rand.NewPCG(4, 5))
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = 6 * rng.NormFloat64()
		}
		xs[0], xs[1], xs[2], xs[3] = 0, 800, -800, 40
		g := G.NewGraph()
		x := G.NewTensor(g, tensor.Float64, 1, G.WithShape(n), G.WithValue(tensor.New(tensor.WithShape(n), tensor.WithBacking(xs))), G.WithName("x"))
		y, err := Softplus(x)
		if err != nil {
			t.Fatal(err)
		}
		wt := make([]float64, n)
		for i := range wt {
			wt[i] = float64(i%7) - 3
		}
		w := G.NewTensor(g, tensor.Float64, 1, G.WithShape(n), G.WithValue(tensor.New(tensor.WithShape(n), tensor.WithBacking(wt))), G.WithName("w"))
		cost := G.Must(G.Sum(G.Must(G.HadamardProd(y, w))))
		var yv G.Value
		G.Read(y, &yv)
		if _, err := G.Grad(cost, x); err != nil {
			t.Fatal(err)
		}
		vm := G.NewTapeMachine(g, G.BindDualValues(x))
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		gv, _ := x.Grad()
		grad := gv.Data().([]float64)
		f := func(v float64) float64 {
			switch {
			case v > 30:
				return v + math.Exp(-v)
			case v < -30:
				return math.Exp(v)
			}
			return math.Log(1 + math.Exp(v))
		}
		for i, v := range xs {
			if got := yv.Data().([]float64)[i]; math.Abs(got-f(v)) > 1e-12*math.Max(1, math.Abs(f(v))) {
				t.Fatalf("softplus(%v) = %v, want %v", v, got, f(v))
			}
			const h = 1e-6
			num := wt[i] * (f(v+h) - f(v-h)) / (2 * h)
			if math.Abs(grad[i]-num) > 1e-7*math.Max(1, math.Abs(num)) {
				t.Errorf("d/dx at %v = %v, finite difference %v", v, grad[i], num)
			}
		}
		vm.Close()
	}
}

// In float32 through our executor, the values equal gorgonia's softplus
// where that is finite.
func TestSoftplusMatchesGorgonia(t *testing.T) {
	xs := []float32{-20, -3, -0.5, 0, 0.5, 3, 20}
	ours := forwardValues(t, func(b *Builder, x *G.Node) (*G.Node, error) { return Softplus(x) }, xs, len(xs))
	theirs := forwardValues(t, func(b *Builder, x *G.Node) (*G.Node, error) { return G.Softplus(x) }, xs, len(xs))
	for i := range xs {
		if math.Abs(float64(ours[i]-theirs[i])) > 1e-6*math.Max(1, math.Abs(float64(theirs[i]))) {
			t.Errorf("softplus(%v): ours %v, gorgonia %v", xs[i], ours[i], theirs[i])
		}
	}
}
