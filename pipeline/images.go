package pipeline

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/core/energy"
	"github.com/vaebm/vaebm/core/method"
	"github.com/vaebm/vaebm/core/sampler"
	"github.com/vaebm/vaebm/core/vae"
	"github.com/vaebm/vaebm/plots"
	"github.com/vaebm/vaebm/tracker"
)

// sampleBatch is the number of chains (or decoder draws) run together when
// sampling for evaluation and figures.
const sampleBatch = 64

// imageTask is what an image dataset supplies: the images' shape, the
// training and held-out images, and the judge of samples. One flow
// (imageRun) serves every image dataset and method.
type imageTask struct {
	c, h, w int
	// load returns the training images, n × c·h·w values in [0, 1].
	load func(exp config.Experiment) ([]float32, error)
	// heldOut returns n images no stage trains on (from the test split).
	heldOut func(exp config.Experiment, n int) ([]float32, error)
	// newJudge prepares the evaluation: it trains or reuses the judge's
	// classifiers and records what describes them in run.
	newJudge func(ctx context.Context, exp config.Experiment, opts Options, run *tracker.Run, bar *Bar) (imageJudge, error)
	// reopenJudge restores the judge a finished run was evaluated with
	// (for `vaebm sample --score`).
	reopenJudge func(ctx context.Context, exp config.Experiment, opts Options, r tracker.RunInfo) (imageJudge, error)
}

func (t imageTask) dim() int { return t.c * t.h * t.w }

// imageJudge scores the samples of the models an image experiment trains.
type imageJudge interface {
	// samples is how many samples each model is evaluated on.
	samples() int
	// evaluate scores one model's samples: metrics (recorded as
	// eval/MODEL_KEY) and lines for people.
	evaluate(model string, images []float32) (map[string]float64, []string, error)
	// caption says in a few words what evaluate scored, for figure titles.
	caption(scores map[string]float64) string
	// vae evaluates what only the VAE has (its reconstructions), recording
	// eval/ metrics itself; it may do nothing.
	vae(exp config.Experiment, run *tracker.Run, bar *Bar, v *vae.HierVAE) error
}

// imageTasks are the image datasets by data.name.
var imageTasks = map[string]imageTask{
	"stackedmnist":  stackedMNISTTask,
	"fashion-mnist": standInTask("fashion-mnist"),
	"cifar10":       standInTask("cifar10"),
}

// imageRun is a run of an image task: the hierarchical VAE and the
// Table 7-style energy, and the task's judge.
type imageRun struct {
	imageTask
	judge imageJudge
	train []float32 // the training images env loaded
}

func (r *imageRun) env(exp config.Experiment) (*method.Env, error) {
	t := r.imageTask
	trainSet, err := t.load(exp)
	if err != nil {
		return nil, err
	}
	r.train = trainSet
	return &method.Env{
		Exp: exp, TrainSet: trainSet, XDim: t.dim(),
		HeldOut: func(n int) ([]float32, error) { return t.heldOut(exp, n) },
		NewVAE: func() (method.VAE, error) {
			rng := newRNG(exp.Seed, method.StreamVAEInit)
			v, err := vae.NewHierVAE(rng, t.c, t.h, t.w,
				exp.VAE.Hidden, exp.VAE.LatentDim, [2]int{exp.VAE.Groups[0], exp.VAE.Groups[1]}, exp.VAE.MinLogStd)
			if err != nil {
				return nil, err
			}
			if exp.VAE.GlobalDim > 0 {
				v.AddGlobalLatent(rng, exp.VAE.GlobalDim)
			}
			return v, nil
		},
		NewEnergy: func(o method.EnergyOptions) (sampler.Energy, error) {
			blocks := make([]energy.BlockSpec, len(exp.EBM.Blocks))
			for i, b := range exp.EBM.Blocks {
				blocks[i] = energy.BlockSpec{Out: b.Out, Down: b.Down}
			}
			en := energy.NewResNet(newRNG(exp.Seed, o.Stream), t.c, t.h, t.w, exp.EBM.Hidden, blocks)
			switch {
			case o.SpectralNorm:
				en.SpectralNormalize(newRNG(exp.Seed, method.StreamSpectralInit))
			case exp.EBM.WeightNorm:
				// Data-dependent initialisation on the first training images;
				// a trained stage then loads its parameters over it.
				en.WeightNormalize()
				k := min(exp.EBM.BatchSize*4, len(trainSet)/t.dim())
				if err := en.DataInit(trainSet[:k*t.dim()], k); err != nil {
					return nil, err
				}
			}
			if o.BatchNorm {
				en.BatchNormalize()
			}
			return en, nil
		},
	}, nil
}

// prepare trains or reuses the judge first: its classifiers are runs of
// their own, trained once and then reused from the stage cache, and a
// failure there should not wait for the VAE.
func (r *imageRun) prepare(ctx context.Context, exp config.Experiment, opts Options, run *tracker.Run, bar *Bar) error {
	var err error
	r.judge, err = r.newJudge(ctx, exp, opts, run, bar)
	return err
}

// evaluate scores each model's samples with the judge, all drawn from the
// same starts stream so that a VAE and the chains that start at its
// samples are compared on the same noise draws (time/eval_MODEL_s), and
// draws the figures.
func (r *imageRun) evaluate(ctx context.Context, exp config.Experiment, opts Options, run *tracker.Run, bar *Bar, models []method.Model) error {
	if len(exp.Eval.OOD.Sets) > 0 {
		return r.oodEvaluate(ctx, exp, opts, run, bar, models)
	}
	n := r.judge.samples()
	captions := map[string]string{}
	samples := map[string][]float32{}
	recs := map[string]*chainRecorder{}
	for _, m := range models {
		rec := newChainRecorder(m.Steps, r.dim())
		err := timedStage(run, "eval_"+m.Name, func() error {
			what := fmt.Sprintf("eval: %d %s samples", n, m.Title)
			if m.Steps > 0 {
				what += fmt.Sprintf(" (%d Langevin steps each)", m.Steps)
			}
			bar.Say("%s", what)
			s, err := m.Sample(ctx, newRNG(exp.Seed, method.StreamEval), newRNG(exp.Seed, method.StreamSample), n, sampleBatch,
				func(b, step int, report func() ([]float32, error)) {
					if step == 0 {
						bar.Update("eval-"+m.Name, b*sampleBatch, n, "")
					}
					if b == 0 && m.Steps > 0 && rec.err == nil {
						rec.err = rec.observe(step, report)
					}
				})
			if err == nil {
				err = rec.err
			}
			logMoves(run, m)
			if err != nil {
				return err
			}
			samples[m.Name] = s
			if captions[m.Name], err = logScores(run, bar, r.judge, m.Name, s); err != nil {
				return err
			}
			if err := saveSampleTile(opts, run, r.imageTask, m.Name, s); err != nil {
				return err
			}
			if v, ok := m.Base.(*vae.HierVAE); ok && m.Energy == nil {
				return r.judge.vae(exp, run, bar, v)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if m.Steps > 0 {
			recs[m.Name] = rec
		}
		if err := run.Flush(); err != nil {
			return err
		}
	}
	return writeImageFigures(exp, r.imageTask, opts, run, bar, models, samples, recs, captions)
}

// SampleTile is the file in a run's folder that holds the first 100
// scored samples of a model as a 10×10 tile at one pixel per pixel (an
// artifact of kind "samples"): what a table's figure shows of each row.
func SampleTile(out string, runID int64, model string) string {
	return filepath.Join(RunDir(out, runID), "samples-"+model+".png")
}

func saveSampleTile(opts Options, run *tracker.Run, t imageTask, model string, images []float32) error {
	n := min(100, len(images)/t.dim())
	path := SampleTile(opts.OutDir, run.ID, model)
	if err := plots.SaveTile(path, clip01(images[:n*t.dim()]), t.c, t.h, t.w, 10); err != nil {
		return err
	}
	return run.Artifact(path, "samples")
}

// logScores records the judge's scores of one model's samples under
// eval/MODEL_, prints its lines and returns the judge's caption of them.
func logScores(run *tracker.Run, bar *Bar, judge imageJudge, model string, images []float32) (string, error) {
	scores, lines, err := judge.evaluate(model, images)
	if err != nil {
		return "", err
	}
	keys := make([]string, 0, len(scores))
	for k := range scores {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		run.Log("eval/"+model+"_"+k, 0, scores[k])
	}
	for _, line := range lines {
		bar.Say("%s", line)
	}
	return judge.caption(scores), run.Flush()
}

// logDataScores records the judge's scores of real images, the floor a
// model's scores read against, under eval/data_, and prints its lines
// (which name the images as what says).
func logDataScores(run *tracker.Run, bar *Bar, judge imageJudge, what string, images []float32) error {
	scores, lines, err := judge.evaluate(what, images)
	if err != nil {
		return err
	}
	for key, v := range scores {
		run.Log("eval/data_"+key, 0, v)
	}
	for _, l := range lines {
		bar.Say("%s", l)
	}
	return nil
}

// finiteSamples reports samples holding NaN or ±Inf (a diverged model),
// which no judge can score, with how many there are.
func finiteSamples(model string, images []float32, dim int) error {
	bad, first := 0, -1
	for i := 0; i < len(images)/dim; i++ {
		for _, v := range images[i*dim : (i+1)*dim] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				if bad == 0 {
					first = i
				}
				bad++
				break
			}
		}
	}
	if bad > 0 {
		return fmt.Errorf("%s: %d of %d samples hold NaN or ±Inf (the first: sample %d); the model diverged and its samples cannot be scored",
			model, bad, len(images)/dim, first)
	}
	return nil
}

// clip01 returns images clipped to the data's [0, 1] range, which judges
// trained on data expect.
func clip01(images []float32) []float32 {
	out := make([]float32, len(images))
	for i, v := range images {
		out[i] = float32(math.Min(1, math.Max(0, float64(v))))
	}
	return out
}

// chainRecorder keeps, from the first batch of test chains, the images
// needed for the figures: what every chain reports at its start (a VAE
// sample) and at its end, and every second step of the first few chains
// (Fig. 2b style).
type chainRecorder struct {
	steps, dim  int
	start, end  []float32
	strip       [][]float32 // [step/2] → the first stripChains chains
	stripChains int
	err         error
}

func newChainRecorder(steps, dim int) *chainRecorder {
	return &chainRecorder{steps: steps, dim: dim, stripChains: 8}
}

func (r *chainRecorder) observe(step int, report func() ([]float32, error)) error {
	if step%2 != 0 && step != 0 && step != r.steps {
		return nil
	}
	x, err := report()
	if err != nil {
		return err
	}
	if step == 0 {
		r.start = x
	}
	if step == r.steps {
		r.end = x
	}
	n := min(r.stripChains, len(x)/r.dim)
	r.strip = append(r.strip, x[:n*r.dim])
	return nil
}

// plotPath is where figure NAME of an experiment goes: out/plots/EXPERIMENT-NAME.png.
func plotPath(opts Options, exp config.Experiment, name string) string {
	return filepath.Join(opts.OutDir, "plots", exp.Name+"-"+name+".png")
}

// writeImageFigures draws the sample grids (one panel per model, titled
// with the judge's captions of its scores); for each model sampled by
// chains, the chains' starts next to the same chains at the end (App. H,
// Fig. 12) and every second step of its first chains (Fig. 2b); and the
// training curves.
func writeImageFigures(exp config.Experiment, t imageTask, opts Options, run *tracker.Run, bar *Bar, models []method.Model, samples map[string][]float32, recs map[string]*chainRecorder, captions map[string]string) error {
	dim := t.dim()
	first := func(x []float32, n int) []float32 { return x[:min(n, len(x)/dim)*dim] }
	type panel struct {
		title string
		x     []float32
		cols  int
	}
	type figure struct {
		name   string
		panels []panel
	}
	grids := figure{name: "samples"}
	fig12 := figure{name: "fig12"}
	chains := figure{name: "chains"}
	for _, m := range models {
		title := m.Title + " samples"
		if m.Steps > 0 {
			title += fmt.Sprintf(" (%d Langevin steps)", m.Steps)
		}
		grids.panels = append(grids.panels, panel{title + ": " + captions[m.Name], first(samples[m.Name], 100), 10})
		rec := recs[m.Name]
		if rec == nil {
			continue
		}
		fig12.panels = append(fig12.panels, panel{m.Title + ": chain starts", first(rec.start, 36), 6},
			panel{fmt.Sprintf("the same chains after %d steps", m.Steps), first(rec.end, 36), 6})
		// The strip: one row per chain, one column per recorded step.
		var strip []float32
		if len(rec.strip) > 0 {
			nChains := len(rec.strip[0]) / dim
			for c := 0; c < nChains; c++ {
				for _, s := range rec.strip {
					strip = append(strip, s[c*dim:(c+1)*dim]...)
				}
			}
		}
		chains.panels = append(chains.panels, panel{fmt.Sprintf("%s: Langevin chains, every 2nd step of %d", m.Title, m.Steps), strip, max(len(rec.strip), 1)})
	}
	var written []string
	for _, f := range []figure{grids, fig12, chains} {
		var ps []plots.ImagePanel
		for _, p := range f.panels {
			if len(p.x) == 0 {
				continue
			}
			img, err := plots.Tile(p.x, t.c, t.h, t.w, p.cols)
			if err != nil {
				return fmt.Errorf("figure %s: %w", f.name, err)
			}
			ps = append(ps, plots.ImagePanel{Title: p.title, Image: img})
		}
		if len(ps) == 0 {
			continue
		}
		path := plotPath(opts, exp, f.name)
		if err := plots.Images(path, ps, 2); err != nil {
			return err
		}
		if err := run.Artifact(path, "plot"); err != nil {
			return err
		}
		written = append(written, path)
	}
	curves := plotPath(opts, exp, "training")
	if err := TrainingCurves(opts.DB, run.ID, curves); err != nil {
		return err
	}
	if err := run.Artifact(curves, "plot"); err != nil {
		return err
	}
	bar.Say("figures: %s", strings.Join(append(written, curves), ", "))
	return nil
}
