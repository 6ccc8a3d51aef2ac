package train

import (
	"context"
	"math"
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/vaebm/vaebm/core/nn"
)

// shiftGen is x = ε + θ: a generator whose only parameter is where it sits.
type shiftGen struct{ theta *nn.Param }

func (g shiftGen) EpsDims() []int { return []int{g.theta.T.Shape()[1]} }
func (g shiftGen) Transform(b *nn.Builder, eps []*G.Node) (*G.Node, *G.Node, error) {
	x, err := G.BroadcastAdd(eps[0], b.Node(g.theta), nil, []byte{0})
	return x, nil, err
}

// linearCritic is D(x) = x·w + c.
type linearCritic struct{ *nn.Linear }

// The critic's loss is mean D(fake) − mean D(real), whose gradient in w is
// mean(fake) − mean(real) and in c is 0; the generator's is −mean D(G(ε)),
// whose gradient in θ is −w. Both are checked against these hand values.
func TestWGANLossesAndGradients(t *testing.T) {
	theta := nn.NewParam("theta", 1, 2)
	copy(theta.Data(), []float32{0.5, -1})
	lin := nn.NewLinear(NewRNG(1, 2).Rand, "d", 2, 1)
	copy(lin.W.Data(), []float32{2, -3})
	lin.B.Data()[0] = 0.7
	g, err := newWGANGraphs(WGANStage{Gen: shiftGen{theta}, GenParams: []*nn.Param{theta}, Critic: linearCritic{lin}},
		WGANOptions{BatchSize: 2, NCritic: 1, CriticLR: 1e-3, GenLR: 1e-3, Beta1: 0.9, Beta2: 0.999})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	copy(g.real, []float32{1, 2, 3, 4})         // mean (2, 3)
	copy(g.criticEps[0], []float32{0, 0, 1, 1}) // fake = ε + θ: mean (1, −0.5)
	copy(g.genEps[0], []float32{1, 1, -1, -1})  // fake mean θ = (0.5, −1)

	run := func(p *Part) (float64, [][]float32) {
		t.Helper()
		if err := p.Prog.Run(); err != nil {
			t.Fatal(err)
		}
		grads, err := p.Prog.Grads(p.Params)
		if err != nil {
			t.Fatal(err)
		}
		return p.Loss.Scalar(), grads
	}
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-5 {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
	}
	// D(fake) mean: 2·1 − 3·(−0.5) + 0.7 = 4.2; D(real) mean: 2·2 − 3·3 + 0.7 = −4.3.
	loss, grads := run(g.critic)
	near("critic loss", loss, 4.2-(-4.3))
	near("∂L_D/∂w₁", float64(grads[0][0]), 1-2)
	near("∂L_D/∂w₂", float64(grads[0][1]), -0.5-3)
	near("∂L_D/∂c", float64(grads[1][0]), 0)
	// D(G(ε)) mean: 2·0.5 − 3·(−1) + 0.7 = 4.7.
	loss, grads = run(g.gen)
	near("generator loss", loss, -4.7)
	near("∂L_G/∂θ₁", float64(grads[0][0]), -2)
	near("∂L_G/∂θ₂", float64(grads[0][1]), 3)
}

// deepCritic is D(x) = (x W₁ + c₁) W₂ + c₂ with both layers spectrally
// normalised: still linear in x, but W₁ (2×3) has two singular values, so
// its power iteration carries state from step to step.
type deepCritic struct{ l1, l2 *nn.Linear }

func (c deepCritic) Forward(b *nn.Builder, x *G.Node) (*G.Node, error) {
	h, err := c.l1.Forward(b, x)
	if err != nil {
		return nil, err
	}
	return c.l2.Forward(b, h)
}
func (c deepCritic) Params() []*nn.Param { return append(c.l1.Params(), c.l2.Params()...) }
func (c deepCritic) SpectralNorms() []*nn.SpectralNorm {
	return []*nn.SpectralNorm{c.l1.Spectral, c.l2.Spectral}
}

// wganToy trains a shift generator against a spectrally normalised linear
// critic on data around (2, −1).
func wganToy(ctx context.Context, steps int, ck *Checkpoint, log Logger) (theta *nn.Param, critic deepCritic, err error) {
	data := NewRNG(3, 4)
	trainSet := make([]float32, 2*2000)
	for i := range trainSet {
		trainSet[i] = []float32{2, -1}[i%2] + float32(0.05*data.NormFloat64())
	}
	theta = nn.NewParam("theta", 1, 2)
	critic = deepCritic{nn.NewLinear(NewRNG(5, 6).Rand, "d1", 2, 3), nn.NewLinear(NewRNG(5, 7).Rand, "d2", 3, 1)}
	critic.l1.SpectralNormalize(NewRNG(7, 8).Rand)
	critic.l2.SpectralNormalize(NewRNG(7, 9).Rand)
	st := WGANStage{Gen: shiftGen{theta}, GenParams: []*nn.Param{theta}, Critic: critic}
	o := WGANOptions{Steps: steps, NCritic: 5, BatchSize: 32, LogEvery: 5, CriticLR: 2e-2, GenLR: 5e-2, Beta1: 0.5, Beta2: 0.999}
	return theta, critic, WGAN(ctx, st, o, trainSet, NewRNG(9, 10), ck, log, nil)
}

// The generator moves to the data: against a 1-Lipschitz linear critic
// the Wasserstein gradient points from the fakes' mean to the data's.
func TestWGANMovesGeneratorToData(t *testing.T) {
	log := newStepLog()
	theta, _, err := wganToy(context.Background(), 300, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	d := math.Hypot(float64(theta.Data()[0]-2), float64(theta.Data()[1]+1))
	if d > 0.3 {
		t.Fatalf("generator at %v, %.3f from the data's mean (2, −1)", theta.Data(), d)
	}
	if len(log.vals["wgan/loss"]) == 0 || len(log.vals["wgan/generator_loss"]) == 0 {
		t.Fatalf("logged %v", log.steps)
	}
}

// Stopped and resumed, the two-part loop ends where an uninterrupted one
// does: both parts' parameters and Adam moments, and the critic's power
// iteration vectors, travel in the state.
func TestWGANResumeMatchesUninterrupted(t *testing.T) {
	checkResume(t, func(ck *Checkpoint, log *stepLog, ctx context.Context) ([]*nn.Param, error) {
		theta, critic, err := wganToy(ctx, 40, ck, log)
		return append([]*nn.Param{theta}, critic.Params()...), err
	}, 25, 20)
}
