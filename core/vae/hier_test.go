package vae

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/vaebm/vaebm/core/nn"
)

func tinyHier(t *testing.T, rng *rand.Rand) *HierVAE {
	t.Helper()
	v, err := NewHierVAE(rng, 2, 8, 8, 6, 2, [2]int{2, 1}, -3)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// T_θ maps (ε_z for every group, ε_x) to an image, and its noise layout is
// the one the sampler will allocate.
func TestHierTransformShapes(t *testing.T) {
	v := tinyHier(t, rand.New(rand.NewPCG(1, 2)))
	dims := v.EpsDims()
	// Two groups at 2×2, one at 4×4, each 2 channels; then the 2×8×8 image.
	if want := []int{8, 8, 32, 128}; len(dims) != 4 || dims[0] != want[0] || dims[2] != want[2] || dims[3] != want[3] {
		t.Fatalf("eps dims %v, want %v", dims, want)
	}
	b := nn.NewBuilder()
	var eps []*G.Node
	for i, d := range dims {
		n, nt := b.Input(string(rune('a'+i)), 3, d)
		for j := range nt.Data().([]float32) {
			nt.Data().([]float32)[j] = 0.1 * float32(j%7-3)
		}
		eps = append(eps, n)
	}
	x, sls, err := v.Transform(b, eps)
	if err != nil {
		t.Fatal(err)
	}
	if s := x.Shape(); s[0] != 3 || s[1] != 128 {
		t.Fatalf("x shape %v, want (3, 128)", s)
	}
	xo, so := b.Read(x), b.Read(sls)
	p, err := nn.Compile(b, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(); err != nil {
		t.Fatal(err)
	}
	for _, xv := range xo.Values() {
		if math.IsNaN(float64(xv)) {
			t.Fatal("NaN in T_θ(ε)")
		}
	}
	// Σ log σ_x is over 3·128 pixels, each log σ ≥ the floor of −3.
	if s := so.Scalar(); !(s > -3*3*128) {
		t.Fatalf("Σ log σ_x = %v", s)
	}
}

// The ELBO graph's gradients match finite differences for parameters all
// through the hierarchy, and its KL term is non-negative.
func TestHierELBOGradients(t *testing.T) {
	for _, global := range []int{0, 3} {
		t.Run(fmt.Sprintf("global%d", global), func(t *testing.T) { testHierELBOGradients(t, global) })
	}
}

func testHierELBOGradients(t *testing.T, global int) {
	rng := rand.New(rand.NewPCG(3, 4))
	v := tinyHier(t, rng)
	if global > 0 {
		v.AddGlobalLatent(rng, global)
	}
	b := nn.NewBuilder()
	e := randomELBO(t, v, b, 2, rng)
	params := v.Params()
	p, err := nn.Compile(b, e.Loss, b.ParamNodes(params))
	if err != nil {
		t.Fatal(err)
	}
	f := func() float64 {
		if err := p.Run(); err != nil {
			t.Fatal(err)
		}
		return e.LossOut.Scalar()
	}
	f()
	if kl := e.KL.Scalar(); kl < -1e-4 {
		t.Fatalf("KL = %v < 0", kl)
	}
	grads, err := p.Grads(params)
	if err != nil {
		t.Fatal(err)
	}
	var saved [][]float32
	for _, g := range grads {
		saved = append(saved, append([]float32(nil), g...))
	}
	const h = 1e-2
	checked := 0
	for pi, prm := range params {
		d := prm.Data()
		for _, j := range []int{0, len(d) / 2, len(d) - 1} {
			orig := d[j]
			d[j] = orig + h
			fp := f()
			d[j] = orig - h
			fm := f()
			d[j] = orig
			num := (fp - fm) / (2 * h)
			if got := float64(saved[pi][j]); math.Abs(got-num) > 3e-2*(1+math.Abs(num)) {
				t.Errorf("%s[%d]: gradient %v, finite difference %v", prm.Name, j, got, num)
			}
			checked++
		}
	}
	if checked < 100 {
		t.Fatalf("only %d checks", checked)
	}
}

// With the prior and posterior branches zeroed q = p = N(0, I) and the KL
// is 0; with only a constant c added to the posterior's log σ, that log σ
// is the soft clamp c' = 5·tanh(c/5) and the KL is (−c' + ½e^{2c'} − ½) per
// latent coordinate, the closed form for N(0, e^{2c'}) against N(0, 1).
func TestHierKLClosedForm(t *testing.T) {
	for _, tc := range []struct {
		c      float64
		global int
	}{{0, 0}, {0.3, 0}, {-0.5, 0}, {0, 4}, {0.3, 4}, {4, 0}, {-6, 4}} {
		c := tc.c
		rng := rand.New(rand.NewPCG(5, 6))
		v := tinyHier(t, rng)
		if tc.global > 0 {
			// The global group's prior is N(0, I): zero its posterior mean
			// and set its log σ to c, as for the spatial groups.
			v.AddGlobalLatent(rng, tc.global)
			for _, p := range []*nn.Param{v.globMu.W, v.globMu.B, v.globLogSd.W} {
				clear(p.Data())
			}
			for i := range v.globLogSd.B.Data() {
				v.globLogSd.B.Data()[i] = float32(c)
			}
		}
		for l := range v.post {
			for _, conv := range []*nn.Conv{v.prior[l][0], v.prior[l][1], v.post[l][0], v.post[l][1], v.postEnc[l][0], v.postEnc[l][1]} {
				clear(conv.W.Data())
				if conv.B != nil {
					clear(conv.B.Data())
				}
			}
			for i := range v.post[l][1].B.Data() {
				v.post[l][1].B.Data()[i] = float32(c)
			}
		}
		b := nn.NewBuilder()
		e := randomELBO(t, v, b, 3, rng)
		p, err := nn.Compile(b, e.Loss, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Run(); err != nil {
			t.Fatal(err)
		}
		zdim := 0
		for _, d := range v.EpsDims()[:len(v.EpsDims())-1] {
			zdim += d
		}
		cc := softClampBound * math.Tanh(c/softClampBound)
		want := float64(zdim) * (-cc + 0.5*math.Exp(2*cc) - 0.5)
		if got := e.KL.Scalar(); math.Abs(got-want) > 1e-4*(1+math.Abs(want)) {
			t.Errorf("c = %v, global %d: KL %v, want %v", c, tc.global, got, want)
		}
	}
}

// randomELBO builds v's ELBO for a batch and fills its images with U(0, 1)
// pixels and its noise with N(0, 1).
func randomELBO(t *testing.T, v *HierVAE, b *nn.Builder, batch int, rng *rand.Rand) *ELBO {
	t.Helper()
	e, err := v.BuildELBO(b, batch)
	if err != nil {
		t.Fatal(err)
	}
	for i := range e.X {
		e.X[i] = float32(rng.Float64())
	}
	for i := range e.Noise {
		e.Noise[i] = float32(rng.NormFloat64())
	}
	return e
}

// The loss is recon + β·Σ_l γ_l·KL_l and the reported KL is Σ_l KL_l,
// with α_l each group's latents over the groups at its scale.
func TestHierGroupKLWeights(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	v := tinyHier(t, rng)
	v.AddGlobalLatent(rng, 5)
	b := nn.NewBuilder()
	e := randomELBO(t, v, b, 3, rng)
	p, err := nn.Compile(b, e.Loss, nil)
	if err != nil {
		t.Fatal(err)
	}
	dims := v.EpsDims()
	if len(e.GroupKL) != len(dims)-1 || len(e.GroupWeight) != len(dims)-1 {
		t.Fatalf("%d group KLs and %d weights for %d groups", len(e.GroupKL), len(e.GroupWeight), len(dims)-1)
	}
	for l, a := range e.GroupSize {
		if want := float64(dims[l]) / float64(v.groupsInScale(l)); a != want {
			t.Errorf("α_%d = %v, want %v", l, a, want)
		}
	}
	const beta = 0.3
	if err := G.Let(e.Beta, float32(beta)); err != nil {
		t.Fatal(err)
	}
	gamma := []float64{0.5, 2, 0.25, 1.5, 0.75}
	for l, g := range e.GroupWeight {
		if err := G.Let(g, float32(gamma[l%len(gamma)])); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Run(); err != nil {
		t.Fatal(err)
	}
	sum, weighted := 0.0, 0.0
	for l, k := range e.GroupKL {
		sum += k.Scalar()
		weighted += gamma[l%len(gamma)] * k.Scalar()
	}
	if got := e.KL.Scalar(); math.Abs(got-sum) > 1e-4*(1+math.Abs(sum)) {
		t.Errorf("KL %v, sum of group KLs %v", got, sum)
	}
	want := e.Recon.Scalar() + beta*weighted
	if got := e.LossOut.Scalar(); math.Abs(got-want) > 1e-4*(1+math.Abs(want)) {
		t.Errorf("loss %v, want recon + β·Σγ·KL = %v", got, want)
	}
}

// The decoder's log σ_x cap leaves values and gradients below it as they
// were, bit for bit, and holds values above it at maxLogSd with no gradient.
func TestCeilLogSd(t *testing.T) {
	b := nn.NewBuilder()
	x, xt := b.Input("ls", 1, 6)
	in := []float32{-1.6, -0.3, 0, 4.999, 5.5, 208}
	copy(xt.Data().([]float32), in)
	y := ceilLogSd(b, x)
	out := b.Read(y)
	cost := G.Must(G.Sum(G.Must(G.HadamardProd(y, x))))
	p, err := nn.Compile(b, cost, G.Nodes{x})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(); err != nil {
		t.Fatal(err)
	}
	g, err := p.Grad(x)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range in {
		want, wantGrad := v, 2*v // d/dx x² = 2x below the cap
		if v > maxLogSd {
			want, wantGrad = maxLogSd, maxLogSd // d/dx (5·x) = 5 above it
		}
		if out.Values()[i] != want || g[i] != wantGrad {
			t.Errorf("ls %v: capped %v (want %v), gradient %v (want %v)", v, out.Values()[i], want, g[i], wantGrad)
		}
	}
}
