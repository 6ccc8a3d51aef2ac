package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// splitGemm gives the naive product for every transposition, split by
// rows and not at all (few rows, little work).
func TestSplitGemmMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for _, sz := range [][3]int{{256, 96, 128}, {301, 72, 100}, {8, 512, 160}, {5, 7, 3}} {
		m, n, k := sz[0], sz[1], sz[2]
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				t.Run(fmt.Sprintf("%dx%dx%d/tA=%v/tB=%v", m, n, k, tA, tB), func(t *testing.T) {
					a, b := randSlice(rng, m*k), randSlice(rng, k*n)
					// A is stored m×k, or k×m when transposed; B k×n, or n×k.
					at := func(i, p int) float64 {
						if tA {
							return a[p*m+i]
						}
						return a[i*k+p]
					}
					bt := func(p, j int) float64 {
						if tB {
							return b[j*k+p]
						}
						return b[p*n+j]
					}
					lda, ldb := k, n
					if tA {
						lda = m
					}
					if tB {
						ldb = k
					}
					c := make([]float64, m*n)
					for i := range c {
						c[i] = math.NaN() // beta is 0: old contents must not leak in
					}
					splitGemm(tA, tB, m, n, k, a, lda, b, ldb, c)
					for i := range m {
						for j := range n {
							var want float64
							for p := range k {
								want += at(i, p) * bt(p, j)
							}
							if got := c[i*n+j]; math.Abs(got-want) > 1e-12*(1+math.Abs(want)) {
								t.Fatalf("C[%d,%d] = %v, want %v", i, j, got, want)
							}
						}
					}
				})
			}
		}
	}
}

// A linear layer's product and both of its gradients run as matMulOp, with
// the gradients of finite differences.
func TestMatMulGradients(t *testing.T) {
	gradCheck64(t, [][]int{{6, 5}, {5, 4}}, func(in []*G.Node) (*G.Node, error) { return G.Mul(in[0], in[1]) })
	b := NewBuilder()
	x, _ := b.Input("x", 6, 5)
	w, _ := b.Input("w", 5, 4)
	cost := G.Must(G.Sum(G.Must(G.Mul(x, w))))
	prog, err := Compile(b, cost, G.Nodes{x, w})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, st := range prog.steps {
		if op, ok := st.op.(*matMulOp); ok {
			kinds = append(kinds, op.String())
		}
	}
	if fmt.Sprint(kinds) != "[A × B A × Bᵀ Aᵀ × B]" && fmt.Sprint(kinds) != "[A × B Aᵀ × B A × Bᵀ]" {
		t.Fatalf("matMulOps %q, want the product and its two gradients", kinds)
	}
}

// A view (rows 1–2 of x, which gorgonia slices without copying) times a
// matrix gets gorgonia's product, and the same on the run that reuses buffers.
func TestMatMulOfView(t *testing.T) {
	b := NewBuilder()
	x, xt := b.Input("x", 4, 3)
	w, wt := b.Input("w", 3, 2)
	for i := range 12 {
		xt.Data().([]float32)[i] = float32(i)
	}
	for i := range 6 {
		wt.Data().([]float32)[i] = float32(i%3) - 1
	}
	out := b.Read(G.Must(G.Mul(G.Must(G.Slice(x, G.S(1, 3))), w)))
	prog, err := Compile(b, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	xs, ws := xt.Data().([]float32), wt.Data().([]float32)
	for run := 0; run < 2; run++ {
		if err := prog.Run(); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			for j := range 2 {
				var want float32
				for p := range 3 {
					want += xs[(i+1)*3+p] * ws[p*2+j]
				}
				if got := out.Values()[i*2+j]; got != want {
					t.Fatalf("run %d: C[%d,%d] = %v, want %v", run, i, j, got, want)
				}
			}
		}
	}
}

// matMulOp gives gorgonia's own op's bits, for a linear layer's product and
// both gradients at the shapes of the toy's and the benchmark's layers: the
// split must not move any result (a column split did, for the 2×256 weight
// gradient over 2,000 rows, and so did halves under OpenBLAS's small-matrix
// line for the 256×256 by 256×20 product).
func TestSplitGemmBitwise(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sz := range [][3]int{{256, 256, 2}, {256, 256, 256}, {256, 20, 256}, {256, 24, 256}, {256, 40, 256}, {256, 4, 256}, {2000, 256, 2}, {512, 256, 256}, {64, 300, 200}} {
		m, k, n := sz[0], sz[2], sz[1]
		b := NewBuilder()
		x, xt := b.Input("x", m, k)
		w, wt := b.Input("w", k, n)
		for _, d := range [][]float32{xt.Data().([]float32), wt.Data().([]float32)} {
			for i := range d {
				d[i] = float32(rng.NormFloat64())
			}
		}
		prog, err := Compile(b, G.Must(G.Sum(G.Must(G.Mul(x, w)))), G.Nodes{x, w})
		if err != nil {
			t.Fatal(err)
		}
		if err := prog.Run(); err != nil {
			t.Fatal(err)
		}
		for i, st := range prog.steps {
			op, ok := st.op.(*matMulOp)
			if !ok {
				continue
			}
			var in []G.Value
			for _, j := range st.in {
				in = append(in, prog.vals[j])
			}
			ours := prog.vals[i].Data().([]float32)
			v, err := op.orig.UsePreallocDo(tensor.New(tensor.WithShape(op.m, op.n), tensor.Of(tensor.Float32)), in...)
			if err != nil {
				t.Fatal(err)
			}
			for j, want := range v.Data().([]float32) {
				if ours[j] != want {
					t.Fatalf("%d×%d·%d×%d, %s: C[%d] = %v, gorgonia's op %v", m, k, k, n, op, j, ours[j], want)
				}
			}
		}
	}
}
