package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/tracker"
)

// methodCase is one method's experiment and what a run of it must hold:
// a checkpoint and a time for each stage, metrics of each model, and its
// stage's own training metrics.
type methodCase struct {
	file      string
	overrides []string
	stages    []string
	models    []string
	metrics   []string
	// sampledOnly are models with samples but no scores (the toy's WGAN).
	sampledOnly []string
}

func checkMethodRun(t *testing.T, out string, r tracker.RunInfo, tc methodCase, modelMetric string) {
	t.Helper()
	if r.Status != tracker.Finished {
		t.Fatalf("%s: status %s", tc.file, r.Status)
	}
	for _, s := range tc.stages {
		if _, ok := r.Metrics["time/"+s+"_s"]; !ok {
			t.Errorf("%s: no time/%s_s", tc.file, s)
		}
		if _, err := os.Stat(filepath.Join(RunDir(out, r.ID), s+".ckpt")); err != nil {
			t.Errorf("%s: stage %s: %v", tc.file, s, err)
		}
	}
	for _, m := range tc.models {
		if v, ok := r.Metrics["eval/"+m+"_"+modelMetric]; !ok || v != v {
			t.Errorf("%s: eval/%s_%s is %v (recorded: %v)", tc.file, m, modelMetric, v, ok)
		}
	}
	for _, k := range tc.metrics {
		if _, ok := r.Metrics[k]; !ok {
			t.Errorf("%s: %s not recorded", tc.file, k)
		}
	}
}

// Every method runs through the whole pipeline on the image stand-in:
// its stages, the evaluation of each model it reports, the figures, and
// `vaebm sample` of each model. The VAE is one stage-cache entry for all.
func TestMethodsImageSmoke(t *testing.T) {
	dir := writeMNISTFixture(t, 200, 80)
	db, out := testDB(t)
	opts := Options{OutDir: out, DB: db}
	cases := []methodCase{
		{file: "fashion-ebm-x.yaml", stages: []string{"ebm"}, models: []string{"ebm_x"}, metrics: []string{"ebm/energy_neg"}},
		{file: "fashion-ebm-x-vae-init.yaml", stages: []string{"vae", "ebm"}, models: []string{"vae", "ebm_x"}},
		{file: "fashion-wgan-nvae.yaml", stages: []string{"vae", "wgan"}, models: []string{"vae", "wgan_nvae"},
			metrics: []string{"wgan/loss", "wgan/generator_loss"}},
		{file: "fashion-vaebm-kl.yaml", stages: []string{"vae", "ebm"}, models: []string{"vae", "vaebm_kl"},
			metrics: []string{"ebm/decoder_drift", "ebm/decoder_heldout_neg_elbo", "ebm/decoder_loss"}},
	}
	vaeRun := int64(0)
	for _, tc := range cases {
		r, exp := runSmoke(t, opts, "../experiments/"+tc.file, append([]string{"data.dir=" + dir, "data.train_size=200"}, tc.overrides...)...)
		checkMethodRun(t, out, r, tc, "cfid")
		if _, err := os.Stat(plotPath(opts, exp, "samples")); err != nil {
			t.Errorf("%s: no sample grids: %v", tc.file, err)
		}
		if src, ok := r.Metrics["stage/vae_source_run"]; ok {
			if vaeRun == 0 {
				vaeRun = int64(src)
			} else if int64(src) != vaeRun {
				t.Errorf("%s: VAE from run %v, want the shared one of run %d", tc.file, src, vaeRun)
			}
		}
		for _, m := range tc.models {
			if _, err := Sample(context.Background(), db, out, r.ID, 4, m, filepath.Join(out, m+".npy"), SampleOptions{Format: "npy"}); err != nil {
				t.Errorf("%s: sampling %s: %v", tc.file, m, err)
			}
		}
		if _, err := Sample(context.Background(), db, out, r.ID, 4, "vaebm", "", SampleOptions{}); err == nil {
			t.Errorf("%s: sampled a model the method does not report", tc.file)
		}
	}
}

// Every method runs on the 25-Gaussians toy too; those with a density get
// its exact test log-likelihood through the grid's log Z.
func TestMethodsToySmoke(t *testing.T) {
	db, out := testDB(t)
	opts := Options{OutDir: out, DB: db}
	cases := []methodCase{
		{file: "toy-ebm-x.yaml", stages: []string{"ebm"}, models: []string{"ebm_x"}, metrics: []string{"eval/ebm_x_log_z", "eval/ebm_x_ll_se"}},
		{file: "toy-wgan-nvae.yaml", stages: []string{"vae", "wgan"}, models: []string{"vae"}, sampledOnly: []string{"wgan_nvae"},
			metrics: []string{"wgan/loss"}},
		{file: "toy-vaebm-kl.yaml", stages: []string{"vae", "ebm"},
			models: []string{"vae", "vaebm_kl"}, metrics: []string{"ebm/decoder_drift", "eval/vaebm_kl_log_z"}},
	}
	for _, tc := range cases {
		r, _ := runSmoke(t, opts, "../experiments/"+tc.file, tc.overrides...)
		checkMethodRun(t, out, r, tc, "ll")
		if _, ok := r.Metrics["eval/wgan_nvae_ll"]; ok {
			t.Error("the WGAN, which has no density, got a likelihood")
		}
		// Every model's samples reach samples.csv, the WGAN's included.
		raw, err := os.ReadFile(filepath.Join(RunDir(out, r.ID), "samples.csv"))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range append(tc.models, tc.sampledOnly...) {
			if !strings.Contains(string(raw), "\n"+m+",") {
				t.Errorf("%s: no %s rows in samples.csv", tc.file, m)
			}
		}
	}
}

// A setting a method cannot run with stops `vaebm run` before any run
// starts, with one message naming the file and the key.
func TestMethodCheckNamesTheFile(t *testing.T) {
	_, err := Load("../experiments/fashion-ebm-x.yaml", []string{"langevin.init=prior"})
	if err == nil || !strings.Contains(err.Error(), "fashion-ebm-x.yaml") || !strings.Contains(err.Error(), "langevin.init") {
		t.Fatalf("got %v, want an error naming the file and langevin.init", err)
	}
	db, out := testDB(t)
	exp, err := config.Load("../experiments/fashion-vaebm-kl.yaml", []string{"ebm.decoder_lr=0"})
	if err != nil {
		t.Fatal(err)
	}
	if ids, err := Run(context.Background(), exp, Options{OutDir: out, DB: db}); err == nil || len(ids) != 0 || !strings.Contains(err.Error(), "ebm.decoder_lr") {
		t.Fatalf("run %v, error %v: want no run and an error naming ebm.decoder_lr", ids, err)
	}
}
