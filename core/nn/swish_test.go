package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Swish and LipSwish in float64: values against the naive formula and
// gradients against central finite differences.
func TestSwishOpFloat64(t *testing.T) {
	for _, scale := range []float64{1, 1 / 1.1} {
		rng := rand.New(rand.NewPCG(4, 4))
		xs := make([]float64, 50)
		for i := range xs {
			xs[i] = 4 * rng.NormFloat64()
		}
		checkUnaryFloat64(t, fmt.Sprintf("swish scale %v", scale), func(x *G.Node) (*G.Node, error) { return Swish(x, scale) },
			func(v float64) float64 { return scale * v / (1 + math.Exp(-v)) }, xs)
	}
}

// checkUnaryFloat64 runs op on xs in float64 through gorgonia's tape
// machine and checks its values against f (to 1e-12 relative) and the
// gradient of Σ wᵢ op(x)ᵢ, with distinct weights wᵢ, against central finite
// differences of f (to 1e-7).
func checkUnaryFloat64(t *testing.T, name string, op func(*G.Node) (*G.Node, error), f func(float64) float64, xs []float64) {
	t.Helper()
	n := len(xs)
	g := G.NewGraph()
	x := G.NewTensor(g, tensor.Float64, 1, G.WithShape(n), G.WithValue(tensor.New(tensor.WithShape(n), tensor.WithBacking(xs))), G.WithName("x"))
	y, err := op(x)
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
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	gv, _ := x.Grad()
	grad := gv.Data().([]float64)
	for i, v := range xs {
		if got, want := yv.Data().([]float64)[i], f(v); math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
			t.Fatalf("%s(%v) = %v, want %v", name, v, got, want)
		}
		const h = 1e-6
		num := wt[i] * (f(v+h) - f(v-h)) / (2 * h)
		if math.Abs(grad[i]-num) > 1e-7*math.Max(1, math.Abs(num)) {
			t.Errorf("%s: d/dx at %v = %v, finite difference %v", name, v, grad[i], num)
		}
	}
}

func TestExp32Accuracy(t *testing.T) {
	worst, at := 0.0, float32(0)
	for x := float32(-87.3); x < 88.7; x += 0.00173 {
		want := math.Exp(float64(x))
		got := float64(exp32(x))
		if rel := math.Abs(got-want) / want; rel > worst {
			worst, at = rel, x
		}
	}
	if worst > 3e-7 {
		t.Fatalf("exp32 relative error %.3g at %v", worst, at)
	}
	if exp32(-100) != 0 || !math.IsInf(float64(exp32(100)), 1) || exp32(0) != 1 {
		t.Fatalf("exp32 ends: %v %v %v", exp32(-100), exp32(100), exp32(0))
	}
	t.Logf("worst relative error %.3g at %v", worst, at)
}
