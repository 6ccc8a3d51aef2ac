package pipeline

import (
	"context"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/core/nn"
	"github.com/vaebm/vaebm/tracker"
)

// testDB opens a tracker database in a fresh output folder; it is closed
// when the test ends.
func testDB(t *testing.T) (db *tracker.DB, out string) {
	t.Helper()
	out = t.TempDir()
	db, err := tracker.Open(filepath.Join(out, "vaebm.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, out
}

// runSmoke runs an experiment file at the smoke scale with extra overrides,
// into opts' output folder and DB, and returns the first run's record and
// the experiment run; any error ends the test.
func runSmoke(t *testing.T, opts Options, file string, overrides ...string) (tracker.RunInfo, config.Experiment) {
	t.Helper()
	exp, err := config.Load(file, append([]string{"scale=smoke"}, overrides...))
	if err != nil {
		t.Fatal(err)
	}
	ids, err := Run(context.Background(), exp, opts)
	if err != nil {
		t.Fatal(err)
	}
	r, err := opts.DB.Get(ids[0])
	if err != nil {
		t.Fatal(err)
	}
	return r, exp
}

// smokeRun runs the toy at the smoke scale with extra overrides into a
// fresh output folder and returns the run's error rather than failing.
func smokeRun(t *testing.T, overrides ...string) (db *tracker.DB, out string, id int64, err error) {
	t.Helper()
	db, out = testDB(t)
	exp, err := config.Load(toyFile, append([]string{"scale=smoke"}, overrides...))
	if err != nil {
		t.Fatal(err)
	}
	ids, err := Run(context.Background(), exp, Options{OutDir: out, DB: db})
	if len(ids) > 0 {
		id = ids[0]
	}
	return db, out, id, err
}

const toyFile = "../experiments/toy-25gaussians.yaml"

// The smoke scale runs every stage of the toy in about a second: the run
// must finish, record its metrics and artifacts, and write the figures and
// samples that `vaebm sample` can reproduce from checkpoints.
func TestToySmokeEndToEnd(t *testing.T) {
	db, out, id, err := smokeRun(t)
	if err != nil {
		t.Fatal(err)
	}
	r, err := db.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != tracker.Finished {
		t.Fatalf("status %s", r.Status)
	}
	for _, k := range []string{"eval/true_ll", "eval/vae_ll", "eval/vaebm_ll", "eval/vaebm_log_z", "vae/neg_elbo", "ebm/energy_pos"} {
		if _, ok := r.Metrics[k]; !ok {
			t.Errorf("metric %s not recorded", k)
		}
	}
	// The smoke data set is small but the true LL is exact: within 4 SE of −1.10.
	if d := r.Metrics["eval/true_ll"] + 1.10; d*d > 16*r.Metrics["eval/true_ll_se"]*r.Metrics["eval/true_ll_se"] {
		t.Errorf("true LL %v ± %v, want −1.10", r.Metrics["eval/true_ll"], r.Metrics["eval/true_ll_se"])
	}
	for _, p := range []string{"plots/toy-25gaussians-fig4.png", "plots/toy-25gaussians-training.png", "plots/toy-25gaussians-density.png"} {
		if st, err := os.Stat(filepath.Join(out, p)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty (%v)", p, err)
		}
	}
	if len(r.Artifacts) < 5 {
		t.Errorf("only %d artifacts recorded", len(r.Artifacts))
	}
	// A 2-D Gaussian puts 1 − e^−4.5 = 0.989 of its mass within 3σ.
	if v := r.Metrics["eval/true_near_mode_3sd"]; v < 0.95 {
		t.Errorf("data within 3σ of a mode: %v, want about 0.99", v)
	}
	for _, k := range []string{"eval/vae_near_mode_3sd", "eval/vaebm_mode_share_min", "eval/vaebm_mode_share_max"} {
		if _, ok := r.Metrics[k]; !ok {
			t.Errorf("metric %s not recorded", k)
		}
	}

	path, err := Sample(context.Background(), db, out, id, 50, "vaebm", "", SampleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := csv.NewReader(f).ReadAll()
	f.Close()
	if len(recs) != 51 {
		t.Fatalf("sample wrote %d rows, want 50 + header", len(recs)-1)
	}

	// A corrupt checkpoint is reported as such, naming the file.
	ck := filepath.Join(RunDir(out, id), "ebm.ckpt")
	raw, _ := os.ReadFile(ck)
	raw[len(raw)/2] ^= 0xff
	os.WriteFile(ck, raw, 0o644)
	_, err = Sample(context.Background(), db, out, id, 5, "vaebm", "", SampleOptions{Steps: 2, PNG: filepath.Join(out, "s.png")})
	if !errors.Is(err, nn.ErrCorruptCheckpoint) {
		t.Fatalf("corrupt checkpoint: got %v", err)
	}
}

// The toy's chains take MALA steps: training and test chains record their
// acceptance rates, each a share of the proposals, below 1 at a test step
// that is large for the toy; without the correction neither is recorded.
func TestToySmokeCorrection(t *testing.T) {
	for _, tc := range []struct {
		correction string
		recorded   bool
	}{{"mala", true}, {"none", false}} {
		t.Run(tc.correction, func(t *testing.T) {
			db, _, id, err := smokeRun(t, "langevin.correction="+tc.correction, "langevin.test_step_size=0.05")
			if err != nil {
				t.Fatal(err)
			}
			r, err := db.Get(id)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"ebm/mala_accept", "eval/vaebm_mala_accept"} {
				v, ok := r.Metrics[k]
				if ok != tc.recorded || ok && !(v > 0 && v < 1) {
					t.Errorf("%s = %v (recorded %v), want recorded %v and a rate in (0, 1)", k, v, ok, tc.recorded)
				}
			}
		})
	}
}

// A run that fails is recorded as failed with the reason, and what it
// logged before failing is kept.
func TestFailedRunIsRecorded(t *testing.T) {
	db, _, id, err := smokeRun(t, "ebm.lr=1e30", "vae.lr=1e30")
	if err == nil {
		t.Fatal("a learning rate of 1e30 trained without error")
	}
	r, gerr := db.Get(id)
	if gerr != nil {
		t.Fatal(gerr)
	}
	if r.Status != tracker.Failed || r.Error == "" || r.ErrorStep < 1 {
		t.Fatalf("run stored as %s with error %q at step %d", r.Status, r.Error, r.ErrorStep)
	}
	t.Logf("recorded failure: %s", r.Error)
}

// A second run with the same VAE settings, data, seed and code reuses the
// trained VAE from the stage cache (its parameters are bit-identical), a
// different EBM setting does not invalidate it, and Force retrains.
func TestVAEStageCache(t *testing.T) {
	db, out := testDB(t)
	runWith := func(force bool, overrides ...string) tracker.RunInfo {
		t.Helper()
		r, _ := runSmoke(t, Options{OutDir: out, DB: db, Force: force}, toyFile, overrides...)
		return r
	}
	first := runWith(false)
	second := runWith(false, "ebm.lr=3e-4")
	forced := runWith(true)
	if first.Metrics["stage/vae_cached"] != 0 || second.Metrics["stage/vae_cached"] != 1 || forced.Metrics["stage/vae_cached"] != 0 {
		t.Fatalf("vae_cached: first %v, second %v, forced %v; want 0, 1, 0",
			first.Metrics["stage/vae_cached"], second.Metrics["stage/vae_cached"], forced.Metrics["stage/vae_cached"])
	}
	if second.Metrics["stage/vae_source_run"] != float64(first.ID) {
		t.Errorf("second run reused the VAE of run %v, want %d", second.Metrics["stage/vae_source_run"], first.ID)
	}
	a, _ := os.ReadFile(filepath.Join(RunDir(out, first.ID), "vae.ckpt"))
	b, _ := os.ReadFile(filepath.Join(RunDir(out, second.ID), "vae.ckpt"))
	if len(a) == 0 || string(a) != string(b) {
		t.Error("the reused VAE checkpoint differs from the one trained")
	}
	if first.Metrics["eval/vae_ll"] != second.Metrics["eval/vae_ll"] {
		t.Errorf("same VAE, different VAE LL: %v vs %v", first.Metrics["eval/vae_ll"], second.Metrics["eval/vae_ll"])
	}
	if first.DatasetDigest == "" || first.DatasetDigest != second.DatasetDigest || first.GoVersion == "" {
		t.Errorf("provenance: digests %q %q, go %q", first.DatasetDigest, second.DatasetDigest, first.GoVersion)
	}
}

// The energy is a cached stage too: the same run again reuses it (and the
// VAE) and evaluates to the same numbers; a different test chain still
// reuses it, since only training is cached; a different ebm setting
// retrains it on the cached VAE.
func TestEBMStageCache(t *testing.T) {
	db, out := testDB(t)
	runWith := func(overrides ...string) tracker.RunInfo {
		t.Helper()
		r, _ := runSmoke(t, Options{OutDir: out, DB: db}, toyFile, overrides...)
		return r
	}
	first := runWith()
	tests := []struct {
		name      string
		overrides []string
		cached    float64
	}{
		{"same settings", nil, 1},
		{"another test chain", []string{"langevin.test_steps=3"}, 1},
		{"another energy learning rate", []string{"ebm.lr=3e-4"}, 0},
	}
	for _, tc := range tests {
		r := runWith(tc.overrides...)
		if r.Metrics["stage/vae_cached"] != 1 {
			t.Errorf("%s: vae_cached %v, want 1", tc.name, r.Metrics["stage/vae_cached"])
		}
		if got := r.Metrics["stage/ebm_cached"]; got != tc.cached {
			t.Errorf("%s: ebm_cached %v, want %v", tc.name, got, tc.cached)
		}
		if tc.cached == 1 {
			if r.Metrics["stage/ebm_source_run"] != float64(first.ID) {
				t.Errorf("%s: reused the energy of run %v, want %d", tc.name, r.Metrics["stage/ebm_source_run"], first.ID)
			}
			a, _ := os.ReadFile(filepath.Join(RunDir(out, first.ID), "ebm.ckpt"))
			b, _ := os.ReadFile(filepath.Join(RunDir(out, r.ID), "ebm.ckpt"))
			if len(a) == 0 || string(a) != string(b) {
				t.Errorf("%s: the reused energy checkpoint differs from the one trained", tc.name)
			}
		}
		if tc.overrides == nil && r.Metrics["eval/vaebm_ll"] != first.Metrics["eval/vaebm_ll"] {
			t.Errorf("same energy, different VAEBM LL: %v vs %v", r.Metrics["eval/vaebm_ll"], first.Metrics["eval/vaebm_ll"])
		}
	}
}

// seeds: runs the experiment once per seed (the table's mean over them:
// ablations.TestBuildAggregatesSeeds).
func TestSeedsAxis(t *testing.T) {
	db, _, _, err := smokeRun(t, "seeds=[0, 1]")
	if err != nil {
		t.Fatal(err)
	}
	runs, err := db.Runs("toy-25gaussians")
	if err != nil || len(runs) != 2 || runs[0].Seed != 1 || runs[1].Seed != 0 {
		t.Fatalf("runs %+v, err %v", runs, err)
	}
}

// The training-curve figure has a panel per stage a run logged: a run with
// only WGAN curves gets a figure, and a run with none an error, not an
// empty figure.
func TestTrainingCurvesFollowTheStages(t *testing.T) {
	db, out := testDB(t)
	start := func(name string, keys ...string) int64 {
		t.Helper()
		r, err := db.StartRun(context.Background(), tracker.RunSpec{Experiment: "x", Name: name, Config: "{}"})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			for s := 1; s <= 3; s++ {
				r.Log(k, s, float64(s))
			}
		}
		if err := r.Finish(); err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	wgan := start("wgan", "wgan/loss", "wgan/generator_loss")
	path := filepath.Join(out, "wgan.png")
	if err := TrainingCurves(db, wgan, path); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Size() == 0 {
		t.Fatalf("no figure: %v", err)
	}
	if err := TrainingCurves(db, start("none"), filepath.Join(out, "none.png")); err == nil {
		t.Error("a run without curves got a figure")
	}
}
