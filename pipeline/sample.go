package pipeline

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"

	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/core/classifier"
	"github.com/vaebm/vaebm/core/data"
	"github.com/vaebm/vaebm/core/nn"
	"github.com/vaebm/vaebm/plots"
	"github.com/vaebm/vaebm/tracker"
)

// SampleOptions override the run's test-time chain; zero keeps its config.
type SampleOptions struct {
	Steps    int     // Langevin steps per chain (langevin.test_steps)
	StepSize float64 // Langevin step size
	// Temperature, when > 0, replaces the run's eval.temperature.
	Temperature float64
	PNG         string // also draw the samples here, when not empty
	// Modes, when not nil, gets the PacGAN mode count and KL of image
	// samples, labelled by the classifier the run was evaluated with.
	Modes io.Writer
}

// Sample draws n samples of model ("vaebm" or "vae") from finished run id,
// using its recorded config and checkpoints, and writes them to path: for
// 2-D data as CSV (columns model, x, y); for images as a float32 IDX file
// (see SampleImages). It returns the path written.
func Sample(ctx context.Context, db *tracker.DB, out string, id int64, n int, model, path string, so SampleOptions) (string, error) {
	r, err := db.Get(id)
	if err != nil {
		return "", err
	}
	if r.Status != tracker.Finished {
		return "", fmt.Errorf("run %d is %s, not finished: it has no complete checkpoints", id, r.Status)
	}
	exp, err := config.Parse([]byte(r.Config), fmt.Sprintf("stored config of run %d", id))
	if err != nil {
		return "", err
	}
	if so.Steps > 0 {
		exp.Langevin.TestSteps = so.Steps
	}
	if so.StepSize > 0 {
		exp.Langevin.TestStepSize = so.StepSize
	}
	if so.Temperature > 0 {
		exp.Eval.Temperature = so.Temperature
	}
	if model != "vae" && model != "vaebm" {
		return "", fmt.Errorf("unknown model %q (want vaebm or vae)", model)
	}
	if exp.Data.Name == "stackedmnist" {
		return sampleImages(ctx, db, exp, out, id, n, model, path, so)
	}
	m := newToyModels(exp)
	dir := RunDir(out, id)
	if err := nn.LoadParams(filepath.Join(dir, vaeCheckpoint), m.vae.Params()); err != nil {
		return "", err
	}
	rng := newRNG(exp.Seed, streamSample+uint64(id)*1000)
	var s []float32
	switch model {
	case "vae":
		var err error
		if s, err = sampleVAE(ctx, m.vae, rng, n, exp.Eval.Temperature, false, nil); err != nil {
			return "", err
		}
	case "vaebm":
		if err := nn.LoadParams(filepath.Join(dir, energyCheckpoint), m.energy.Params()); err != nil {
			return "", err
		}
		if s, err = sampleVAEBM(ctx, exp, m.vae, m.energy, rng, rng, n, 1000, false, nil); err != nil {
			return "", err
		}
	default:
		return "", fmt.Errorf("unknown model %q (want vaebm or vae)", model)
	}
	if path == "" {
		path = filepath.Join(out, "samples", fmt.Sprintf("run%d-%s-%d.csv", id, model, n))
	}
	if err := WriteSamplesCSV(path, map[string][]float32{model: s}); err != nil {
		return "", err
	}
	if so.PNG != "" {
		title := model
		if model == "vaebm" {
			steps, h := testChain(exp)
			title = fmt.Sprintf("VAEBM, %d Langevin steps of %g", steps, h)
		}
		lim := m.data.Spacing*float64(m.data.Grid-1)/2 + 4*m.data.Std + 0.5
		if err := plots.Scatter2D(so.PNG, []plots.Panel{{Title: title, Points: s}}, lim); err != nil {
			return "", err
		}
	}
	return path, nil
}

// MaxSampleGrid is how many samples, at most, `vaebm sample` draws in its PNG grid.
const MaxSampleGrid = 400

// sampleImages writes n image samples as a float32 IDX file of shape
// (n, 3, 28, 28): the decoder mean μ(z) at the chain's end when the run's
// eval.decoder_mean is set, else x = μ + σ·ε_x; not clipped (the data lie in [0, 1]; the mode classifier and the PNG
// clip). The first MaxSampleGrid go into a PNG grid, at so.PNG or next to
// the IDX file.
func sampleImages(ctx context.Context, db *tracker.DB, exp config.Experiment, out string, id int64, n int, model, path string, so SampleOptions) (string, error) {
	m, err := newImageModels(exp)
	if err != nil {
		return "", err
	}
	dir := RunDir(out, id)
	if err := nn.LoadParams(filepath.Join(dir, vaeCheckpoint), m.vae.Params()); err != nil {
		return "", err
	}
	rng := newRNG(exp.Seed, streamSample+uint64(id)*1000)
	var s []float32
	title := "VAE samples"
	if model == "vae" {
		s, err = sampleVAE(ctx, m.vae, rng, n, exp.Eval.Temperature, exp.Eval.DecoderMean, nil)
	} else {
		if err := nn.LoadParams(filepath.Join(dir, energyCheckpoint), m.energy.Params()); err != nil {
			return "", err
		}
		// The chains start at the samples --model vae draws; their Langevin
		// noise comes from a stream of its own.
		noise := newRNG(exp.Seed, streamSample+uint64(id)*1000+1)
		s, err = sampleVAEBM(ctx, exp, m.vae, m.energy, rng, noise, n, sampleBatch, exp.Eval.DecoderMean, nil)
		steps, h := testChain(exp)
		title = fmt.Sprintf("VAEBM samples, %d Langevin steps of %g", steps, h)
	}
	if err != nil {
		return "", err
	}
	if path == "" {
		path = filepath.Join(out, "samples", fmt.Sprintf("run%d-%s-%d.idx", id, model, n))
	}
	if err := data.WriteIDXFloat32(path, []int{n, stackedC, stackedH, stackedW}, s); err != nil {
		return "", err
	}
	if so.Modes != nil {
		if err := reportModes(db, id, s, model, so.Modes); err != nil {
			return "", err
		}
	}
	png := so.PNG
	if png == "" {
		png = strings.TrimSuffix(path, filepath.Ext(path)) + ".png"
	}
	k := min(n, MaxSampleGrid)
	img, err := plots.Tile(s[:k*stackedDim], stackedC, stackedH, stackedW, int(math.Ceil(math.Sqrt(float64(k)))))
	if err != nil {
		return "", err
	}
	if err := plots.Images(png, []plots.ImagePanel{{Title: title, Image: img}}, 1.5); err != nil {
		return "", err
	}
	return path, nil
}

// reportModes labels image samples with the classifier that evaluated run
// id (its checkpoint is an artifact of the classifier's run) and writes the
// mode count and KL to w.
func reportModes(db *tracker.DB, id int64, images []float32, model string, w io.Writer) error {
	r, err := db.Get(id)
	if err != nil {
		return err
	}
	clsID, ok := r.Metrics["eval/classifier_run"]
	if !ok {
		return fmt.Errorf("run %d records no classifier run (eval/classifier_run)", id)
	}
	cr, err := db.Get(int64(clsID))
	if err != nil {
		return fmt.Errorf("the classifier of run %d: %w", id, err)
	}
	c := classifier.New(rand.New(rand.NewPCG(0, 0)))
	loaded := false
	for _, a := range cr.Artifacts {
		if a.Kind == "checkpoint" {
			if err := nn.LoadParams(a.Path, c.Params()); err != nil {
				return fmt.Errorf("the classifier of run %d: %w", id, err)
			}
			loaded = true
		}
	}
	if !loaded {
		return fmt.Errorf("classifier run %d has no checkpoint artifact", cr.ID)
	}
	l, err := newModeLabeller(c)
	if err != nil {
		return err
	}
	rep, err := evalModes(l, images)
	if err != nil {
		return err
	}
	lines := rep.lines(model)
	lines[0] += fmt.Sprintf(" (classifier of run %d)", cr.ID)
	_, err = fmt.Fprintln(w, strings.Join(lines, "\n"))
	return err
}
