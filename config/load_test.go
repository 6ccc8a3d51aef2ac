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
