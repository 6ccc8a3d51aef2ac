package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const validBody = `name: t
method: vaebm
data: {name: 25gaussians, grid_size: 5, spacing: 1, std: 0.1, train_size: 10}
vae: {hidden: 8, layers: 2, latent_dim: 2}
ebm: {hidden: 8, layers: 2, lr: 1.0e-3}
langevin: {step_size: 0.1}
eval: {test_points: 5, iwae_samples: 2, grid_min: -1, grid_max: 1, grid_n: 4}
`

func TestLoadErrorsNameFileLineAndKey(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, body string
		want       []string // substrings of the error
	}{
		{"unknown key", validBody + "ebm2: 1\n", []string{"t.yaml:8", `"ebm2"`, "unknown key"}},
		{"unknown nested key", strings.Replace(validBody, "lr: 1.0e-3", "lrr: 1.0e-3", 1), []string{"t.yaml:5", `"ebm.lrr"`, "valid keys here"}},
		{"wrong type", strings.Replace(validBody, "hidden: 8, layers: 2, latent_dim", "hidden: big, layers: 2, latent_dim", 1), []string{"t.yaml:4", `"vae.hidden"`, "integer"}},
		{"malformed", validBody + "vae: [\n", []string{"t.yaml", "malformed YAML"}},
		{"missing required", strings.Replace(validBody, "name: t\n", "", 1), []string{`"name"`, "is required"}},
		{"bad method", strings.Replace(validBody, "method: vaebm", "method: gan", 1), []string{`"method"`, "vaebm"}},
		{"missing scale", validBody + "scale: huge\n", []string{`"scale"`, "huge"}},
		{"kl balance on one group", strings.Replace(validBody, "latent_dim: 2}", "latent_dim: 2, kl_balance: true}", 1), []string{"vae.kl_balance", "nvae"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := write(t, dir, "t.yaml", tc.body)
			_, err := Load(p, nil)
			if err == nil {
				t.Fatal("no error")
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %q is not a *config.Error", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestLoadExtendsScalesAndOverrides(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "base.yaml", "seed: 7\nebm: {lr: 0.5, beta1: 0.1}\n")
	body := "extends: base.yaml\n" + validBody + `scales:
  big:
    ebm: {hidden: 64}
    seed: 9
`
	body = strings.Replace(body, "ebm: {hidden: 8, layers: 2, lr: 1.0e-3}", "ebm: {hidden: 8, layers: 2}", 1)
	p := write(t, dir, "t.yaml", body)

	e, err := Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e.Seed != 7 || e.EBM.LR != 0.5 || e.EBM.Beta1 != 0.1 || e.EBM.Hidden != 8 || e.Scale != "quick" {
		t.Fatalf("base not applied: seed %d lr %v beta1 %v hidden %d scale %s", e.Seed, e.EBM.LR, e.EBM.Beta1, e.EBM.Hidden, e.Scale)
	}
	if e.EBM.Beta2 != 0.999 {
		t.Fatalf("default beta2 lost: %v", e.EBM.Beta2)
	}
	e, err = Load(p, []string{"scale=big", "ebm.lr=1e-4", "seed=3"})
	if err != nil {
		t.Fatal(err)
	}
	if e.EBM.Hidden != 64 || e.EBM.LR != 1e-4 || e.Seed != 3 || e.Scale != "big" {
		t.Fatalf("scale/overrides not applied: hidden %d lr %v seed %d scale %s", e.EBM.Hidden, e.EBM.LR, e.Seed, e.Scale)
	}
	for _, bad := range []string{"ebm.lrr=1", "ebm.lr=fast", "noequals"} {
		_, err := Load(p, []string{bad})
		var ce *Error
		if !errors.As(err, &ce) || ce.File != "command line" {
			t.Errorf("override %q: got %v, want a command-line config error", bad, err)
		}
	}
}

// Every shipped experiment file must load at every scale it declares.
func TestShippedExperimentsLoad(t *testing.T) {
	files, _ := filepath.Glob("../experiments/*.yaml")
	if len(files) == 0 {
		t.Fatal("no experiment files found")
	}
	for _, f := range files {
		if filepath.Base(f) == "base.yaml" {
			continue
		}
		for _, scale := range []string{"quick", "paper", "smoke"} {
			if _, err := Load(f, []string{"scale=" + scale}); err != nil {
				t.Errorf("%s at scale %s: %v", f, scale, err)
			}
		}
	}
}

const imageBody = `name: s
method: vaebm
data: {name: stackedmnist, train_size: 10}
vae: {arch: nvae, hidden: 8, latent_dim: 2, groups: [1, 2]}
ebm: {arch: resnet, hidden: 4, blocks: [{out: 4, down: true}, {out: 8}], lr: 1.0e-3}
langevin: {step_size: 0.1}
eval: {mode_samples: 100, samples: 4}
`

// The image schema: architectures must suit the data set, and their
// shapes are checked with the key named.
func TestValidateStackedMNIST(t *testing.T) {
	dir := t.TempDir()
	e, err := Load(write(t, dir, "s.yaml", imageBody), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.EBM.Blocks) != 2 || !e.EBM.Blocks[0].Down || e.EBM.Blocks[1].Down || e.VAE.Groups[1] != 2 {
		t.Fatalf("decoded blocks %v groups %v", e.EBM.Blocks, e.VAE.Groups)
	}
	flat, err := Flatten(e)
	if err != nil {
		t.Fatal(err)
	}
	if flat["vae.groups"] != "[1, 2]" || flat["ebm.blocks"] != "[{out: 4, down: true}, {out: 8, down: false}]" {
		t.Errorf("flattened lists: groups %q blocks %q", flat["vae.groups"], flat["ebm.blocks"])
	}
	for _, tc := range []struct{ name, from, to, key string }{
		{"mlp vae", "arch: nvae", "arch: mlp", "vae.arch"},
		{"mlp energy", "arch: resnet", "arch: mlp", "ebm.arch"},
		{"one scale", "groups: [1, 2]", "groups: [3]", "vae.groups"},
		{"empty scale", "groups: [1, 2]", "groups: [0, 2]", "vae.groups"},
		{"no blocks", "blocks: [{out: 4, down: true}, {out: 8}]", "blocks: []", "ebm.blocks"},
		{"bad block", "{out: 8}", "{out: 0}", "ebm.blocks[1].out"},
		{"no mode samples", "mode_samples: 100", "mode_samples: 0", "eval.mode_samples"},
		{"zero temperature", "mode_samples: 100", "mode_samples: 100, temperature: 0", "eval.temperature"},
		{"unknown block key", "{out: 8}", "{out: 8, up: true}", "ebm.blocks"},
		{"unknown data", "name: stackedmnist", "name: cifar", "data.name"},
		{"negative spectral", "lr: 1.0e-3}", "lr: 1.0e-3, spectral_reg: -1}", "spectral_reg"},
		{"unknown chain start", "step_size: 0.1}", "step_size: 0.1, init: data}", "langevin.init"},
		{"spectral and weight normalisation", "arch: resnet", "arch: resnet, spectral_norm: true, weight_norm: true", "ebm.spectral_norm"},
		{"unknown step rule", "step_size: 0.1}", "step_size: 0.1, rule: mala}", "langevin.rule"},
		{"noise std with the ula rule", "step_size: 0.1}", "step_size: 0.1, noise_std: 0.005}", "langevin.noise_std"},
		{"negative noise std", "step_size: 0.1}", "step_size: 0.1, rule: noise_first, noise_std: -1}", "langevin.noise_std"},
		{"one-sided clamp", "step_size: 0.1}", "step_size: 0.1, clamp: [0]}", "langevin.clamp"},
		{"empty clamp range", "step_size: 0.1}", "step_size: 0.1, clamp: [1, 0]}", "langevin.clamp"},
		{"unknown correction", "step_size: 0.1}", "step_size: 0.1, correction: hmc}", "langevin.correction"},
		{"mala after a noise-first step", "step_size: 0.1}", "step_size: 0.1, correction: mala, rule: noise_first}", "langevin.correction"},
		{"mala with a clamp", "step_size: 0.1}", "step_size: 0.1, correction: mala, clamp: [0, 1]}", "langevin.correction"},
		{"mala with a gradient clip", "step_size: 0.1}", "step_size: 0.1, correction: mala, grad_clip: 0.01}", "langevin.correction"},
		{"mala on the NVlabs target", "step_size: 0.1}", "step_size: 0.1, correction: mala, target: xz_log_density}", "langevin.correction"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := strings.Replace(imageBody, tc.from, tc.to, 1)
			if body == imageBody {
				t.Fatalf("%q is not in the body", tc.from)
			}
			_, err := Load(write(t, dir, "s.yaml", body), nil)
			if err == nil || !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("got %v, want an error naming %s", err, tc.key)
			}
		})
	}
}
