package train

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/vaebm/vaebm/core/data"
	"github.com/vaebm/vaebm/core/energy"
	"github.com/vaebm/vaebm/core/nn"
	"github.com/vaebm/vaebm/core/sampler"
	"github.com/vaebm/vaebm/core/vae"
)

type memLog map[string][]float64

func (m memLog) Log(k string, _ int, v float64) { m[k] = append(m[k], v) }

func TestVAEStageLowersNegativeELBO(t *testing.T) {
	rng := NewRNG(1, 2)
	g := data.Gaussians25{Grid: 2, Spacing: 2, Std: 0.3}
	trainSet := g.Sample(rng.Rand, 4000)
	v := vae.NewGaussianVAE(rng.Rand, 2, 4, 32, 3, "swish", -4)
	log := memLog{}
	cfg := VAEOptions{Steps: 2000, BatchSize: 64, LR: 2e-3, KLWarmupSteps: 100, KLWarmupMin: 0.1}
	if err := VAE(context.Background(), v, cfg, trainSet, rng, nil, log, nil); err != nil {
		t.Fatal(err)
	}
	l := log["vae/neg_elbo"]
	// The best single Gaussian (a VAE that ignores z) has entropy
	// log(2πe·1.09) = 2.92 nats here; the data's is log 4 + log(2πe·0.09) = 0.81.
	// Using the latents must take the bound clearly below the former.
	if first, last := l[0], l[len(l)-1]; !(last < first-0.25 && last < 2.92-0.2) {
		t.Fatalf("negative ELBO went from %.3f to %.3f", first, last)
	}
}

// With the identity generator and Eq. 9's N(0, I) base, the energy must
// learn to move the model towards data centred at m: after training, chains
// from N(0, I) end near m, and positive energies sit below negative ones.
func TestEBMStageMovesModelTowardsData(t *testing.T) {
	rng := NewRNG(3, 4)
	m := [2]float64{1.5, -1}
	trainSet := make([]float32, 2*4000)
	for i := 0; i < len(trainSet); i += 2 {
		trainSet[i] = float32(m[0] + 0.5*rng.NormFloat64())
		trainSet[i+1] = float32(m[1] + 0.5*rng.NormFloat64())
	}
	en := energy.NewMLP(rng.Rand, 2, 32, 3, "swish", 1)
	st := EBMStage{Gen: sampler.Identity{Dim: 2}, Energy: en, Target: sampler.TargetEq9, Persist: 1, Init: sampler.Gaussian}
	cfg := EBMOptions{Steps: 150, BatchSize: 128, LR: 3e-3, Beta1: 0.9, Beta2: 0.999, EnergyReg: 0.01, LogEvery: 10}
	cfg.Chains = ChainOptions{Steps: 30, StepSize: 0.05}
	cfg.Replay = ReplayOptions{Size: 1000, MaxProb: 0.5, AnnealSteps: 50}
	log := memLog{}
	if err := EBM(context.Background(), st, cfg, trainSet, rng, nil, log, nil); err != nil {
		t.Fatal(err)
	}
	s, err := sampler.NewLangevin(st.Gen, en, 1000, sampler.TargetEq9, cfg.Chains.StepSize)
	if err != nil {
		t.Fatal(err)
	}
	eps := [][]float32{make([]float32, 2000)}
	sampler.Gaussian(rng.Rand, 0, eps[0])
	x, _, err := s.Run(context.Background(), rng.Rand, eps, 200, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mean [2]float64
	for i, v := range x {
		mean[i%2] += float64(v) / 1000
	}
	// The base N(0, I) alone has mean 0; a learned energy must get most of the way.
	if d := math.Hypot(mean[0]-m[0], mean[1]-m[1]); d > 0.5 {
		t.Errorf("sample mean %v, data mean %v (distance %.2f)", mean, m, d)
	}
	pos, neg := log["ebm/energy_pos"], log["ebm/energy_neg"]
	if len(pos) == 0 || pos[len(pos)-1] >= neg[len(neg)-1]+0.05 {
		t.Errorf("final energies: data %v, samples %v", pos[len(pos)-1], neg[len(neg)-1])
	}
}

// Stage 1 trains the hierarchical image VAE through the same trainer: on
// images of two kinds (a bright left or right half) the bound drops well.
func TestHierVAEStageLowersNegativeELBO(t *testing.T) {
	rng := NewRNG(7, 8)
	v, err := vae.NewHierVAE(rng.Rand, 1, 8, 8, 8, 2, [2]int{1, 1}, -3)
	if err != nil {
		t.Fatal(err)
	}
	imgs := make([]float32, 400*64)
	for i := 0; i < 400; i++ {
		right := rng.IntN(2)
		for p := 0; p < 64; p++ {
			val := 0.1 * rng.NormFloat64()
			if (p%8 >= 4) == (right == 1) {
				val += 1
			}
			imgs[i*64+p] = float32(val)
		}
	}
	log := memLog{}
	cfg := VAEOptions{Steps: 150, BatchSize: 16, LR: 2e-3, KLWarmupSteps: 50, KLWarmupMin: 0.1}
	if err := VAE(context.Background(), v, cfg, imgs, rng, nil, log, nil); err != nil {
		t.Fatal(err)
	}
	l := log["vae/neg_elbo"]
	if first, last := l[0], l[len(l)-1]; !(last < first-20) {
		t.Fatalf("negative ELBO went from %.1f to %.1f", first, last)
	}
	t.Logf("negative ELBO %.1f → %.1f", l[0], l[len(l)-1])

	// Reconstructions keep which half is bright.
	const n = 20
	b := nn.NewBuilder()
	x, xt := b.Input("x", n, 64)
	r, err := v.Reconstruct(b, x)
	if err != nil {
		t.Fatal(err)
	}
	out := b.Read(r)
	prog, err := nn.Compile(b, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	copy(xt.Data().([]float32), imgs[:n*64])
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	side := func(img []float32) bool { // is the right half brighter?
		var d float32
		for p, v := range img {
			if p%8 >= 4 {
				d += v
			} else {
				d -= v
			}
		}
		return d > 0
	}
	rec := out.Values()
	for i := 0; i < n; i++ {
		if side(rec[i*64:(i+1)*64]) != side(imgs[i*64:(i+1)*64]) {
			t.Errorf("image %d: reconstruction has the other half bright", i)
		}
	}
}

// constMean is a generator whose decoder mean is the constant c whatever
// ε_z: x = 0·ε_z + c + s·ε_x.
type constMean struct{ c, s float64 }

func (constMean) EpsDims() []int { return []int{2, 2} }

func (g constMean) Transform(b *nn.Builder, eps []*G.Node) (*G.Node, *G.Node, error) {
	must := G.Must
	z := must(G.Mul(eps[0], b.Scalar(0)))
	x := must(G.Add(must(G.Mul(eps[1], b.Scalar(g.s))), b.Scalar(g.c)))
	return must(G.Add(z, x)), nil, nil
}

// With ebm.mean_negatives the loss sees μ(z), here c for every chain, so
// the first step's mean negative energy is exactly E(c); with sampled
// negatives it is the energy of c plus noise of scale s.
func TestEBMMeanNegatives(t *testing.T) {
	const c = 0.7
	for _, mean := range []bool{true, false} {
		rng := NewRNG(5, 6)
		en := energy.NewMLP(rng.Rand, 2, 16, 3, "swish", 1)
		at, err := sampler.NewLangevin(sampler.Identity{Dim: 2}, en, 1, sampler.TargetEnergyOnly, 1e-3)
		if err != nil {
			t.Fatal(err)
		}
		_, ec, err := at.Run(context.Background(), rng.Rand, [][]float32{{c, c}}, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		st := EBMStage{Gen: constMean{c: c, s: 2}, Energy: en, Target: sampler.TargetEq9, Persist: 1,
			Init: sampler.Gaussian, MeanNegatives: mean}
		cfg := EBMOptions{Steps: 1, BatchSize: 8, LR: 1e-3, Beta1: 0.9, Beta2: 0.999, LogEvery: 1}
		cfg.Chains = ChainOptions{Steps: 3, StepSize: 0.01}
		log := memLog{}
		if err := EBM(context.Background(), st, cfg, make([]float32, 2*16), rng, nil, log, nil); err != nil {
			t.Fatal(err)
		}
		got, want := log["ebm/energy_neg"][0], float64(ec[0])
		if same := math.Abs(got-want) < 1e-5; same != mean {
			t.Errorf("mean_negatives %v: mean negative energy %.6f, E(c) = %.6f", mean, got, want)
		}
	}
}

// NVAE's KL balancing: weights proportional to KL per unit of α, mean 1.
func TestKLBalance(t *testing.T) {
	for _, tc := range []struct {
		name      string
		kl, alpha []float64
		want      []float64
	}{
		{"one group", []float64{7}, []float64{3}, []float64{1}},
		{"equal KL per alpha", []float64{1.99, 7.99}, []float64{1, 4}, []float64{1, 1}},
		{"a quiet group pays less", []float64{0.99, 9.99}, []float64{1, 1}, []float64{2.0 / 11, 20.0 / 11}},
		{"negative KL counts by size", []float64{-3.99, 1.99}, []float64{2, 1}, []float64{1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := klBalance(tc.kl, tc.alpha)
			for i := range got {
				if math.Abs(got[i]-tc.want[i]) > 1e-12 {
					t.Fatalf("klBalance(%v, %v) = %v, want %v", tc.kl, tc.alpha, got, tc.want)
				}
			}
		})
	}
}

// With KL balancing the stage weighs groups unequally during the warm-up
// (mean weight 1) and equally after it.
func TestHierVAEKLBalanceWeights(t *testing.T) {
	rng := NewRNG(3, 4)
	v, err := vae.NewHierVAE(rng.Rand, 1, 8, 8, 4, 2, [2]int{1, 2}, -3)
	if err != nil {
		t.Fatal(err)
	}
	v.AddGlobalLatent(rng.Rand, 3)
	imgs := make([]float32, 50*64)
	for i := range imgs {
		imgs[i] = float32(rng.Float64())
	}
	log := memLog{}
	cfg := VAEOptions{Steps: 40, BatchSize: 8, LR: 1e-3, KLWarmupSteps: 30, KLWarmupMin: 0.1, KLBalance: true}
	if err := VAE(context.Background(), v, cfg, imgs, rng, nil, log, nil); err != nil {
		t.Fatal(err)
	}
	groups := len(v.EpsDims()) - 1
	for i, step := range []int{25, 40} { // the log points: in the warm-up, after it
		sum, spread := 0.0, 0.0
		for l := 0; l < groups; l++ {
			w := log[fmt.Sprintf("vae/kl_balance_group%d", l)]
			if len(w) != 2 {
				t.Fatalf("group %d: %d weight points, want 2", l, len(w))
			}
			sum += w[i]
			spread = math.Max(spread, math.Abs(w[i]-1))
		}
		if math.Abs(sum/float64(groups)-1) > 1e-6 {
			t.Errorf("step %d: mean weight %v, want 1", step, sum/float64(groups))
		}
		if warm := step < cfg.KLWarmupSteps; warm != (spread > 1e-3) {
			t.Errorf("step %d (warm-up %v): weights spread %v from 1", step, warm, spread)
		}
	}
}

// vaebm_kl (App. C): the energy trains as in VAEBM while a copy θ′ of the
// VAE takes Eq. 21 steps. Only θ′'s decoder moves: the cached VAE stays
// bit-identical and so does the copy's encoder; the drift and the copy's
// held-out ELBO are logged.
func TestEBMDecoderUpdateMovesOnlyTheCopy(t *testing.T) {
	newVAE := func() *vae.GaussianVAE { return vae.NewGaussianVAE(NewRNG(1, 2).Rand, 2, 2, 8, 2, "swish", -3) }
	cached, copied := newVAE(), newVAE()
	snapshot := func(ps []*nn.Param) [][]float32 {
		var out [][]float32
		for _, p := range ps {
			out = append(out, append([]float32(nil), p.Data()...))
		}
		return out
	}
	before := snapshot(cached.Params())
	encBefore := snapshot(copied.EncoderParams())
	data := NewRNG(3, 4)
	trainSet := make([]float32, 2*256)
	for i := range trainSet {
		trainSet[i] = float32(data.NormFloat64())
	}
	en := energy.NewMLP(NewRNG(5, 6).Rand, 2, 16, 2, "swish", 1)
	st := EBMStage{Gen: copied, Energy: en, Target: sampler.TargetEq9, Persist: 1, Init: sampler.Gaussian,
		Decoder: &DecoderUpdate{Model: copied, Reference: cached.Params(), LR: 1e-2, HeldOut: trainSet[:2*64]}}
	cfg := EBMOptions{Steps: 20, BatchSize: 16, LR: 1e-3, Beta1: 0.9, Beta2: 0.999, LogEvery: 5}
	cfg.Chains = ChainOptions{Steps: 3, StepSize: 0.05}
	log := memLog{}
	if err := EBM(context.Background(), st, cfg, trainSet, NewRNG(7, 8), nil, log, nil); err != nil {
		t.Fatal(err)
	}
	for i, p := range cached.Params() {
		if !slices.Equal(p.Data(), before[i]) {
			t.Fatalf("the cached VAE's %s changed", p.Name)
		}
	}
	for i, p := range copied.EncoderParams() {
		if !slices.Equal(p.Data(), encBefore[i]) {
			t.Fatalf("the copy's encoder parameter %s changed; only its decoder should", p.Name)
		}
	}
	moved := 0
	for i, p := range copied.DecoderParams() {
		if !slices.Equal(p.Data(), cached.DecoderParams()[i].Data()) {
			moved++
		}
	}
	if moved == 0 {
		t.Fatal("the copy's decoder did not move")
	}
	drift, elbo := log["ebm/decoder_drift"], log["ebm/decoder_heldout_neg_elbo"]
	if len(drift) != 4 || !(drift[0] > 0) || !(drift[3] > drift[0]) {
		t.Errorf("decoder drift %v: want 4 points, positive and growing", drift)
	}
	if len(elbo) != 4 || math.IsNaN(elbo[0]) || len(log["ebm/decoder_loss"]) != 4 {
		t.Errorf("held-out negative ELBO %v, decoder loss %v", elbo, log["ebm/decoder_loss"])
	}
}

// Eq. 21 descends the energy: with the energy held fixed (learning rate 0),
// the mean energy of the copy's samples falls as its decoder trains.
func TestEBMDecoderUpdateLowersSampleEnergy(t *testing.T) {
	cached := vae.NewGaussianVAE(NewRNG(1, 2).Rand, 2, 2, 8, 2, "swish", -3)
	copied := vae.NewGaussianVAE(NewRNG(1, 2).Rand, 2, 2, 8, 2, "swish", -3)
	en := energy.NewMLP(NewRNG(5, 6).Rand, 2, 16, 2, "swish", 1)
	st := EBMStage{Gen: copied, Energy: en, Target: sampler.TargetEq9, Persist: 1, Init: sampler.Gaussian,
		Decoder: &DecoderUpdate{Model: copied, Reference: cached.Params(), LR: 1e-2}}
	cfg := EBMOptions{Steps: 100, BatchSize: 64, LR: 0, Beta1: 0.9, Beta2: 0.999, LogEvery: 25}
	log := memLog{}
	cfg.Chains = ChainOptions{Steps: 1, StepSize: 0.01}
	if err := EBM(context.Background(), st, cfg, make([]float32, 2*64), NewRNG(7, 8), nil, log, nil); err != nil {
		t.Fatal(err)
	}
	e := log["ebm/decoder_loss"]
	if len(e) != 4 || !(e[3] < e[0]-0.1) {
		t.Fatalf("mean energy of the copy's samples by report: %v; want a clear fall", e)
	}
}

// An EBM on x alone (ebm_x) trains through the same stage: the Identity
// generator, the energy as the whole potential, IGEBM's x-space step
// (noise first, clipped gradient, clamp to the data's range) and restarts
// from uniform noise. Its chains, started from uniform noise, end near the
// data.
func TestEBMOnXWithIGEBMChains(t *testing.T) {
	data := NewRNG(3, 4)
	trainSet := make([]float32, 2*1000)
	for i := range trainSet {
		trainSet[i] = []float32{0.7, 0.3}[i%2] + float32(0.05*data.NormFloat64())
	}
	en := energy.NewMLP(NewRNG(5, 6).Rand, 2, 32, 2, "swish", 1)
	st := EBMStage{Gen: sampler.Identity{Dim: 2}, Energy: en, Target: sampler.TargetEnergyOnly, Persist: 1, Init: sampler.Uniform(0, 1)}
	cfg := EBMOptions{Steps: 300, BatchSize: 64, LR: 1e-3, Beta1: 0, Beta2: 0.999, EnergyReg: 0.1, LogEvery: 50}
	cfg.Chains = ChainOptions{Steps: 20, StepSize: 10, Rule: sampler.RuleNoiseFirst, NoiseStd: 0.005, GradClip: 0.01, ClampLo: 0, ClampHi: 1}
	cfg.Replay = ReplayOptions{Size: 1000, MaxProb: 0.95}
	if err := EBM(context.Background(), st, cfg, trainSet, NewRNG(7, 8), nil, memLog{}, nil); err != nil {
		t.Fatal(err)
	}
	const chains = 256
	lang, err := NewLangevin(sampler.Identity{Dim: 2}, en, chains, sampler.TargetEnergyOnly, cfg.Chains)
	if err != nil {
		t.Fatal(err)
	}
	rng := NewRNG(9, 10)
	x := [][]float32{make([]float32, 2*chains)}
	for i := 0; i < chains; i++ {
		sampler.Uniform(0, 1)(rng.Rand, 0, x[0][2*i:2*i+2])
	}
	if _, _, err := lang.Run(context.Background(), rng.Rand, x, 60, nil); err != nil {
		t.Fatal(err)
	}
	near := 0
	for i := 0; i < chains; i++ {
		if math.Hypot(float64(x[0][2*i]-0.7), float64(x[0][2*i+1]-0.3)) < 0.15 {
			near++
		}
	}
	// Uniform starts put 7% of the chains this close to the data.
	if near < chains/2 {
		t.Fatalf("%d of %d chains end within 0.15 of the data's mode", near, chains)
	}
	t.Logf("%d of %d chains within 0.15 of (0.7, 0.3)", near, chains)
}
