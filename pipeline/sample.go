package pipeline

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/core/data"
	"github.com/vaebm/vaebm/core/method"
	"github.com/vaebm/vaebm/plots"
	"github.com/vaebm/vaebm/tracker"
)

// SampleOptions override the run's test-time chain; zero keeps its config.
type SampleOptions struct {
	Steps    int     // Langevin steps per chain (langevin.test_steps)
	StepSize float64 // Langevin step size
	// Temperature, when > 0, replaces the run's eval.temperature.
	Temperature float64
	// Correction, when not empty, replaces the run's langevin.correction
	// ("none" or "mala") for these chains alone; a MALA chain's
	// acceptance rate is reported with the samples.
	Correction string
	PNG        string // also draw the samples here, when not empty
	// Format is the file format of image samples: "idx" (the default),
	// "npy" or "png" (see SampleFormats); 2-D samples are always CSV.
	Format string
	// Score, when not nil, gets the evaluation of image samples by the
	// judge the run was evaluated with: for StackedMNIST the PacGAN mode
	// count and KL, for the stand-ins classifier-FID and IS.
	Score io.Writer
}

// SampleFormats are the file formats of image samples.
var SampleFormats = []string{"idx", "npy", "png"}

// MaxSampleValues bounds what one `vaebm sample` call draws (2³⁰ values,
// 4 GiB as float32): 1.3 million 28×28 images, 350,000 CIFAR-sized ones.
const MaxSampleValues = 1 << 30

// Sample draws n samples of model (one its method reports: vae, vaebm,
// ebm_x, wgan_nvae, vaebm_kl; "" for the method's own) from finished run id, using its recorded
// config and checkpoints, and writes them to path: for 2-D data as CSV
// (columns model, x, y); for images in so.Format (see sampleImages). It
// returns the path written.
func Sample(ctx context.Context, db *tracker.DB, out string, id int64, n int, model, path string, so SampleOptions) (string, error) {
	if so.Format != "" && !slices.Contains(SampleFormats, so.Format) {
		return "", fmt.Errorf("--format %q: want one of %v", so.Format, SampleFormats)
	}
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
	if so.Correction != "" {
		exp.Langevin.Correction = so.Correction
		if err := exp.Validate(); err != nil {
			return "", fmt.Errorf("--correction %s on run %d: %w", so.Correction, id, err)
		}
	}
	t, isImage := imageTasks[exp.Data.Name]
	switch {
	case isImage && n > MaxSampleValues/t.dim():
		return "", fmt.Errorf("--n %d: one call draws at most %d samples of %d×%d×%d", n, MaxSampleValues/t.dim(), t.c, t.h, t.w)
	case !isImage && so.Format != "":
		return "", fmt.Errorf("--format %s: run %d has 2-D samples, written as CSV (the formats are for images)", so.Format, id)
	case !isImage && so.Score != nil:
		return "", fmt.Errorf("--score: run %d is a 2-D experiment; its evaluation is the likelihood table (vaebm table)", id)
	case !isImage && n > MaxSampleValues/2:
		return "", fmt.Errorf("--n %d: one call draws at most %d samples", n, MaxSampleValues/2)
	}
	var judge imageJudge
	if isImage && so.Score != nil {
		// Before sampling: a run whose judge cannot be found fails at once.
		if judge, err = t.reopenJudge(ctx, exp, Options{OutDir: out, DB: db}, r); err != nil {
			return "", err
		}
	}
	models, err := loadModels(ctx, exp, out, id)
	if err != nil {
		return "", err
	}
	m, err := pickModel(models, model, id)
	if err != nil {
		return "", err
	}
	model = m.Name
	title := m.Title + " samples"
	if m.Steps > 0 {
		steps, h := method.TestChain(exp)
		title += fmt.Sprintf(", %d Langevin steps of %g", steps, h)
	}
	// The chains start at the samples --model vae draws; their Langevin
	// noise comes from a stream of its own.
	starts := newRNG(exp.Seed, method.StreamSample+uint64(id)*1000)
	noise := newRNG(exp.Seed, method.StreamSample+uint64(id)*1000+1)
	if isImage {
		s, err := m.Sample(ctx, starts, noise, n, sampleBatch, nil)
		if err != nil {
			return "", err
		}
		reportMoves(so.Score, m)
		return writeImageSamples(exp, t, out, id, n, model, path, title, s, judge, so)
	}
	s, err := m.Sample(ctx, starts, noise, n, toySampleBatch, nil)
	if err != nil {
		return "", err
	}
	reportMoves(os.Stderr, m)
	if path == "" {
		path = filepath.Join(out, "samples", fmt.Sprintf("run%d-%s-%d.csv", id, model, n))
	}
	if err := WriteSamplesCSV(path, []NamedSamples{{model, s}}); err != nil {
		return "", err
	}
	if so.PNG != "" {
		d := data.Gaussians25{Grid: exp.Data.GridSize, Spacing: exp.Data.Spacing, Std: exp.Data.Std}
		if err := plots.Scatter2D(so.PNG, []plots.Panel{{Title: title, Points: s}}, toyLimit(d)); err != nil {
			return "", err
		}
	}
	return path, nil
}

// MaxSampleGrid is how many samples, at most, `vaebm sample` draws in its PNG grid.
const MaxSampleGrid = 400

// writeImageSamples writes n image samples s in so.Format: the decoder
// mean μ(z) at the chain's end when the run's eval.decoder_mean is set,
// else x = μ + σ·ε_x.
//   - idx: a big-endian float32 IDX file of shape (n, C, H, W), values not
//     clipped (the data lie in [0, 1]; judges and PNGs clip);
//   - npy: NumPy .npy, little-endian float32 of shape (n, C, H, W), values
//     clipped to [0, 1];
//   - png: a folder of n 8-bit RGB PNGs (grey images in three equal
//     channels), for pytorch-fid and TTUR.
//
// The first MaxSampleGrid also go into a PNG grid, at so.PNG or next to
// the file (folder). With judge, the scores go to so.Score.
func writeImageSamples(exp config.Experiment, t imageTask, out string, id int64, n int, model, path, title string, s []float32, judge imageJudge, so SampleOptions) (string, error) {
	var err error
	format := so.Format
	if format == "" {
		format = "idx"
	}
	if path == "" {
		path = filepath.Join(out, "samples", fmt.Sprintf("run%d-%s-%d", id, model, n))
		if format != "png" {
			path += "." + format
		}
	}
	shape := []int{n, t.c, t.h, t.w}
	switch format {
	case "idx":
		err = data.WriteIDXFloat32(path, shape, s)
	case "npy":
		err = data.WriteNPYFloat32(path, shape, clip01(s))
	case "png":
		_, err = plots.WritePNGs(path, s, t.c, t.h, t.w)
	}
	if err != nil {
		return "", err
	}
	if judge != nil {
		_, lines, err := judge.evaluate(model, s)
		if err != nil {
			return "", err
		}
		if _, err := fmt.Fprintln(so.Score, strings.Join(lines, "\n")); err != nil {
			return "", err
		}
	}
	png := so.PNG
	if png == "" {
		png = strings.TrimSuffix(path, filepath.Ext(path)) + "-grid.png"
	}
	k := min(n, MaxSampleGrid)
	img, err := plots.Tile(s[:k*t.dim()], t.c, t.h, t.w, int(math.Ceil(math.Sqrt(float64(k)))))
	if err != nil {
		return "", err
	}
	if err := plots.Images(png, []plots.ImagePanel{{Title: title, Image: img}}, 1.5); err != nil {
		return "", err
	}
	return path, nil
}

// reportMoves prints the acceptance rate of m's chains to w when they had
// a Metropolis correction.
func reportMoves(w io.Writer, m method.Model) {
	if w == nil {
		w = os.Stderr
	}
	if m.Moves != nil && m.Moves.Proposed > 0 {
		fmt.Fprintf(w, "%s chains: MALA accepted %d of %d proposals (%.3f)\n", m.Name, m.Moves.Accepted, m.Moves.Proposed, m.Moves.Rate())
	}
}

// logMoves records the acceptance rate of m's test chains when they have
// a Metropolis correction (eval/NAME_mala_accept).
func logMoves(run *tracker.Run, m method.Model) {
	if m.Moves != nil && m.Moves.Proposed > 0 {
		run.Log("eval/"+m.Name+"_mala_accept", 0, m.Moves.Rate())
	}
}
