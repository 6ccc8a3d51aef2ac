package pipeline

import (
	"context"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/core/energy"
	"github.com/vaebm/vaebm/core/sampler"
	"github.com/vaebm/vaebm/core/train"
	"github.com/vaebm/vaebm/core/vae"
	"github.com/vaebm/vaebm/plots"
	"github.com/vaebm/vaebm/tracker"
)

// sampleBatch is the number of chains (or decoder draws) run together when
// sampling for evaluation and figures.
const sampleBatch = 64

// imageTask is what an image dataset supplies to VAEBM on images: the
// images' shape, the training set, and the judge of samples. One flow
// (runImages) serves every image dataset.
type imageTask struct {
	c, h, w int
	// load returns the training images, n × c·h·w values in [0, 1].
	load func(exp config.Experiment) ([]float32, error)
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

// taskOf returns the image task of exp's dataset.
func taskOf(exp config.Experiment) (imageTask, bool) {
	t, ok := imageTasks[exp.Data.Name]
	return t, ok
}

// imageModels are the networks of the image experiments: the hierarchical
// VAE and the Table 7-style energy.
type imageModels struct {
	vae    *vae.HierVAE
	energy *energy.ResNet
}

func newImageModels(exp config.Experiment, t imageTask) (imageModels, error) {
	rng := newRNG(exp.Seed, streamVAEInit)
	v, err := vae.NewHierVAE(rng, t.c, t.h, t.w,
		exp.VAE.Hidden, exp.VAE.LatentDim, [2]int{exp.VAE.Groups[0], exp.VAE.Groups[1]}, exp.VAE.MinLogStd)
	if err != nil {
		return imageModels{}, err
	}
	if exp.VAE.GlobalDim > 0 {
		v.AddGlobalLatent(rng, exp.VAE.GlobalDim)
	}
	blocks := make([]energy.BlockSpec, len(exp.EBM.Blocks))
	for i, b := range exp.EBM.Blocks {
		blocks[i] = energy.BlockSpec{Out: b.Out, Down: b.Down}
	}
	en := energy.NewResNet(newRNG(exp.Seed, streamEBMInit), t.c, t.h, t.w, exp.EBM.Hidden, blocks)
	if exp.EBM.WeightNorm {
		en.WeightNormalize()
	}
	if exp.EBM.SpectralNorm {
		en.SpectralNormalize(newRNG(exp.Seed, streamSpectralInit))
	}
	return imageModels{vae: v, energy: en}, nil
}

// stage is stage 2 of VAEBM on images: the replay buffer keeps every ε_z
// group, and ε_x always starts fresh (App. E).
func (m imageModels) stage(exp config.Experiment) train.EBMStage {
	return train.EBMStage{Gen: chainGenerator(exp, m.vae), Energy: m.energy, Target: sampler.Target(exp.Langevin.Target),
		Persist: len(m.vae.EpsDims()) - 1, Init: sampler.Gaussian, MeanNegatives: exp.EBM.MeanNegatives}
}

// runImages trains VAEBM on an image dataset and evaluates the VAE alone
// and the VAEBM on the same noise draws with the task's judge.
func runImages(t imageTask) func(context.Context, config.Experiment, Options, *tracker.Run, *Bar, bool) error {
	return func(ctx context.Context, exp config.Experiment, opts Options, run *tracker.Run, bar *Bar, resuming bool) error {
		m, err := newImageModels(exp, t)
		if err != nil {
			return err
		}
		dir := RunDir(opts.OutDir, run.ID)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		trainSet, err := t.load(exp)
		if err != nil {
			return err
		}
		digest := DataDigest(trainSet)
		if err := run.SetDatasetDigest(digest); err != nil {
			return err
		}
		// The judge comes first: its classifiers are runs of their own,
		// trained once and then reused from the stage cache, and a failure
		// there should not wait for the VAE.
		if err := run.DeleteMetrics("eval/", -1); err != nil {
			return err
		}
		judge, err := t.newJudge(ctx, exp, opts, run, bar)
		if err != nil {
			return err
		}
		if err := run.Flush(); err != nil {
			return err
		}

		if err := timedStage(run, "vae", func() error {
			return vaeStage(ctx, exp, opts, run, bar, m.vae, trainSet, digest, resuming)
		}); err != nil {
			return err
		}
		n := judge.samples()
		var vaeS []float32
		captions := map[string]string{}
		err = timedStage(run, "eval_vae", func() error {
			bar.Say("eval: %d VAE samples", n)
			vaeS, err = sampleVAE(ctx, m.vae, newRNG(exp.Seed, streamEval), n, exp.Eval.Temperature, exp.Eval.DecoderMean, bar)
			if err != nil {
				return err
			}
			if captions["vae"], err = logScores(run, bar, judge, "vae", vaeS); err != nil {
				return err
			}
			return judge.vae(exp, run, bar, m.vae)
		})
		if err != nil {
			return err
		}

		if err := timedStage(run, "ebm", func() error {
			if exp.EBM.WeightNorm {
				// Data-dependent initialisation on the first training images;
				// a resumed stage then loads its saved parameters over it.
				k := min(exp.EBM.BatchSize*4, len(trainSet)/t.dim())
				if err := m.energy.DataInit(trainSet[:k*t.dim()], k); err != nil {
					return err
				}
			}
			return ebmStage(ctx, exp, opts, run, bar, m.stage(exp), trainSet, digest, resuming)
		}); err != nil {
			return err
		}
		if err := run.Flush(); err != nil {
			return err
		}
		steps, _ := testChain(exp)
		rec := newChainRecorder(steps, t.dim())
		var vaebmS []float32
		err = timedStage(run, "eval_vaebm", func() error {
			bar.Say("eval: %d VAEBM samples (%d Langevin steps each)", n, steps)
			var err error
			vaebmS, err = sampleVAEBM(ctx, exp, m.vae, m.energy, newRNG(exp.Seed, streamEval), newRNG(exp.Seed, streamSample), n, sampleBatch, exp.Eval.DecoderMean,
				func(b, step int, report func() ([]float32, error)) {
					if step == 0 {
						bar.Update("eval-vaebm", b*sampleBatch, n, "")
					}
					if b == 0 && rec.err == nil {
						rec.err = rec.observe(step, report)
					}
				})
			if err == nil {
				err = rec.err
			}
			if err != nil {
				return err
			}
			captions["vaebm"], err = logScores(run, bar, judge, "vaebm", vaebmS)
			return err
		})
		if err != nil {
			return err
		}
		if err := run.Flush(); err != nil {
			return err
		}
		return writeImageFigures(exp, t, opts, run, bar, vaeS, vaebmS, rec, captions)
	}
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

// sampleVAE draws n ancestral samples x = T_θ(ε), ε ~ N(0, I), or with
// mean their decoder means μ(z).
func sampleVAE(ctx context.Context, gen sampler.Generator, rng *rand.Rand, n int, temp float64, mean bool, bar *Bar) ([]float32, error) {
	dec, err := sampler.NewDecoder(gen, sampleBatch)
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	dims := gen.EpsDims()
	eps := make([][]float32, len(dims))
	for g, d := range dims {
		eps[g] = make([]float32, d*sampleBatch)
	}
	var out []float32
	xdim := dims[len(dims)-1]
	for len(out) < n*xdim {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		drawChainStart(rng, eps, temp)
		if mean {
			clear(eps[len(eps)-1])
		}
		x, err := dec.Decode(eps)
		if err != nil {
			return nil, err
		}
		out = append(out, x...)
		if bar != nil {
			bar.Update("eval-vae", min(len(out)/xdim, n), n, "")
		}
	}
	return out[:n*xdim], nil
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

// writeImageFigures draws the sample grids (VAE and VAEBM, titled with the
// judge's captions of their scores), the VAE samples next to the same
// chains after MCMC (App. H, Fig. 12), the chain strip (Fig. 2b) and the
// training curves.
func writeImageFigures(exp config.Experiment, t imageTask, opts Options, run *tracker.Run, bar *Bar, vaeS, vaebmS []float32, rec *chainRecorder, captions map[string]string) error {
	dim := t.dim()
	first := func(x []float32, n int) []float32 { return x[:min(n, len(x)/dim)*dim] }
	tile := func(x []float32, cols int) (image.Image, error) {
		return plots.Tile(x, t.c, t.h, t.w, cols)
	}
	type panel struct {
		title string
		x     []float32
		cols  int
	}
	type figure struct {
		name   string
		panels []panel
	}
	steps, _ := testChain(exp)
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
	figs := []figure{
		{"samples", []panel{{"VAE samples: " + captions["vae"], first(vaeS, 100), 10},
			{fmt.Sprintf("VAEBM samples (%d Langevin steps): %s", steps, captions["vaebm"]), first(vaebmS, 100), 10}}},
		{"fig12", []panel{{"VAE samples (chain starts)", first(rec.start, 36), 6}, {fmt.Sprintf("the same chains after %d steps", steps), first(rec.end, 36), 6}}},
		{"chains", []panel{{fmt.Sprintf("Langevin chains, every 2nd step of %d", steps), strip, max(len(rec.strip), 1)}}},
	}
	var written []string
	for _, f := range figs {
		var ps []plots.ImagePanel
		for _, p := range f.panels {
			if len(p.x) == 0 {
				continue
			}
			img, err := tile(p.x, p.cols)
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
