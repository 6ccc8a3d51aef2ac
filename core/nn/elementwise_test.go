package nn

import (
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
)

// The executor runs our add in place of gorgonia's for same-shaped tensors
// (and not for a tensor plus a scalar), with gorgonia's result and its
// gradients, on inputs large enough to split over the cores.
func TestFastAddMatchesGorgonia(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	n := parallelMin + 3
	b := NewBuilder()
	x, xt := b.Input("x", n)
	y, yt := b.Input("y", n)
	for i := range n {
		xt.Data().([]float32)[i] = float32(rng.NormFloat64())
		yt.Data().([]float32)[i] = float32(rng.NormFloat64())
	}
	sum := G.Must(G.Add(x, y))
	shifted := G.Must(G.Add(sum, b.Scalar(2)))
	// cost = Σ (x + y + 2) ⊙ x: ∂/∂x = 2x + y + 2, ∂/∂y = x.
	cost := G.Must(G.Sum(G.Must(G.HadamardProd(shifted, x))))
	out := b.Read(sum)
	prog, err := Compile(b, cost, G.Nodes{x, y})
	if err != nil {
		t.Fatal(err)
	}
	ours := 0
	for _, st := range prog.steps {
		if _, ok := st.op.(*addOp); ok {
			ours++
		}
	}
	// x + y, and the gradient accumulation of x (used twice); not sum + 2.
	if ours != 2 {
		t.Fatalf("%d adds of ours in the program, want 2", ours)
	}
	for run := 0; run < 2; run++ { // the second run reuses the buffers
		if err := prog.Run(); err != nil {
			t.Fatal(err)
		}
		gx, err := prog.Grad(x)
		if err != nil {
			t.Fatal(err)
		}
		gy, err := prog.Grad(y)
		if err != nil {
			t.Fatal(err)
		}
		xs, ys := xt.Data().([]float32), yt.Data().([]float32)
		for i := range n {
			if out.Values()[i] != xs[i]+ys[i] {
				t.Fatalf("x+y[%d] = %v, want %v", i, out.Values()[i], xs[i]+ys[i])
			}
			if want := 2*xs[i] + ys[i] + 2; abs32(gx[i]-want) > 1e-5*(1+abs32(want)) {
				t.Fatalf("∂/∂x[%d] = %v, want %v", i, gx[i], want)
			}
			if gy[i] != xs[i] {
				t.Fatalf("∂/∂y[%d] = %v, want %v", i, gy[i], xs[i])
			}
		}
	}
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// A view (here rows 1–2 of x, a slice gorgonia does not copy) added to a
// tensor of its shape gets gorgonia's sum, whichever op runs it.
func TestFastAddOfView(t *testing.T) {
	b := NewBuilder()
	x, xt := b.Input("x", 4, 3)
	y, yt := b.Input("y", 2, 3)
	for i := range 12 {
		xt.Data().([]float32)[i] = float32(i)
	}
	for i := range 6 {
		yt.Data().([]float32)[i] = float32(100 * i)
	}
	s := G.Must(G.Slice(x, G.S(1, 3)))
	out := b.Read(G.Must(G.Add(s, y)))
	prog, err := Compile(b, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for run := 0; run < 2; run++ {
		if err := prog.Run(); err != nil {
			t.Fatal(err)
		}
		for i, v := range out.Values() {
			if want := float32(3+i) + float32(100*i); v != want {
				t.Fatalf("run %d: sum[%d] = %v, want %v", run, i, v, want)
			}
		}
	}
}
