package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
)

// Each activation's gradient (through an MLP, w.r.t. both input and weights)
// must match central finite differences, and repeated runs must not
// accumulate gradients.
func TestMLPGradientsMatchFiniteDifferences(t *testing.T) {
	for _, act := range Activations {
		t.Run(act, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(5, 6))
			m := NewMLP(rng, "m", []int{3, 5, 4, 1}, act)
			b := NewBuilder()
			x, xt := b.Input("x", 2, 3)
			y, err := m.Forward(b, x)
			if err != nil {
				t.Fatal(err)
			}
			cost := G.Must(G.Sum(G.Must(G.Square(y))))
			wrt := append(G.Nodes{x}, b.ParamNodes(m.Params())...)
			costOut := b.Read(cost)
			p, err := Compile(b, cost, wrt)
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
				return costOut.Scalar()
			}
			f()
			f() // a second run must give the same, not doubled, gradients
			vars := append([][]float32{xs}, func() (out [][]float32) {
				for _, q := range m.Params() {
					out = append(out, q.Data())
				}
				return
			}()...)
			var analytic [][]float32
			for _, n := range wrt {
				g, err := p.Grad(n)
				if err != nil {
					t.Fatal(err)
				}
				analytic = append(analytic, append([]float32(nil), g...))
			}
			const h = 1e-2
			for vi, v := range vars {
				for j := range v {
					orig := v[j]
					v[j] = orig + h
					fp := f()
					v[j] = orig - h
					fm := f()
					v[j] = orig
					num := (fp - fm) / (2 * h)
					got := float64(analytic[vi][j])
					// float32 central differences: error O(h²) plus rounding ~1e-4.
					if math.Abs(num-got) > 2e-3+2e-2*math.Abs(num) {
						t.Errorf("%s: d/d%s[%d] = %v, finite difference %v", act, name(vi), j, got, num)
					}
				}
			}
		})
	}
}

func name(i int) string {
	if i == 0 {
		return "x"
	}
	return fmt.Sprintf("param%d", i-1)
}
