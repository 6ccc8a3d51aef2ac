package nn

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	G "gorgonia.org/gorgonia"
)

// A program must read its input tensors afresh on every run, and a graph must
// see parameter updates made through another graph's Param.
func TestProgramRebindsInputsAndSharesParams(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	lin := NewLinear(rng, "l", 3, 1)
	build := func() (*Program, *Output, []float32) {
		b := NewBuilder()
		x, xt := b.Input("x", 2, 3)
		y, err := lin.Forward(b, x)
		if err != nil {
			t.Fatal(err)
		}
		s := G.Must(G.Sum(y))
		out := b.Read(s)
		p, err := Compile(b, s, b.ParamNodes(lin.Params()))
		if err != nil {
			t.Fatal(err)
		}
		return p, out, xt.Data().([]float32)
	}
	p1, s1, x1 := build()
	p2, s2, x2 := build()
	want := func(x []float32) float64 {
		w, bb := lin.W.Data(), lin.B.Data()
		var s float64
		for r := 0; r < 2; r++ {
			for c := 0; c < 3; c++ {
				s += float64(x[r*3+c] * w[c])
			}
			s += float64(bb[0])
		}
		return s
	}
	for i := 0; i < 3; i++ {
		for j := range x1 {
			x1[j] = float32(i + j)
			x2[j] = float32(i * j)
		}
		if err := p1.Run(); err != nil {
			t.Fatal(err)
		}
		if got := s1.Scalar(); math.Abs(got-want(x1)) > 1e-4 {
			t.Fatalf("run %d: graph 1 sum %v, want %v", i, got, want(x1))
		}
		lin.W.Data()[0] += 1 // an update made outside graph 2
		if err := p2.Run(); err != nil {
			t.Fatal(err)
		}
		if got := s2.Scalar(); math.Abs(got-want(x2)) > 1e-4 {
			t.Fatalf("run %d: graph 2 sum %v, want %v", i, got, want(x2))
		}
	}
}

func BenchmarkMLPTrainStep(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	m := NewMLP(rng, "m", []int{2, 256, 256, 256, 256, 2}, "swish")
	bd := NewBuilder()
	x, xt := bd.Input("x", 512, 2)
	y, err := m.Forward(bd, x)
	if err != nil {
		b.Fatal(err)
	}
	cost := G.Must(G.Mean(G.Must(G.Square(y))))
	p, err := Compile(bd, cost, bd.ParamNodes(m.Params()))
	if err != nil {
		b.Fatal(err)
	}
	for i, d := 0, xt.Data().([]float32); i < len(d); i++ {
		d[i] = float32(rng.NormFloat64())
	}
	opt := NewAdam(m.Params(), 1e-4)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := p.Run(); err != nil {
			b.Fatal(err)
		}
		g, err := p.Grads(m.Params())
		if err != nil {
			b.Fatal(err)
		}
		if err := opt.Step(g); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(b.N), "ms/step")
}
