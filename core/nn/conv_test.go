package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

var convCases = []struct {
	n, c, h, w, o, k, stride, pad int
	bias                          bool
}{
	{2, 3, 7, 6, 4, 3, 1, 1, true},
	{3, 2, 8, 8, 5, 3, 2, 1, false},
	{2, 4, 5, 5, 3, 1, 1, 0, false},
	{1, 2, 6, 7, 2, 3, 1, 0, true},
	{2, 2, 9, 9, 3, 5, 2, 2, true},
	{5, 1, 4, 4, 2, 3, 1, 1, true}, // several chunks' worth of tiny images
	{2, 3, 6, 6, 2, 5, 1, 2, false},
	{2, 2, 5, 7, 3, 3, 1, 2, true}, // output wider than input
}

func randSlice(rng *rand.Rand, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = rng.NormFloat64()
	}
	return out
}

// naiveConv is the textbook 7-loop convolution and its adjoints, the
// reference the fast op is compared with.
func naiveConv(g convGeom, x, w, b, dy []float64) (y, dx, dw, db []float64) {
	y = make([]float64, g.N*g.O*g.Ho*g.Wo)
	dx, dw, db = make([]float64, len(x)), make([]float64, len(w)), make([]float64, g.O)
	for n := 0; n < g.N; n++ {
		for o := 0; o < g.O; o++ {
			for oh := 0; oh < g.Ho; oh++ {
				for ow := 0; ow < g.Wo; ow++ {
					yi := ((n*g.O+o)*g.Ho+oh)*g.Wo + ow
					s := 0.0
					if b != nil {
						s = b[o]
						db[o] += dy[yi]
					}
					for c := 0; c < g.C; c++ {
						for ki := 0; ki < g.KH; ki++ {
							for kj := 0; kj < g.KW; kj++ {
								ih, iw := oh*g.S-g.P+ki, ow*g.S-g.P+kj
								if ih < 0 || ih >= g.H || iw < 0 || iw >= g.W {
									continue
								}
								xi := ((n*g.C+c)*g.H+ih)*g.W + iw
								wi := ((o*g.C+c)*g.KH+ki)*g.KW + kj
								s += x[xi] * w[wi]
								dx[xi] += dy[yi] * w[wi]
								dw[wi] += dy[yi] * x[xi]
							}
						}
					}
					y[yi] = s
				}
			}
		}
	}
	return
}

func geom(n, c, h, w, o, k, s, p int) convGeom {
	return convGeom{N: n, C: c, H: h, W: w, O: o, KH: k, KW: k, S: s, P: p, Ho: (h+2*p-k)/s + 1, Wo: (w+2*p-k)/s + 1}
}

// The fast float32 kernels must agree with the naive convolution forward
// and in both adjoints.
func TestConvMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range convCases {
		g := geom(tc.n, tc.c, tc.h, tc.w, tc.o, tc.k, tc.stride, tc.pad)
		t.Run(g.String(), func(t *testing.T) {
			x, w := randSlice(rng, g.N*g.C*g.H*g.W), randSlice(rng, g.O*g.ckk())
			dy := randSlice(rng, g.N*g.O*g.pix())
			var b []float64
			if tc.bias {
				b = randSlice(rng, g.O)
			}
			y, dx, dw, db := naiveConv(g, x, w, b, dy)
			var s scratch[float32]
			gy := make([]float32, len(y))
			convForward(g, f32s(x), f32s(w), f32s(b), gy, &s, nil)
			gdx, gdw, gdx2 := make([]float32, len(dx)), make([]float32, len(dw)), make([]float32, len(dx))
			var flip []float32
			convGradInput(g, f32s(w), f32s(dy), gdx, &s, &flip)
			convGradInputCol2im(g, f32s(w), f32s(dy), gdx2, &s)
			convGradWeight(g, f32s(x), f32s(dy), gdw, &s)
			gdb := make([]float32, g.O)
			sumChannels(f32s(dy), gdb, g.N, g.O, g.pix())
			for name, pair := range map[string][2]any{"y": {y, gy}, "dx": {dx, gdx}, "dx (col2im)": {dx, gdx2}, "dw": {dw, gdw}, "db": {db, gdb}} {
				if name == "db" && b == nil {
					continue
				}
				want, got := pair[0].([]float64), pair[1].([]float32)
				for i := range want {
					if math.Abs(float64(got[i])-want[i]) > 1e-4*(1+math.Abs(want[i])) {
						t.Fatalf("%s[%d] = %v, naive %v", name, i, got[i], want[i])
					}
				}
			}
		})
	}
}

// gradCheck64 builds f on float64 inputs of the given shapes, takes the
// gradient of Σ f(inputs) ⊙ R for a fixed random R through the Program, and
// compares every input's gradient with central finite differences.
func gradCheck64(t *testing.T, shapes [][]int, f func(in []*G.Node) (*G.Node, error)) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, uint64(len(shapes))))
	b := NewBuilder()
	var in []*G.Node
	var data [][]float64
	for i, s := range shapes {
		n := 1
		for _, d := range s {
			n *= d
		}
		v := randSlice(rng, n)
		data = append(data, v)
		in = append(in, G.NewTensor(b.G, tensor.Float64, len(s), G.WithShape(s...), G.WithName(fmt.Sprintf("in%d", i)),
			G.WithValue(tensor.New(tensor.WithShape(s...), tensor.WithBacking(v)))))
	}
	y, err := f(in)
	if err != nil {
		t.Fatal(err)
	}
	ys := y.Shape()
	r := tensor.New(tensor.WithShape(ys...), tensor.WithBacking(randSlice(rng, ys.TotalSize())))
	rn := G.NewTensor(b.G, tensor.Float64, len(ys), G.WithShape(ys...), G.WithName("r"), G.WithValue(r))
	cost := G.Must(G.Sum(G.Must(G.HadamardProd(y, rn))))
	out := b.Read(cost)
	p, err := Compile(b, cost, in)
	if err != nil {
		t.Fatal(err)
	}
	eval := func() float64 {
		if err := p.Run(); err != nil {
			t.Fatal(err)
		}
		return out.v.Data().(float64)
	}
	eval()
	eval() // buffers reused on the second run must give the same gradients
	var grads [][]float64
	for _, n := range in {
		gv, err := p.GradValue(n)
		if err != nil {
			t.Fatal(err)
		}
		grads = append(grads, append([]float64(nil), gv.Data().([]float64)...))
	}
	for i := range in {
		grad := grads[i]
		for j := range data[i] {
			const h = 1e-6
			orig := data[i][j]
			data[i][j] = orig + h
			fp := eval()
			data[i][j] = orig - h
			fm := eval()
			data[i][j] = orig
			num := (fp - fm) / (2 * h)
			if math.Abs(grad[j]-num) > 1e-6*(1+math.Abs(num)) {
				t.Fatalf("input %d element %d: gradient %v, finite difference %v", i, j, grad[j], num)
			}
		}
	}
}

// gradCheckConv runs gradCheck64 on conv (x, w and, for cases with a bias, b)
// for each case.
func gradCheckConv(t *testing.T, cases int, conv func(x, w, b *G.Node, stride, pad int) (*G.Node, error)) {
	for _, tc := range convCases[:cases] {
		shapes := [][]int{{tc.n, tc.c, tc.h, tc.w}, {tc.o, tc.c, tc.k, tc.k}}
		if tc.bias {
			shapes = append(shapes, []int{tc.o})
		}
		t.Run(fmt.Sprint(shapes), func(t *testing.T) {
			gradCheck64(t, shapes, func(in []*G.Node) (*G.Node, error) {
				var b *G.Node
				if tc.bias {
					b = in[2]
				}
				return conv(in[0], in[1], b, tc.stride, tc.pad)
			})
		})
	}
}

func TestConvGradientsFiniteDifferences(t *testing.T) {
	gradCheckConv(t, len(convCases), Conv2D)
}

func TestConvSwishGradientsFiniteDifferences(t *testing.T) {
	gradCheckConv(t, 3, func(x, w, b *G.Node, stride, pad int) (*G.Node, error) {
		return Conv2DSwish(x, w, b, stride, pad, 1/1.1)
	})
}

// The fused op must compute exactly LipSwish(Conv2D(…)).
func TestConvSwishMatchesComposition(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	b := NewBuilder()
	x := G.NewTensor(b.G, tensor.Float64, 4, G.WithShape(2, 3, 6, 6), G.WithName("x"),
		G.WithValue(tensor.New(tensor.WithShape(2, 3, 6, 6), tensor.WithBacking(randSlice(rng, 216)))))
	w := G.NewTensor(b.G, tensor.Float64, 4, G.WithShape(4, 3, 3, 3), G.WithName("w"),
		G.WithValue(tensor.New(tensor.WithShape(4, 3, 3, 3), tensor.WithBacking(randSlice(rng, 108)))))
	fused := G.Must(Conv2DSwish(x, w, nil, 1, 1, 1/1.1))
	composed := G.Must(Swish(G.Must(Conv2D(x, w, nil, 1, 1)), 1/1.1))
	fo, co := b.Read(fused), b.Read(composed)
	p, err := Compile(b, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(); err != nil {
		t.Fatal(err)
	}
	a, c := fo.v.Data().([]float64), co.v.Data().([]float64)
	for i := range a {
		if math.Abs(a[i]-c[i]) > 1e-12 {
			t.Fatalf("element %d: fused %v, composed %v", i, a[i], c[i])
		}
	}
}

func TestPoolingGradientsFiniteDifferences(t *testing.T) {
	t.Run("avgpool", func(t *testing.T) {
		gradCheck64(t, [][]int{{2, 3, 4, 6}}, func(in []*G.Node) (*G.Node, error) { return AvgPool2D(in[0], 2) })
	})
	t.Run("upsample", func(t *testing.T) {
		gradCheck64(t, [][]int{{2, 3, 3, 2}}, func(in []*G.Node) (*G.Node, error) { return Upsample2D(in[0], 2) })
	})
	t.Run("sum over space", func(t *testing.T) {
		gradCheck64(t, [][]int{{2, 3, 4, 5}}, func(in []*G.Node) (*G.Node, error) { return SumSpatial(in[0]) })
	})
	t.Run("lipswish", func(t *testing.T) {
		gradCheck64(t, [][]int{{3, 4, 5}}, func(in []*G.Node) (*G.Node, error) { return Swish(in[0], 1/1.1) })
	})
}

func TestPoolingMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	s := tensor.Shape{2, 3, 4, 6}
	x := randSlice(rng, s.TotalSize())
	y := make([]float64, 2*3*2*3)
	avgPool(2, s, x, y)
	for n := 0; n < 2; n++ {
		for c := 0; c < 3; c++ {
			for i := 0; i < 2; i++ {
				for j := 0; j < 3; j++ {
					at := func(a, b int) float64 { return x[((n*3+c)*4+a)*6+b] }
					want := (at(2*i, 2*j) + at(2*i+1, 2*j) + at(2*i, 2*j+1) + at(2*i+1, 2*j+1)) / 4
					if got := y[((n*3+c)*2+i)*3+j]; math.Abs(got-want) > 1e-12 {
						t.Fatalf("avgpool(%d,%d,%d,%d) = %v, want %v", n, c, i, j, got, want)
					}
				}
			}
		}
	}
	up := make([]float64, len(x)*9)
	upsample(3, s, x, up)
	for i := range up {
		n, r := i/(4*3*6*3*3), i%(4*3*6*3*3)
		c, r := r/(4*3*6*3), r%(4*3*6*3)
		oh, ow := r/(6*3), r%(6*3)
		if want := x[((n*3+c)*4+oh/3)*6+ow/3]; up[i] != want {
			t.Fatalf("upsample element %d = %v, want %v", i, up[i], want)
		}
	}
	sum := make([]float64, 6)
	sumPlanes(x, sum, 24)
	for i := range sum {
		want := 0.0
		for _, v := range x[i*24 : (i+1)*24] {
			want += v
		}
		if math.Abs(sum[i]-want) > 1e-12 {
			t.Fatalf("sum over plane %d = %v, want %v", i, sum[i], want)
		}
	}
}

func TestSoftmaxCrossEntropy(t *testing.T) {
	t.Run("gradient", func(t *testing.T) {
		gradCheck64(t, [][]int{{4, 5}}, func(in []*G.Node) (*G.Node, error) {
			tg := make([]float64, 20)
			for i := 0; i < 4; i++ {
				tg[i*5+(i*3)%5] = 1
			}
			tn := G.NewTensor(in[0].Graph(), tensor.Float64, 2, G.WithShape(4, 5), G.WithName("target"),
				G.WithValue(tensor.New(tensor.WithShape(4, 5), tensor.WithBacking(tg))))
			l, err := SoftmaxCrossEntropy(in[0], tn)
			if err != nil {
				return nil, err
			}
			// gradCheck64 weights a tensor output; make the scalar a 1-vector.
			return G.Reshape(l, []int{1})
		})
	})
	t.Run("value", func(t *testing.T) {
		// Logits (0, log 3) with target class 1: p = 3/4, loss = log(4/3);
		// adding 1000 to both must not overflow.
		for _, shift := range []float64{0, 1000} {
			got := xent([]float64{shift, shift + math.Log(3)}, []float64{0, 1}, nil, 1, 2)
			if math.Abs(got-math.Log(4.0/3)) > 1e-12 {
				t.Fatalf("shift %v: loss %v, want %v", shift, got, math.Log(4.0/3))
			}
		}
	})
}

func TestWeightNormGradients(t *testing.T) {
	gradCheck64(t, [][]int{{3, 2, 3, 3}, {3}}, func(in []*G.Node) (*G.Node, error) { return WeightNorm(in[0], in[1]) })
}

func TestWeightNormValue(t *testing.T) {
	v, g, w := []float64{3, 4, 0, 0, 2, 0}, []float64{10, 0.5}, make([]float64, 6)
	weightNorm(v, g, w, 2, 3)
	want := []float64{6, 8, 0, 0, 0.5, 0}
	for i := range w {
		if math.Abs(w[i]-want[i]) > 1e-12 {
			t.Fatalf("weight norm %v, want %v", w, want)
		}
	}
}
