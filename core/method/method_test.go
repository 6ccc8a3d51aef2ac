package method

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/core/data"
	"github.com/vaebm/vaebm/core/energy"
	"github.com/vaebm/vaebm/core/nn"
	"github.com/vaebm/vaebm/core/sampler"
	"github.com/vaebm/vaebm/core/train"
	"github.com/vaebm/vaebm/core/vae"
)

// The method table and the methods the config accepts are the same.
func TestTableMatchesConfig(t *testing.T) {
	var names []string
	for _, m := range Table {
		names = append(names, m.Name)
		if m.Build == nil {
			t.Errorf("%s: no Build", m.Name)
		}
	}
	if !slices.Equal(names, config.Methods) {
		t.Errorf("method table %v, config.Methods %v", names, config.Methods)
	}
	if _, err := Lookup("gan"); err == nil {
		t.Error("an unknown method was found")
	}
}

// A chain start at temperature t is the t = 1 start with ε_z scaled by t
// and ε_x untouched.
func TestDrawNoiseTemperature(t *testing.T) {
	draw := func(temp float64) [][]float32 {
		eps := [][]float32{make([]float32, 6), make([]float32, 4), make([]float32, 5)}
		DrawNoise(NewRNG(9, 1), eps, temp)
		return eps
	}
	one, half := draw(1), draw(0.5)
	for g := range one {
		scale := float32(0.5)
		if g == len(one)-1 {
			scale = 1
		}
		for i := range one[g] {
			if half[g][i] != scale*one[g][i] {
				t.Fatalf("group %d value %d: %v at t=0.5, %v at t=1", g, i, half[g][i], one[g][i])
			}
		}
	}
}

// The evaluation compares VAE and VAEBM on the same noise draws: with no
// Langevin steps the VAEBM's samples are the VAE's, bit for bit, and with
// steps they differ. 100 samples span a partial last batch.
func TestVAEBMChainsStartAtVAESamples(t *testing.T) {
	v, err := vae.NewHierVAE(NewRNG(1, StreamVAEInit), 1, 8, 8, 4, 2, [2]int{1, 1}, -3)
	if err != nil {
		t.Fatal(err)
	}
	en := energy.NewResNet(NewRNG(1, StreamEBMInit), 1, 8, 8, 4, []energy.BlockSpec{{Out: 4, Down: true}})
	exp := config.Defaults()
	exp.Eval.Temperature, exp.Langevin.StepSize = 0.8, 0.05
	const n, batch = 100, 64
	ctx := context.Background()
	for _, tc := range []struct{ mean, meanEnergy bool }{{true, false}, {false, false}, {true, true}, {false, true}} {
		exp.Eval.DecoderMean, exp.Langevin.MeanEnergy = tc.mean, tc.meanEnergy
		vaeS, err := vaeModel(exp, v).Sample(ctx, NewRNG(1, StreamEval), nil, n, batch, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, steps := range []int{0, 2} {
			exp.Langevin.Steps, exp.Langevin.TestSteps = steps, steps // test_steps 0 means langevin.steps
			s, err := vaebmModel(exp, "vaebm", "VAEBM", v, en).Sample(ctx, NewRNG(1, StreamEval), NewRNG(1, StreamSample), n, batch, nil)
			if err != nil {
				t.Fatal(err)
			}
			if same := slices.Equal(s, vaeS); same != (steps == 0) {
				t.Errorf("%+v, %d steps: VAEBM samples equal to the VAE's: %v", tc, steps, same)
			}
		}
	}
}

// toyEnv is a tiny 25-Gaussians environment whose stages train at once,
// without checkpoints or a cache; trained records each stage's name and
// the values of every VAE parameter when the stage ends.
func toyEnv(exp config.Experiment) (*Env, *[]string) {
	d := data.Gaussians25{Grid: 5, Spacing: 1, Std: 0.084}
	var trained []string
	env := &Env{
		Exp: exp, XDim: 2, TrainSet: d.Sample(NewRNG(1, StreamData), 512),
		HeldOut: func(n int) ([]float32, error) { return d.Sample(NewRNG(1, 99), n), nil },
		NewVAE:  func() (VAE, error) { return toyVAE(), nil },
		NewEnergy: func(o EnergyOptions) (sampler.Energy, error) {
			en := energy.NewMLP(NewRNG(1, o.Stream), 2, 8, 2, "swish", 1)
			if o.SpectralNorm {
				en.SpectralNormalize(NewRNG(1, StreamSpectralInit))
			}
			return en, nil
		},
		Train: func(ctx context.Context, s Stage) error {
			trained = append(trained, s.Name)
			return s.Train(ctx, nil, nopLogger{}, nil)
		},
	}
	return env, &trained
}

func toyVAE() *vae.GaussianVAE {
	return vae.NewGaussianVAE(NewRNG(1, StreamVAEInit), 2, 2, 8, 2, "swish", -3)
}

type nopLogger struct{}

func (nopLogger) Log(string, int, float64) {}

func toyExperiment(method string) config.Experiment {
	exp := config.Defaults()
	exp.Method = method
	exp.VAE.Steps, exp.VAE.BatchSize = 20, 32
	exp.EBM.Steps, exp.EBM.BatchSize, exp.EBM.LR, exp.EBM.LogEvery = 4, 16, 1e-3, 2
	exp.Langevin.Steps, exp.Langevin.StepSize = 3, 0.01
	exp.Eval.Temperature = 1
	return exp
}

func snapshot(ps []*nn.Param) [][]float32 {
	var out [][]float32
	for _, p := range ps {
		out = append(out, append([]float32(nil), p.Data()...))
	}
	return out
}

// Each method trains the stages it declares, in order, and reports its
// models; the ones that fine-tune a copy of the VAE (vaebm_kl's θ′, the
// WGAN generator) leave the trained VAE bit-identical and move only the
// copy's decoder.
func TestMethodsOnTheToy(t *testing.T) {
	tests := []struct {
		method string
		edit   func(*config.Experiment)
		stages []string
		models []string
		copyOf bool // the last model's Base is a copy of the VAE that training moved
	}{
		{"vaebm", nil, []string{"vae", "ebm"}, []string{"vae", "vaebm"}, false},
		{"ebm_x", func(e *config.Experiment) { e.Langevin.Init, e.Langevin.Clamp = "noise", []float64{-3, 3} }, []string{"ebm"}, []string{"ebm_x"}, false},
		{"ebm_x", func(e *config.Experiment) { e.Langevin.Init, e.Langevin.Clamp = "vae", []float64{-3, 3} }, []string{"vae", "ebm"}, []string{"vae", "ebm_x"}, false},
		{"wgan_nvae", func(e *config.Experiment) {
			e.WGAN = config.WGAN{Steps: 5, NCritic: 2, BatchSize: 16, CriticLR: 1e-3, GenLR: 1e-2, Beta1: 0.5, Beta2: 0.9, LogEvery: 1}
		}, []string{"vae", "wgan"}, []string{"vae", "wgan_nvae"}, true},
		{"vaebm_kl", func(e *config.Experiment) { e.EBM.DecoderLR = 1e-2 }, []string{"vae", "ebm"}, []string{"vae", "vaebm_kl"}, true},
	}
	for _, tc := range tests {
		name := tc.method + "/" + strings.Join(tc.stages, "+")
		t.Run(name, func(t *testing.T) {
			exp := toyExperiment(tc.method)
			if tc.edit != nil {
				tc.edit(&exp)
			}
			if err := exp.Validate(); err != nil && !strings.Contains(err.Error(), "name") {
				t.Fatalf("config: %v", err)
			}
			m, err := Lookup(tc.method)
			if err != nil {
				t.Fatal(err)
			}
			env, trained := toyEnv(exp)
			// The VAE's values when its stage ends, to check nothing later
			// changes them.
			var vaeAfter [][]float32
			var vaeParams []*nn.Param
			newVAE := env.NewVAE
			env.NewVAE = func() (VAE, error) {
				v, err := newVAE()
				if err == nil && vaeParams == nil {
					vaeParams = v.Params()
				}
				return v, err
			}
			train := env.Train
			stageParams := map[string][]*nn.Param{}
			env.Train = func(ctx context.Context, s Stage) error {
				stageParams[s.Name] = s.Params
				err := train(ctx, s)
				if s.Name == "vae" {
					vaeAfter = snapshot(vaeParams)
				}
				return err
			}
			models, err := m.Build(context.Background(), env)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(*trained, tc.stages) {
				t.Errorf("stages %v, want %v", *trained, tc.stages)
			}
			var names []string
			for _, md := range models {
				names = append(names, md.Name)
				x, err := md.Sample(context.Background(), NewRNG(2, 1), NewRNG(2, 2), 10, 4, nil)
				if err != nil || len(x) != 20 {
					t.Errorf("%s: %d sample values, err %v", md.Name, len(x), err)
				}
			}
			if !slices.Equal(names, tc.models) {
				t.Errorf("models %v, want %v", names, tc.models)
			}
			if vaeAfter != nil && !slices.EqualFunc(vaeAfter, snapshot(vaeParams), slices.Equal) {
				t.Error("a stage after the VAE's changed the trained VAE")
			}
			if !tc.copyOf {
				return
			}
			// The copy is what the stage after the VAE's saves after its own
			// parameters. What its generator reads moves: the decoder's, but
			// for the WGAN, whose generator is the decoder mean, not σ_x(z)'s
			// head.
			last := stageParams[tc.stages[len(tc.stages)-1]]
			cp := last[len(last)-len(vaeParams):]
			for i, p := range cp {
				want := strings.HasPrefix(p.Name, "dec.") && !(tc.method == "wgan_nvae" && strings.HasPrefix(p.Name, "dec.logstd"))
				if moved := !slices.Equal(p.Data(), vaeAfter[i]); moved != want {
					t.Errorf("the copy's parameter %s moved: %v, want %v", p.Name, moved, want)
				}
			}
		})
	}
}

// The langevin section reaches the sampler: the step rule, its noise, the
// gradient clip, the clamp, and the chain's own length and step size.
func TestChainOptionsFromSettings(t *testing.T) {
	en := energy.NewMLP(NewRNG(1, 1), 2, 4, 1, "swish", 1)
	tests := []struct {
		name string
		cfg  config.Langevin
		want func(s *sampler.Langevin) bool
	}{
		{"the default", config.Defaults().Langevin, func(s *sampler.Langevin) bool {
			return s.Rule == sampler.RuleULA && s.GradClip == 0 && s.Clamp.Lo == 0 && s.Clamp.Hi == 0
		}},
		{"IGEBM", config.Langevin{Rule: "noise_first", NoiseStd: 0.005, GradClip: 0.01, Clamp: []float64{0, 1}}, func(s *sampler.Langevin) bool {
			return s.Rule == sampler.RuleNoiseFirst && s.NoiseStd == 0.005 && s.GradClip == 0.01 && s.Clamp.Lo == 0 && s.Clamp.Hi == 1
		}},
	}
	for _, tc := range tests {
		o := chainOptions(tc.cfg, 7, 10)
		s, err := train.NewLangevin(sampler.Identity{Dim: 2}, en, 3, sampler.TargetEnergyOnly, o)
		if err != nil {
			t.Fatal(err)
		}
		if !tc.want(s) || s.StepSize != 10 || o.Steps != 7 {
			t.Errorf("%s: sampler %+v, options %+v", tc.name, *s, o)
		}
	}
}

// Each method rejects the settings it cannot run with, naming the key.
func TestMethodChecks(t *testing.T) {
	ok := map[string]func(*config.Experiment){
		"vaebm": func(*config.Experiment) {},
		"ebm_x": func(e *config.Experiment) { e.Langevin.Init, e.Langevin.Clamp = "noise", []float64{0, 1} },
		"wgan_nvae": func(e *config.Experiment) {
			e.WGAN = config.WGAN{Steps: 1, NCritic: 1, BatchSize: 1, CriticLR: 1, GenLR: 1, LogEvery: 1}
		},
		"vaebm_kl": func(e *config.Experiment) { e.EBM.DecoderLR = 5e-6 },
	}
	tests := []struct {
		method, key string
		edit        func(*config.Experiment)
	}{
		{"vaebm", "langevin.init", func(e *config.Experiment) { e.Langevin.Init = "noise" }},
		{"vaebm", "ebm.decoder_lr", func(e *config.Experiment) { e.EBM.DecoderLR = 1e-5 }},
		{"ebm_x", "langevin.init", func(e *config.Experiment) { e.Langevin.Init = "prior" }},
		{"ebm_x", "langevin.clamp", func(e *config.Experiment) { e.Langevin.Clamp = nil }},
		{"ebm_x", "ebm.mean_negatives", func(e *config.Experiment) { e.EBM.MeanNegatives = true }},
		{"ebm_x", "langevin.mean_energy", func(e *config.Experiment) { e.Langevin.MeanEnergy = true }},
		{"wgan_nvae", "wgan", func(e *config.Experiment) { e.WGAN.NCritic = 0 }},
		{"wgan_nvae", "wgan", func(e *config.Experiment) { e.WGAN.GenLR = 0 }},
		{"wgan_nvae", "wgan.batch_norm", func(e *config.Experiment) { e.WGAN.BatchNorm, e.EBM.Arch = true, "mlp" }},
		{"vaebm_kl", "ebm.decoder_lr", func(e *config.Experiment) { e.EBM.DecoderLR = 0 }},
		{"vaebm_kl", "langevin.init", func(e *config.Experiment) { e.Langevin.Init = "vae" }},
	}
	for method, edit := range ok {
		exp := config.Defaults()
		exp.Method = method
		edit(&exp)
		if err := Check(exp); err != nil {
			t.Errorf("%s: valid settings rejected: %v", method, err)
		}
	}
	for _, tc := range tests {
		exp := config.Defaults()
		exp.Method = tc.method
		ok[tc.method](&exp)
		tc.edit(&exp)
		var ce *config.Error
		if err := Check(exp); !errors.As(err, &ce) || ce.Key != tc.key {
			t.Errorf("%s: got %v, want an error at %s", tc.method, err, tc.key)
		}
	}
}
