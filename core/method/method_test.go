package method

import (
	"context"
	"slices"
	"testing"

	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/core/energy"
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
