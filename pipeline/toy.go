package pipeline

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	G "gorgonia.org/gorgonia"

	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/core/data"
	"github.com/vaebm/vaebm/core/energy"
	"github.com/vaebm/vaebm/core/metrics"
	"github.com/vaebm/vaebm/core/nn"
	"github.com/vaebm/vaebm/core/sampler"
	"github.com/vaebm/vaebm/core/train"
	"github.com/vaebm/vaebm/core/vae"
	"github.com/vaebm/vaebm/plots"
	"github.com/vaebm/vaebm/tracker"
)

// toyModels are the networks of the 2-D experiment (Sec. 5.4).
type toyModels struct {
	data   data.Gaussians25
	vae    *vae.GaussianVAE
	energy *energy.MLP
}

func newToyModels(exp config.Experiment) toyModels {
	return toyModels{
		data: data.Gaussians25{Grid: exp.Data.GridSize, Spacing: exp.Data.Spacing, Std: exp.Data.Std},
		vae: vae.NewGaussianVAE(newRNG(exp.Seed, streamVAEInit), 2, exp.VAE.LatentDim,
			exp.VAE.Hidden, exp.VAE.Layers, exp.VAE.Activation, exp.VAE.MinLogStd),
		energy: energy.NewMLP(newRNG(exp.Seed, streamEBMInit), 2, exp.EBM.Hidden, exp.EBM.Layers, exp.EBM.Activation, exp.EBM.InputScale),
	}
}

// stage is stage 2 of VAEBM: chains over (ε_z, ε_x); the replay buffer
// keeps ε_z, and ε_x too when the experiment asks.
func (m toyModels) stage(exp config.Experiment) train.EBMStage {
	persist := 1
	if exp.Langevin.Replay.KeepEpsX {
		persist = 2
	}
	return train.EBMStage{
		Gen: chainGenerator(exp, m.vae), Energy: m.energy, Target: sampler.Target(exp.Langevin.Target), Persist: persist,
		Init: sampler.Gaussian, MeanNegatives: exp.EBM.MeanNegatives,
	}
}

const (
	vaeCheckpoint    = "vae.ckpt"
	energyCheckpoint = "energy.ckpt"
	vaeState         = "vae.state"
	energyState      = "energy.state"
)

func runToy(ctx context.Context, exp config.Experiment, opts Options, run *tracker.Run, bar *Bar, resuming bool) error {
	m := newToyModels(exp)
	dir := RunDir(opts.OutDir, run.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	trainSet := m.data.Sample(newRNG(exp.Seed, streamData), exp.Data.TrainSize)
	digest := DataDigest(trainSet)
	if err := run.SetDatasetDigest(digest); err != nil {
		return err
	}
	err := timedStage(run, "vae", func() error {
		return vaeStage(ctx, exp, opts, run, bar, m.vae, trainSet, digest, resuming)
	})
	if err != nil {
		return err
	}
	err = timedStage(run, "ebm", func() error {
		return ebmStage(ctx, exp, opts, run, bar, m.stage(exp), trainSet, digest, resuming)
	})
	if err != nil {
		return err
	}
	if err := run.Flush(); err != nil {
		return err
	}
	var ev *toyEval
	err = timedStage(run, "eval", func() error {
		var err error
		ev, err = evaluateToy(ctx, exp, m, newRNG(exp.Seed, streamEval), bar)
		return err
	})
	if err != nil {
		return err
	}
	if err := run.DeleteMetrics("eval/", -1); err != nil {
		return err
	}
	for k, v := range ev.metrics {
		run.Log("eval/"+k, 0, v)
	}
	bar.Say("true LL %.3f ± %.3f | VAE LL %.3f ± %.3f (K/10: %.3f) | VAEBM LL %.3f ± %.3f | log Z %.3f | VAE mass on grid %.4f",
		ev.metrics["true_ll"], ev.metrics["true_ll_se"], ev.metrics["vae_ll"], ev.metrics["vae_ll_se"],
		ev.metrics["vae_ll_k10"], ev.metrics["vaebm_ll"], ev.metrics["vaebm_ll_se"], ev.metrics["log_z"], ev.metrics["vae_grid_mass"])
	if err := writeDensityFigure(exp, opts, run, ev); err != nil {
		return err
	}
	return writeToyFigures(ctx, exp, opts, run, m, bar)
}

// timedStage runs f and records its wall time as time/KEY_s (replacing
// the time of an interrupted attempt).
func timedStage(run *tracker.Run, key string, f func() error) error {
	t0 := time.Now()
	if err := f(); err != nil {
		return err
	}
	if err := run.DeleteMetrics("time/"+key+"_s", -1); err != nil {
		return err
	}
	run.Log("time/"+key+"_s", 0, time.Since(t0).Seconds())
	return nil
}

// ebmStage gives st.Energy its stage-2 parameters (see trainedStage). The
// energy is cached by everything it depends on: the VAE stage's key (which
// holds the data, the seed and the code), the ebm and Langevin settings and
// the method; so later tables reuse energies, not only VAEs.
func ebmStage(ctx context.Context, exp config.Experiment, opts Options, run *tracker.Run, bar *Bar, st train.EBMStage, trainSet []float32, digest string, resuming bool) error {
	key, inputs, err := ebmStageKey(exp, digest)
	if err != nil {
		return err
	}
	return trainedStage(opts, run, bar, stageSpec{
		name: "ebm", what: "energy", key: key, inputs: inputs, params: st.Energy.Params(),
		final: energyCheckpoint, state: energyState, every: exp.EBM.CheckpointEvery,
		train: func(ck *train.Checkpoint) error {
			return train.EBM(ctx, st, exp.EBM, exp.Langevin, trainSet, train.NewRNG(exp.Seed, streamEBMTrain), ck, run, bar.Update)
		},
	}, resuming)
}

// vaeStage gives v its stage-1 parameters (see trainedStage).
func vaeStage(ctx context.Context, exp config.Experiment, opts Options, run *tracker.Run, bar *Bar, v train.ELBOModel, trainSet []float32, digest string, resuming bool) error {
	key, inputs, err := vaeStageKey(exp, digest)
	if err != nil {
		return err
	}
	return trainedStage(opts, run, bar, stageSpec{
		name: "vae", what: "VAE", key: key, inputs: inputs, params: v.Params(),
		final: vaeCheckpoint, state: vaeState, every: exp.VAE.CheckpointEvery,
		train: func(ck *train.Checkpoint) error {
			return train.VAE(ctx, v, exp.VAE, trainSet, train.NewRNG(exp.Seed, streamVAETrain), ck, run, bar.Update)
		},
	}, resuming)
}

// vaeStageKey content-addresses stage 1 by everything its result depends
// on: the vae and data settings, the seed, the data's digest and the code.
func vaeStageKey(exp config.Experiment, digest string) (key, inputs string, err error) {
	v := exp.VAE
	v.CheckpointEvery = 0 // when it saves does not change what it computes
	return stageKey(struct {
		Stage  string
		VAE    config.VAE
		Data   config.Data
		Seed   uint64
		Digest string
		Code   string
	}{"vae", v, exp.Data, exp.Seed, digest, CodeVersion()})
}

// ebmStageKey content-addresses stage 2: the VAE it was trained on (by its
// key), the method, and the ebm and Langevin settings that training reads.
func ebmStageKey(exp config.Experiment, digest string) (key, inputs string, err error) {
	vaeKey, _, err := vaeStageKey(exp, digest)
	if err != nil {
		return "", "", err
	}
	e, l := exp.EBM, exp.Langevin
	e.CheckpointEvery, e.LogEvery = 0, 0
	l.TestSteps, l.TestStepSize = 0, 0 // the chains after training only
	return stageKey(struct {
		Stage    string
		VAE      string
		Method   string
		EBM      config.EBM
		Langevin config.Langevin
	}{"ebm", vaeKey, exp.Method, e, l})
}

// stageCheckpoint makes a stage resumable into run: metric points logged
// after the saved step are deleted before the stage logs them again.
func stageCheckpoint(run *tracker.Run, path string, every int, prefix string, bar *Bar) *train.Checkpoint {
	return &train.Checkpoint{Path: path, Every: every, Flush: run.Flush, Resume: func(after int) error {
		if after > 0 {
			bar.Say("%s resuming after step %d from %s", strings.TrimSuffix(prefix, "/"), after, path)
		}
		return run.DeleteMetrics(prefix, after)
	}}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// removeState deletes a finished stage's training state: the final
// checkpoint supersedes it.
func removeState(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// writeDensityFigure draws the true, VAE and VAEBM log densities on the
// evaluation grid: where the samples of Fig. 4 show the models, this shows
// their densities, including any spurious mode the chains never reached.
func writeDensityFigure(exp config.Experiment, opts Options, run *tracker.Run, ev *toyEval) error {
	xs := make([]float64, ev.grid.N)
	for i := range xs {
		xs[i] = ev.grid.Min + (float64(i)+0.5)*ev.grid.Step()
	}
	const floor = -10 // nats; the mixture's peak is about +3
	path := filepath.Join(opts.OutDir, "plots", exp.Name+"-density.png")
	err := plots.HeatMaps(path, []plots.GridPanel{
		{Title: "True log density", X: xs, Values: ev.trueGrid, Floor: floor},
		{Title: "VAE log density (IWAE)", X: xs, Values: ev.vaeGrid, Floor: floor},
		{Title: "VAEBM log density", X: xs, Values: ev.vaebmGrid, Floor: floor},
	})
	if err != nil {
		return err
	}
	return run.Artifact(path, "plot")
}

func saveCheckpoint(run *tracker.Run, path string, ps []*nn.Param) error {
	if err := nn.SaveParams(path, ps); err != nil {
		return err
	}
	return run.Artifact(path, "checkpoint")
}

type toyEval struct {
	metrics map[string]float64
	grid    metrics.Grid2D
	// Log densities at the grid's cell centres.
	trueGrid, vaeGrid, vaebmGrid []float64
}

// evaluateToy computes the Sec. 5.4 likelihoods on fresh test points: the
// exact mixture density, the VAE's IWAE bound, and the VAEBM density
// log p(x) − E(x) − log Z with log Z by numerical integration on a grid.
func evaluateToy(ctx context.Context, exp config.Experiment, m toyModels, rng *rand.Rand, bar *Bar) (*toyEval, error) {
	out := map[string]float64{}
	e := exp.Eval
	test := m.data.Sample(rng, e.TestPoints)
	n := e.TestPoints
	trueLL := make([]float64, n)
	for i := range trueLL {
		trueLL[i] = m.data.LogDensity(float64(test[2*i]), float64(test[2*i+1]))
	}
	out["true_ll"], out["true_ll_se"] = metrics.MeanSE(trueLL)

	grid := metrics.NewGrid2D(e.GridMin, e.GridMax, e.GridN)
	pts := grid.Points()
	trueGrid := make([]float64, len(pts)/2)
	for i := range trueGrid {
		trueGrid[i] = m.data.LogDensity(float64(pts[2*i]), float64(pts[2*i+1]))
	}
	out["true_grid_mass"] = math.Exp(grid.LogIntegral(trueGrid))

	ev, err := m.vae.NewEvaluator()
	if err != nil {
		return nil, err
	}
	bar.Say("eval: IWAE (K=%d) on %d test points and %d grid points", e.IWAESamples, n, len(pts)/2)
	var vaeTest, vaeTest10, vaeGrid []float64
	chunks := 20
	all := append(append([]float32(nil), test...), pts...)
	rows := len(all) / 2
	for c := 0; c < chunks; c++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		lo, hi := rows*c/chunks, rows*(c+1)/chunks
		full, tenth, err := ev.IWAE(rng, all[2*lo:2*hi], e.IWAESamples)
		if err != nil {
			return nil, err
		}
		for i := range full {
			if lo+i < n {
				vaeTest = append(vaeTest, full[i])
				vaeTest10 = append(vaeTest10, tenth[i])
			} else {
				vaeGrid = append(vaeGrid, full[i])
			}
		}
		bar.Update("eval-iwae", c+1, chunks, "")
	}
	out["vae_ll"], out["vae_ll_se"] = metrics.MeanSE(vaeTest)
	out["vae_ll_k10"], _ = metrics.MeanSE(vaeTest10)
	out["vae_grid_mass"] = math.Exp(grid.LogIntegral(vaeGrid))

	// One compiled energy program serves test and grid points alike.
	enAll, err := energies(m.energy, all)
	if err != nil {
		return nil, err
	}
	enTest, enGrid := enAll[:n], enAll[n:]
	unnorm := make([]float64, len(vaeGrid))
	for i := range unnorm {
		unnorm[i] = vaeGrid[i] - enGrid[i]
	}
	logZ := grid.LogIntegral(unnorm)
	out["log_z"] = logZ
	// Where the energy puts the most unnormalised mass: a far-off maximum
	// flags a spurious mode that the chains never visited.
	best := 0
	for i := range unnorm {
		if unnorm[i] > unnorm[best] {
			best = i
		}
	}
	out["grid_argmax_x"], out["grid_argmax_y"] = float64(pts[2*best]), float64(pts[2*best+1])
	out["grid_energy_min"], out["grid_energy_max"] = minMax(enGrid)
	ll := make([]float64, n)
	for i := range ll {
		ll[i] = vaeTest[i] - enTest[i] - logZ
	}
	out["vaebm_ll"], out["vaebm_ll_se"] = metrics.MeanSE(ll)
	out["test_points"] = float64(n)
	out["iwae_samples"] = float64(e.IWAESamples)
	out["grid_n"] = float64(e.GridN)
	vaebmGrid := make([]float64, len(unnorm))
	for i, u := range unnorm {
		vaebmGrid[i] = u - logZ
	}
	return &toyEval{metrics: out, grid: grid, trueGrid: trueGrid, vaeGrid: vaeGrid, vaebmGrid: vaebmGrid}, nil
}

func minMax(v []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

func energies(en *energy.MLP, x []float32) ([]float64, error) {
	f, err := nn.NewBatchFn(4096, 2, func(b *nn.Builder, x *G.Node) ([]*G.Node, error) {
		e, err := en.Forward(b, x)
		return []*G.Node{e}, err
	})
	if err != nil {
		return nil, err
	}
	out, err := f.Apply(x)
	if err != nil {
		return nil, err
	}
	res := make([]float64, len(out[0]))
	for i, v := range out[0] {
		res[i] = float64(v)
	}
	return res, nil
}

// sampleVAEBM draws n samples from the VAEBM: chains of `batch` start at
// ε ~ N(0, I), drawn from starts, and run the test-time number of Langevin
// steps (App. E) with noise from rng. Drawn from the same stream in batches
// of the same size, the starts are sampleVAE's samples, so that VAE and
// VAEBM are compared on the same noise draws.
// Each chain reports x = T_θ(ε) at its final state or, with mean, the
// decoder mean μ(z) there (T_θ with ε_x = 0), as the NVlabs sampler does.
// The chains follow chainGenerator.
// observe, if not nil, is called for each batch before every step and after
// the last (batch index, step, and a function giving what the chains would
// report at that state).
func sampleVAEBM(ctx context.Context, exp config.Experiment, gen sampler.Generator, en sampler.Energy, starts, rng *rand.Rand, n, batch int, mean bool, observe func(b, step int, report func() ([]float32, error))) ([]float32, error) {
	batch = min(n, batch)
	steps, stepSize := testChain(exp)
	lang, err := train.NewLangevin(chainGenerator(exp, gen), en, batch, sampler.Target(exp.Langevin.Target), exp.Langevin, stepSize)
	if err != nil {
		return nil, err
	}
	dims := lang.EpsDims()
	eps := make([][]float32, len(dims))
	for g, d := range dims {
		eps[g] = make([]float32, d*batch)
	}
	// What a chain reports: the x it is at, or μ(z) there with mean. The
	// chains' own x is μ(z) with langevin.mean_energy; a sample x then
	// takes the chain's ε_x through the full T_θ.
	var decode func([][]float32) ([]float32, error)
	switch {
	case mean:
		d, err := sampler.NewMeanDecoder(gen, batch)
		if err != nil {
			return nil, err
		}
		defer d.Close()
		decode = d.Decode
	case exp.Langevin.MeanEnergy:
		d, err := sampler.NewDecoder(gen, batch)
		if err != nil {
			return nil, err
		}
		defer d.Close()
		decode = d.Decode
	}
	// Run updates eps in place, so at each observation eps is the state
	// that produced x.
	report := func(x []float32) ([]float32, error) {
		if decode == nil {
			return append([]float32(nil), x...), nil
		}
		return decode(eps)
	}
	xdim := lang.XDim()
	var out []float32
	for b := 0; len(out) < xdim*n; b++ {
		drawChainStart(starts, eps, exp.Eval.Temperature)
		var obs func(int, []float32)
		if observe != nil {
			obs = func(step int, x []float32) { observe(b, step, func() ([]float32, error) { return report(x) }) }
		}
		x, _, err := lang.Run(ctx, rng, eps, steps, obs)
		if err != nil {
			return nil, err
		}
		if x, err = report(x); err != nil {
			return nil, err
		}
		out = append(out, x...)
	}
	return out[:xdim*n], nil
}

// chainGenerator is the T_θ the chains see: the VAE's, or with
// langevin.mean_energy its decoder mean.
func chainGenerator(exp config.Experiment, gen sampler.Generator) sampler.Generator {
	if exp.Langevin.MeanEnergy {
		return sampler.MeanOf{Generator: gen}
	}
	return gen
}

// drawChainStart draws a VAE sample's noise, or a chain's start: every
// group from N(0, I), with the ε_z groups (all but the last, ε_x) scaled
// by the temperature.
func drawChainStart(rng *rand.Rand, eps [][]float32, temp float64) {
	for g := range eps {
		sampler.Gaussian(rng, g, eps[g])
		if g < len(eps)-1 && temp != 1 {
			t := float32(temp)
			for i := range eps[g] {
				eps[g][i] *= t
			}
		}
	}
}

// testChain is the length and step size of the chains that draw samples
// after training: langevin.test_steps and test_step_size, each defaulting
// to the training chain's.
func testChain(exp config.Experiment) (steps int, stepSize float64) {
	steps, stepSize = exp.Langevin.TestSteps, exp.Langevin.TestStepSize
	if steps == 0 {
		steps = exp.Langevin.Steps
	}
	if stepSize == 0 {
		stepSize = exp.Langevin.StepSize
	}
	return steps, stepSize
}

func writeToyFigures(ctx context.Context, exp config.Experiment, opts Options, run *tracker.Run, m toyModels, bar *Bar) error {
	rng := newRNG(exp.Seed, streamSample)
	n := exp.Eval.Samples
	trueS := m.data.Sample(rng, n)
	vaeS, err := sampleVAE(ctx, m.vae, rng, n, exp.Eval.Temperature, false, nil)
	if err != nil {
		return err
	}
	vaebmS, err := sampleVAEBM(ctx, exp, m.vae, m.energy, rng, rng, n, 1000, false, nil)
	if err != nil {
		return err
	}
	csvPath := filepath.Join(RunDir(opts.OutDir, run.ID), "samples.csv")
	if err := WriteSamplesCSV(csvPath, map[string][]float32{"true": trueS, "vae": vaeS, "vaebm": vaebmS}); err != nil {
		return err
	}
	if err := run.Artifact(csvPath, "samples"); err != nil {
		return err
	}
	lim := m.data.Spacing*float64(m.data.Grid-1)/2 + 4*m.data.Std + 0.5
	fig := filepath.Join(opts.OutDir, "plots", exp.Name+"-fig4.png")
	err = plots.Scatter2D(fig, []plots.Panel{{Title: "True", Points: trueS}, {Title: "VAE", Points: vaeS}, {Title: "VAEBM", Points: vaebmS}}, lim)
	if err != nil {
		return err
	}
	if err := run.Artifact(fig, "plot"); err != nil {
		return err
	}
	if err := run.Flush(); err != nil {
		return err
	}
	curves := filepath.Join(opts.OutDir, "plots", exp.Name+"-training.png")
	if err := TrainingCurves(opts.DB, run.ID, curves); err != nil {
		return err
	}
	if err := run.Artifact(curves, "plot"); err != nil {
		return err
	}
	bar.Say("figures: %s, %s; samples: %s", fig, curves, csvPath)
	return nil
}

// curvePanels are the training-curve panels, by the stage whose metrics
// they draw; a run gets those of the stages it logged.
var curvePanels = []struct {
	stage, title string
	keys         []string
}{
	{"vae", "VAE: negative ELBO (nats)", []string{"vae/neg_elbo", "vae/recon", "vae/kl"}},
	{"ebm", "EBM: mean energy", []string{"ebm/energy_pos", "ebm/energy_neg"}},
	{"ebm", "App. C: decoder copy's drift ‖θ′ − θ‖/‖θ‖", []string{"ebm/decoder_drift"}},
	{"wgan", "WGAN: critic and generator losses", []string{"wgan/loss", "wgan/generator_loss"}},
}

// TrainingCurves plots the training curves of a run: a panel for each
// stage that logged them, from the run that trained the stage when it was
// reused from the stage cache.
func TrainingCurves(db *tracker.DB, id int64, path string) error {
	source := map[string]int64{}
	for _, p := range curvePanels {
		if _, done := source[p.stage]; done {
			continue
		}
		source[p.stage] = id
		if _, src, err := db.Series(id, "stage/"+p.stage+"_source_run"); err == nil && len(src) == 1 {
			source[p.stage] = int64(src[0])
		}
	}
	var titles []string
	var series [][]plots.Series
	for _, p := range curvePanels {
		var ss []plots.Series
		points := 0
		for _, k := range p.keys {
			steps, vals, err := db.Series(source[p.stage], k)
			if err != nil {
				return err
			}
			points += len(steps)
			ss = append(ss, plots.Series{Name: k, X: steps, Y: vals})
		}
		if points == 0 {
			continue // a stage this run's method does not have
		}
		titles = append(titles, p.title)
		series = append(series, ss)
	}
	if len(titles) == 0 {
		return fmt.Errorf("run %d logged no training curves", id)
	}
	return plots.Curves(path, titles, series)
}

// WriteSamplesCSV writes columns model,x,y for 2-D samples.
func WriteSamplesCSV(path string, sets map[string][]float32) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing samples: %w", err)
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"model", "x", "y"})
	for _, name := range []string{"true", "vae", "vaebm"} {
		s, ok := sets[name]
		if !ok {
			continue
		}
		for i := 0; i+1 < len(s); i += 2 {
			_ = w.Write([]string{name, strconv.FormatFloat(float64(s[i]), 'g', 7, 32), strconv.FormatFloat(float64(s[i+1]), 'g', 7, 32)})
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("writing samples %s: %w", path, err)
	}
	return f.Close()
}
