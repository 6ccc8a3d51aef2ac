package nn

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestBatchNormGradientsFiniteDifferences(t *testing.T) {
	for _, s := range [][]int{{3, 2, 2, 3}, {5, 4}, {2, 1, 3, 3}} {
		c := s[1]
		running := make([]float32, c)
		gradCheck64(t, [][]int{s, {c}, {c}}, func(in []*G.Node) (*G.Node, error) {
			op := &bnTrainOp{g: bnGeomOf(tensor.Shape(s)), eps: 1e-5, momentum: 0.1, mean: running, vr: append([]float32(nil), running...), name: "bn"}
			return G.ApplyOp(op, in[0], in[1], in[2])
		})
	}
}

// naiveBatchNorm normalises x (n, c, s) by the definition, one channel at a time.
func naiveBatchNorm(x []float64, n, c, s int, gamma, beta []float64, eps float64) (y, mean, vr []float64) {
	y, mean, vr = make([]float64, len(x)), make([]float64, c), make([]float64, c)
	for ch := 0; ch < c; ch++ {
		var vals []float64
		for i := 0; i < n; i++ {
			vals = append(vals, x[(i*c+ch)*s:(i*c+ch+1)*s]...)
		}
		for _, v := range vals {
			mean[ch] += v / float64(len(vals))
		}
		for _, v := range vals {
			vr[ch] += (v - mean[ch]) * (v - mean[ch]) / float64(len(vals))
		}
		for i := 0; i < n; i++ {
			for j := 0; j < s; j++ {
				k := (i*c+ch)*s + j
				y[k] = gamma[ch]*(x[k]-mean[ch])/math.Sqrt(vr[ch]+eps) + beta[ch]
			}
		}
	}
	return y, mean, vr
}

// The layer against the definition: in training the batch statistics and
// the running averages' update; at inference the running averages; and
// the running averages survive a checkpoint.
func TestBatchNormMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	const n, c, h, w = 4, 3, 2, 5
	bn := NewBatchNorm("bn", c)
	for i := range bn.Gamma.Data() {
		bn.Gamma.Data()[i] = float32(1 + rng.NormFloat64()*0.3)
		bn.Beta.Data()[i] = float32(rng.NormFloat64())
	}
	xv := make([]float32, n*c*h*w)
	x64 := make([]float64, len(xv))
	for i := range xv {
		xv[i] = float32(2 + 3*rng.NormFloat64())
		x64[i] = float64(xv[i])
	}
	g64, b64 := make([]float64, c), make([]float64, c)
	for i := range g64 {
		g64[i], b64[i] = float64(bn.Gamma.Data()[i]), float64(bn.Beta.Data()[i])
	}
	run := func(train bool) []float32 {
		return forwardValues(t, func(b *Builder, x *G.Node) (*G.Node, error) { return bn.Forward(b, x, train) }, xv, n, c, h, w)
	}
	want, mean, vr := naiveBatchNorm(x64, n, c, h*w, g64, b64, bn.Eps)
	got := run(true)
	for i := range want {
		if math.Abs(float64(got[i])-want[i]) > 1e-5*(1+math.Abs(want[i])) {
			t.Fatalf("training output %d: %v, want %v", i, got[i], want[i])
		}
	}
	m := float64(n * h * w)
	for ch := 0; ch < c; ch++ {
		wm, wv := 0.1*mean[ch], 0.9+0.1*vr[ch]*m/(m-1)
		if math.Abs(float64(bn.Mean.Data()[ch])-wm) > 1e-5 || math.Abs(float64(bn.Var.Data()[ch])-wv) > 1e-5 {
			t.Errorf("channel %d running mean %v var %v, want %v %v", ch, bn.Mean.Data()[ch], bn.Var.Data()[ch], wm, wv)
		}
	}
	got = run(false)
	for i := range got {
		ch := i / (h * w) % c
		rm, rv := float64(bn.Mean.Data()[ch]), float64(bn.Var.Data()[ch])
		want := g64[ch]*(x64[i]-rm)/math.Sqrt(rv+bn.Eps) + b64[ch]
		if math.Abs(float64(got[i])-want) > 1e-5*(1+math.Abs(want)) {
			t.Fatalf("inference output %d: %v, want %v", i, got[i], want)
		}
	}
	path := filepath.Join(t.TempDir(), "bn.ckpt")
	if err := SaveParams(path, bn.Params()); err != nil {
		t.Fatal(err)
	}
	bn2 := NewBatchNorm("bn", c)
	if err := LoadParams(path, bn2.Params()); err != nil {
		t.Fatal(err)
	}
	for ch := 0; ch < c; ch++ {
		if bn2.Mean.Data()[ch] != bn.Mean.Data()[ch] || bn2.Var.Data()[ch] != bn.Var.Data()[ch] {
			t.Fatal("the running averages did not survive the checkpoint")
		}
	}
	if len(Trainable(bn.Params())) != 2 {
		t.Errorf("trainable: %v", Trainable(bn.Params()))
	}
}
