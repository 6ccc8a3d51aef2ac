package vae

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/vaebm/vaebm/core/nn"
)

// The ELBO graph must compute what its formula says: the same recon and KL
// as a plain-Go computation from the encoder and decoder outputs, and a
// loss gradient that matches finite differences.
func TestELBOMatchesDirectComputation(t *testing.T) {
	const batch, beta = 4, 0.3
	rng := rand.New(rand.NewPCG(3, 4))
	v := NewGaussianVAE(rng, 2, 3, 8, 3, "swish", -1)
	b := nn.NewBuilder()
	e, err := v.BuildELBO(b, batch)
	if err != nil {
		t.Fatal(err)
	}
	if err := G.Let(e.Beta, float32(beta)); err != nil {
		t.Fatal(err)
	}
	p, err := nn.Compile(b, e.Loss, b.ParamNodes(v.Params()))
	if err != nil {
		t.Fatal(err)
	}
	for i := range e.X {
		e.X[i] = float32(rng.NormFloat64())
	}
	for i := range e.Noise {
		e.Noise[i] = float32(rng.NormFloat64())
	}
	if err := p.Run(); err != nil {
		t.Fatal(err)
	}
	ev, err := v.NewEvaluator()
	if err != nil {
		t.Fatal(err)
	}
	direct := func() (recon, kl float64) {
		enc, err := ev.enc.Apply(e.X)
		if err != nil {
			t.Fatal(err)
		}
		qm, qls := enc[0], enc[1]
		z := make([]float32, len(qm))
		for i := range z {
			z[i] = qm[i] + float32(math.Exp(float64(qls[i])))*e.Noise[i]
			kl += -float64(qls[i]) + 0.5*(math.Exp(2*float64(qls[i]))+float64(qm[i]*qm[i])-1)
		}
		mu, ls, err := ev.Decode(z)
		if err != nil {
			t.Fatal(err)
		}
		for i := range mu {
			if float64(ls[i]) < v.MinLogStd {
				t.Fatalf("decoder log σ %v below the floor %v", ls[i], v.MinLogStd)
			}
			recon -= LogNormal(float64(e.X[i]), float64(mu[i]), float64(ls[i]))
		}
		return recon / batch, kl / batch
	}
	recon, kl := direct()
	if math.Abs(e.Recon.Scalar()-recon) > 1e-4*math.Max(1, math.Abs(recon)) {
		t.Errorf("graph recon %v, direct %v", e.Recon.Scalar(), recon)
	}
	if math.Abs(e.KL.Scalar()-kl) > 1e-4*math.Max(1, kl) {
		t.Errorf("graph KL %v, direct %v", e.KL.Scalar(), kl)
	}
	if want := recon + beta*kl; math.Abs(e.LossOut.Scalar()-want) > 1e-4*math.Max(1, math.Abs(want)) {
		t.Errorf("graph loss %v, direct %v", e.LossOut.Scalar(), want)
	}

	grads, err := p.Grads(v.Params())
	if err != nil {
		t.Fatal(err)
	}
	const h = 1e-2
	checked := 0
	for pi, prm := range v.Params() {
		d := prm.Data()
		for _, j := range []int{0, len(d) / 2, len(d) - 1} {
			orig := d[j]
			d[j] = orig + h
			rp, kp := direct()
			d[j] = orig - h
			rm, km := direct()
			d[j] = orig
			num := ((rp + beta*kp) - (rm + beta*km)) / (2 * h)
			if got := float64(grads[pi][j]); math.Abs(got-num) > 3e-3+3e-2*math.Abs(num) {
				t.Errorf("d loss/d %s[%d] = %v, finite difference %v", prm.Name, j, got, num)
			}
			checked++
		}
	}
	if checked < 30 {
		t.Fatalf("checked only %d gradient entries", checked)
	}
}
