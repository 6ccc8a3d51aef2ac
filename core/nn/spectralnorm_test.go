package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
	G "gorgonia.org/gorgonia"
)

// W/σ(W) with σ = uᵀWv: the gradient with respect to W (through σ) and to
// the fixed vectors matches finite differences, for a conv kernel and a matrix.
func TestSpectralNormGradients(t *testing.T) {
	for _, shapes := range [][][]int{
		{{3, 2, 2, 2}, {3}, {8}},
		{{4, 3}, {4}, {3}},
	} {
		gradCheck64(t, shapes, func(in []*G.Node) (*G.Node, error) {
			return (&SpectralNorm{}).Apply(in[0], in[1], in[2])
		})
	}
}

// Power iteration finds the largest singular value that an SVD gives, and
// the normalised weight then has spectral norm 1.
func TestSpectralNormSigma(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	tests := []struct {
		name  string
		shape []int
	}{
		{"conv kernel", []int{6, 3, 3, 3}},
		{"linear weight", []int{10, 4}},
	}
	for _, tc := range tests {
		w := NewParam("w", tc.shape...)
		w.InitUniform(rng, 1)
		s := NewSpectralNorm(rng, w)
		got := s.Iterate(100)
		rows, cols := matrixShape(w)
		data := make([]float64, rows*cols)
		for i, v := range w.Data() {
			data[i] = float64(v)
		}
		var svd mat.SVD
		if !svd.Factorize(mat.NewDense(rows, cols, data), mat.SVDNone) {
			t.Fatal("svd failed")
		}
		want := svd.Values(nil)[0]
		if math.Abs(got-want) > 1e-4*want {
			t.Errorf("%s: σ %v, SVD %v", tc.name, got, want)
		}

		b := NewBuilder()
		wn, err := s.Node(b)
		if err != nil {
			t.Fatal(err)
		}
		out := b.Read(wn)
		p, err := Compile(b, wn, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Run(); err != nil {
			t.Fatal(err)
		}
		normed := make([]float64, rows*cols)
		for i, v := range out.Values() {
			normed[i] = float64(v)
		}
		p.Close()
		if !svd.Factorize(mat.NewDense(rows, cols, normed), mat.SVDNone) {
			t.Fatal("svd failed")
		}
		if top := svd.Values(nil)[0]; math.Abs(top-1) > 1e-4 {
			t.Errorf("%s: normalised weight has spectral norm %v, want 1", tc.name, top)
		}
		if !s.U.Buffer || !s.V.Buffer || len(Trainable([]*Param{w, s.U, s.V})) != 1 {
			t.Errorf("%s: u and v must be buffers, not trained", tc.name)
		}
	}
}

// A spectrally normalised layer computes what the plain layer computes
// with W/σ(W) in place of W, and lists u and v as buffers.
func TestSpectralNormLayers(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	x := make([]float32, 2*3*5*5)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	conv := NewConv(rng, "c", 3, 4, 3, 1, 1, true)
	lin := NewLinear(rng, "l", 75, 2)
	tests := []struct {
		name    string
		forward func(b *Builder, x *G.Node) (*G.Node, error)
		shape   []int
		w       *Param
		set     func(*SpectralNorm) // puts the layer under (or, with nil, out of) normalisation
		params  func() []*Param
	}{
		{"conv", conv.Forward, []int{2, 3, 5, 5}, conv.W, func(s *SpectralNorm) { conv.Spectral = s }, conv.Params},
		{"linear", lin.Forward, []int{2, 75}, lin.W, func(s *SpectralNorm) { lin.Spectral = s }, lin.Params},
	}
	for _, tc := range tests {
		plain := len(tc.params())
		sn := NewSpectralNorm(rng, tc.w)
		tc.set(sn)
		got := forwardValues(t, tc.forward, x, tc.shape...)
		if n := len(tc.params()); n != plain+2 || len(Trainable(tc.params())) != plain {
			t.Errorf("%s: %d params (%d trained), want %d (%d)", tc.name, n, len(Trainable(tc.params())), plain+2, plain)
		}
		sigma := sn.Iterate(0) // the estimate the graph used
		orig := append([]float32(nil), tc.w.Data()...)
		for i, v := range orig {
			tc.w.Data()[i] = float32(float64(v) / sigma)
		}
		tc.set(nil)
		want := forwardValues(t, tc.forward, x, tc.shape...)
		copy(tc.w.Data(), orig)
		for i := range want {
			if math.Abs(float64(got[i]-want[i])) > 1e-4*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("%s: output %d is %v, with W/σ in place of W %v", tc.name, i, got[i], want[i])
			}
		}
	}
}
