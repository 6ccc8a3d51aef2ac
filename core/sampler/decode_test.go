package sampler_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/vaebm/vaebm/core/energy"
	"github.com/vaebm/vaebm/core/sampler"
	"github.com/vaebm/vaebm/core/vae"
)

// The forward-only decoder is T_θ of Eq. 8: it gives the x a Langevin chain
// reports before its first step, for the same noise, over every ε_z group.
func TestDecoderMatchesChainStart(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	v, err := vae.NewHierVAE(rng, 3, 8, 8, 6, 2, [2]int{2, 1}, -3)
	if err != nil {
		t.Fatal(err)
	}
	en := energy.NewResNet(rng, 3, 8, 8, 4, []energy.BlockSpec{{Out: 4, Down: true}})
	const batch = 5
	dec, err := sampler.NewDecoder(v, batch)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	lang, err := sampler.NewLangevin(v, en, batch, sampler.TargetEq9, 1e-3)
	if err != nil {
		t.Fatal(err)
	}
	eps := make([][]float32, len(v.EpsDims()))
	for g, d := range v.EpsDims() {
		eps[g] = make([]float32, d*batch)
		sampler.Gaussian(rng, g, eps[g])
	}
	got, err := dec.Decode(eps)
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := lang.Run(context.Background(), rng, eps, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != batch*v.XDim() || len(got) != len(want) {
		t.Fatalf("decoded %d values, chain %d, want %d", len(got), len(want), batch*v.XDim())
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("x[%d]: decoder %v, chain start %v", i, got[i], want[i])
		}
	}
	// Changing one group's noise changes the image: every group is used.
	for g := range eps {
		e2 := make([][]float32, len(eps))
		for k := range eps {
			e2[k] = append([]float32(nil), eps[k]...)
		}
		e2[g][0] += 1
		x2, err := dec.Decode(e2)
		if err != nil {
			t.Fatal(err)
		}
		same := true
		for i := range x2[:v.XDim()] {
			same = same && x2[i] == got[i]
		}
		if same {
			t.Errorf("noise group %d does not reach x", g)
		}
	}
	if _, err := dec.Decode(eps[:1]); err == nil {
		t.Error("decoding with a missing noise group did not fail")
	}
}

// Chains on MeanOf see x = μ(z): the x they report is the mean decoder's,
// and ε_x feels only its own N(0, I) term, so two energies move ε_z apart
// but ε_x identically.
func TestMeanOfChains(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	v, err := vae.NewHierVAE(rng, 3, 8, 8, 6, 2, [2]int{1, 1}, -1)
	if err != nil {
		t.Fatal(err)
	}
	const batch = 4
	md, err := sampler.NewMeanDecoder(v, batch)
	if err != nil {
		t.Fatal(err)
	}
	defer md.Close()
	start := make([][]float32, len(v.EpsDims()))
	for g, d := range v.EpsDims() {
		start[g] = make([]float32, d*batch)
		sampler.Gaussian(rng, g, start[g])
	}
	want, err := md.Decode(start)
	if err != nil {
		t.Fatal(err)
	}
	var ends [2][][]float32
	for k := range ends {
		en := energy.NewResNet(rand.New(rand.NewPCG(uint64(k), 9)), 3, 8, 8, 4, []energy.BlockSpec{{Out: 4, Down: true}})
		lang, err := sampler.NewLangevin(sampler.MeanOf{Generator: v}, en, batch, sampler.TargetEq9, 0.1)
		if err != nil {
			t.Fatal(err)
		}
		eps := make([][]float32, len(start))
		for g := range start {
			eps[g] = append([]float32(nil), start[g]...)
		}
		var x0 []float32
		if _, _, err := lang.Run(context.Background(), rand.New(rand.NewPCG(7, 7)), eps, 3, func(step int, x []float32) {
			if step == 0 {
				x0 = append([]float32(nil), x...)
			}
		}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(x0, want) {
			t.Errorf("energy %d: the chain's x at its start is not μ(z)", k)
		}
		ends[k] = eps
	}
	last := len(start) - 1
	if !slices.Equal(ends[0][last], ends[1][last]) {
		t.Error("ε_x moved differently under two energies")
	}
	if slices.Equal(ends[0][0], ends[1][0]) {
		t.Error("ε_z moved identically under two energies")
	}
}
