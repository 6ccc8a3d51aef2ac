package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Concatenation along each axis, and slices of it that overlap (so that one
// tensor's gradient is the sum of two padded slices), against central
// finite differences in float64.
func TestConcatSliceGradientsFiniteDifferences(t *testing.T) {
	cases := []struct {
		axis   int
		shapes [][]int
		slices [2][2]int // two [lo, hi) of equal length along axis, multiplied together; zero: the concatenation itself
	}{
		{axis: 0, shapes: [][]int{{2, 3, 2}, {1, 3, 2}, {3, 3, 2}}},
		{axis: 1, shapes: [][]int{{2, 1, 3}, {2, 2, 3}}, slices: [2][2]int{{0, 2}, {1, 3}}},
		{axis: 2, shapes: [][]int{{2, 2, 2}, {2, 2, 3}, {2, 2, 1}}, slices: [2][2]int{{1, 4}, {3, 6}}},
		{axis: 1, shapes: [][]int{{2, 3, 2, 2}, {2, 2, 2, 2}}, slices: [2][2]int{{0, 2}, {3, 5}}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("axis%d%v", tc.axis, tc.shapes), func(t *testing.T) {
			gradCheck64(t, tc.shapes, func(in []*G.Node) (*G.Node, error) {
				c, err := ConcatAxis(tc.axis, in...)
				if err != nil || tc.slices[0][1] == 0 {
					return c, err
				}
				a, err := SliceAxis(c, tc.axis, tc.slices[0][0], tc.slices[0][1])
				if err != nil {
					return nil, err
				}
				b, err := SliceAxis(c, tc.axis, tc.slices[1][0], tc.slices[1][1])
				if err != nil {
					return nil, err
				}
				return G.HadamardProd(a, b)
			})
		})
	}
}

// The values of a concatenation and a slice, element by element.
func TestConcatSliceValues(t *testing.T) {
	b := NewBuilder()
	x := G.NewTensor(b.G, tensor.Float32, 3, G.WithShape(2, 1, 2), G.WithName("x"),
		G.WithValue(tensor.New(tensor.WithShape(2, 1, 2), tensor.WithBacking([]float32{1, 2, 3, 4}))))
	y := G.NewTensor(b.G, tensor.Float32, 3, G.WithShape(2, 2, 2), G.WithName("y"),
		G.WithValue(tensor.New(tensor.WithShape(2, 2, 2), tensor.WithBacking([]float32{5, 6, 7, 8, 9, 10, 11, 12}))))
	c := G.Must(ConcatAxis(1, x, y))
	s := G.Must(SliceAxis(c, 1, 1, 3))
	cOut, sOut := b.Read(c), b.Read(s)
	p, err := Compile(b, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Run(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		got, want []float32
	}{
		{"concat", cOut.Values(), []float32{1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12}},
		{"slice", sOut.Values(), []float32{5, 6, 7, 8, 9, 10, 11, 12}},
	} {
		if fmt.Sprint(tc.got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func TestConcatSliceRefuseBadShapes(t *testing.T) {
	g := G.NewGraph()
	a := G.NewTensor(g, tensor.Float32, 2, G.WithShape(2, 3), G.WithName("a"))
	b := G.NewTensor(g, tensor.Float32, 2, G.WithShape(3, 3), G.WithName("b"))
	for _, tc := range []struct {
		name string
		err  func() error
		want string
	}{
		{"concat off-axis sizes", func() error { _, err := ConcatAxis(1, a, b); return err }, "may differ only along axis 1"},
		{"concat axis", func() error { _, err := ConcatAxis(2, a, b); return err }, "axis 2 of a 2-D"},
		{"slice range", func() error { _, err := SliceAxis(a, 1, 2, 4); return err }, "[2, 4) along axis 1"},
		{"empty slice", func() error { _, err := SliceAxis(a, 0, 1, 1); return err }, "[1, 1)"},
	} {
		err := tc.err()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// ForwardShared gives each layer's Forward output and the same gradients
// for the input and every parameter, with plain and weight-normalised
// layers, with and without bias, through Winograd (32 input channels) and
// im2col (4).
func TestForwardSharedMatchesForward(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cin        int
		outs       []int
		bias, norm bool
	}{
		{"winograd", 32, []int{2, 2, 3, 2}, true, false},
		{"im2col-nobias", 4, []int{2, 3}, false, false},
		{"weightnorm", 16, []int{2, 5}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, 12))
			var convs []*Conv
			var params []*Param
			for i, o := range tc.outs {
				c := NewConv(rng, fmt.Sprintf("c%d", i), tc.cin, o, 3, 1, 1, tc.bias)
				if tc.norm {
					c.WeightNormalize()
					for j := range c.Gain.Data() {
						c.Gain.Data()[j] = float32(0.5 + rng.Float64())
					}
				}
				convs = append(convs, c)
				params = append(params, c.Params()...)
			}
			xv := make([]float32, 3*tc.cin*7*7)
			for i := range xv {
				xv[i] = float32(rng.NormFloat64())
			}
			run := func(shared bool) (ys [][]float32, grads [][]float32) {
				b := NewBuilder()
				x, xt := b.Input("x", 3, tc.cin, 7, 7)
				copy(xt.Data().([]float32), xv)
				var outs []*G.Node
				if shared {
					var err error
					if outs, err = ForwardShared(b, x, convs...); err != nil {
						t.Fatal(err)
					}
				} else {
					for _, c := range convs {
						outs = append(outs, G.Must(c.Forward(b, x)))
					}
				}
				// cost = Σ_i Σ y_i² · (i+1): every output and its gradient matter.
				var cost *G.Node
				var reads []*Output
				for i, y := range outs {
					reads = append(reads, b.Read(y))
					term := G.Must(G.Mul(G.Must(G.Sum(G.Must(G.Reshape(G.Must(G.Square(y)), []int{y.Shape().TotalSize()})))), b.Scalar(float64(i+1))))
					if cost == nil {
						cost = term
					} else {
						cost = G.Must(G.Add(cost, term))
					}
				}
				p, err := Compile(b, cost, append(G.Nodes{x}, b.ParamNodes(params)...))
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				if err := p.Run(); err != nil {
					t.Fatal(err)
				}
				for _, r := range reads {
					ys = append(ys, append([]float32(nil), r.Values()...))
				}
				gx, err := p.Grad(x)
				if err != nil {
					t.Fatal(err)
				}
				grads = append(grads, append([]float32(nil), gx...))
				gp, err := p.Grads(params)
				if err != nil {
					t.Fatal(err)
				}
				for _, g := range gp {
					grads = append(grads, append([]float32(nil), g...))
				}
				return ys, grads
			}
			ys0, g0 := run(false)
			ys1, g1 := run(true)
			near := func(what string, a, b []float32) {
				if len(a) != len(b) {
					t.Fatalf("%s: %d values, want %d", what, len(b), len(a))
				}
				for i := range a {
					if d := math.Abs(float64(a[i] - b[i])); d > 1e-4*(1+math.Abs(float64(a[i]))) {
						t.Fatalf("%s[%d]: shared %v, separate %v", what, i, b[i], a[i])
					}
				}
			}
			for i := range ys0 {
				near(fmt.Sprintf("output %d", i), ys0[i], ys1[i])
			}
			for i := range g0 {
				near(fmt.Sprintf("gradient %d", i), g0[i], g1[i])
			}
		})
	}
}

func TestForwardSharedRefusesMismatchedLayers(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	b := NewBuilder()
	x, _ := b.Input("x", 1, 4, 6, 6)
	for _, tc := range []struct {
		name string
		c    *Conv
	}{
		{"stride", NewConv(rng, "other", 4, 2, 3, 2, 1, true)},
		{"kernel", NewConv(rng, "other", 4, 2, 1, 1, 0, true)},
		{"bias", NewConv(rng, "other", 4, 2, 3, 1, 1, false)},
	} {
		_, err := ForwardShared(b, x, NewConv(rng, "first", 4, 2, 3, 1, 1, true), tc.c)
		if err == nil || !strings.Contains(err.Error(), "first.w and other.w cannot run as one") {
			t.Errorf("%s: error %v", tc.name, err)
		}
	}
}
