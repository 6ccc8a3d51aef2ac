package pipeline

import (
	"context"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/core/classifier"
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

// StackedMNIST images are 3 × 28 × 28: one MNIST digit per channel.
const (
	stackedC, stackedH, stackedW = 3, 28, 28
	stackedDim                   = stackedC * stackedH * stackedW
	stackedModes                 = 1000
	// sampleBatch is the number of chains (or decoder draws) run together
	// when sampling for evaluation and figures.
	sampleBatch = 64
)

// imageModels are the networks of the image experiments: the hierarchical
// VAE and the Table 7-style energy.
type imageModels struct {
	vae    *vae.HierVAE
	energy *energy.ResNet
}

func newImageModels(exp config.Experiment) (imageModels, error) {
	rng := newRNG(exp.Seed, streamVAEInit)
	v, err := vae.NewHierVAE(rng, stackedC, stackedH, stackedW,
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
	en := energy.NewResNet(newRNG(exp.Seed, streamEBMInit), stackedC, stackedH, stackedW, exp.EBM.Hidden, blocks)
	if exp.EBM.WeightNorm {
		en.WeightNormalize()
	}
	return imageModels{vae: v, energy: en}, nil
}

// stage is stage 2 of VAEBM on images: the replay buffer keeps every ε_z
// group, and ε_x always starts fresh (App. E).
func (m imageModels) stage(exp config.Experiment) train.EBMStage {
	return train.EBMStage{Gen: chainGenerator(exp, m.vae), Energy: m.energy, Target: sampler.Target(exp.Langevin.Target),
		Persist: len(m.vae.EpsDims()) - 1, Init: sampler.Gaussian, MeanNegatives: exp.EBM.MeanNegatives}
}

// loadStackedMNIST draws the training set: exp.Data.TrainSize stacked
// images from the MNIST training split, deterministic from the seed.
func loadStackedMNIST(exp config.Experiment) ([]float32, error) {
	m, err := loadMNIST(exp, "train")
	if err != nil {
		return nil, err
	}
	images, _ := data.StackedMNIST(newRNG(exp.Seed, streamData), m, exp.Data.TrainSize)
	return images, nil
}

// loadMNIST reads one MNIST split from data.dir, or the GoMNIST module.
func loadMNIST(exp config.Experiment, split string) (*data.MNIST, error) {
	dir := exp.Data.Dir
	if dir == "" {
		var err error
		if dir, err = data.MNISTDir(); err != nil {
			return nil, err
		}
	}
	return data.LoadMNIST(dir, split)
}

// reconSamples is how many stacked test images the VAE reconstructs for
// its digit accuracy.
const reconSamples = 2000

// logReconAccuracy reconstructs stacked images from the MNIST test split
// and records how often the classifier gives each channel's reconstruction
// its true digit (eval/vae_recon_digit_acc), beside the same for the
// images themselves (eval/data_digit_acc). A VAE whose reconstructions keep
// their digits but whose samples miss some has a prior that rarely asks for
// them; one whose reconstructions lose them has a decoder that cannot draw
// them.
func logReconAccuracy(exp config.Experiment, run *tracker.Run, bar *Bar, v *vae.HierVAE, l *modeLabeller) error {
	m, err := loadMNIST(exp, "test")
	if err != nil {
		return err
	}
	images, labels := data.StackedMNIST(newRNG(exp.Seed, streamEval+100), m, reconSamples)
	b := nn.NewBuilder()
	x, xt := b.Input("x", sampleBatch, stackedDim)
	r, err := v.Reconstruct(b, x)
	if err != nil {
		return err
	}
	out := b.Read(r)
	prog, err := nn.Compile(b, nil, nil)
	if err != nil {
		return err
	}
	defer prog.Close()
	var recon []float32
	for i := 0; i < reconSamples; i += sampleBatch {
		k := min(sampleBatch, reconSamples-i)
		clear(xt.Data().([]float32))
		copy(xt.Data().([]float32), images[i*stackedDim:(i+k)*stackedDim])
		if err := prog.Run(); err != nil {
			return err
		}
		recon = append(recon, out.Values()[:k*stackedDim]...)
	}
	accuracy := func(imgs []float32) (float64, error) {
		_, digits, err := l.Modes(imgs)
		if err != nil {
			return 0, err
		}
		right := 0
		for i, lab := range labels {
			for c, d := range []int{lab / 100, lab / 10 % 10, lab % 10} {
				if digits[c][i] == d {
					right++
				}
			}
		}
		return float64(right) / float64(3*len(labels)), nil
	}
	ra, err := accuracy(recon)
	if err != nil {
		return err
	}
	da, err := accuracy(images)
	if err != nil {
		return err
	}
	run.Log("eval/vae_recon_digit_acc", 0, ra)
	run.Log("eval/data_digit_acc", 0, da)
	bar.Say("vae: reconstructions of %d test images keep %.1f%% of their digits (the images themselves: %.1f%%)", reconSamples, 100*ra, 100*da)
	return nil
}

func runStackedMNIST(ctx context.Context, exp config.Experiment, opts Options, run *tracker.Run, bar *Bar, resuming bool) error {
	m, err := newImageModels(exp)
	if err != nil {
		return err
	}
	dir := RunDir(opts.OutDir, run.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	trainSet, err := loadStackedMNIST(exp)
	if err != nil {
		return err
	}
	digest := DataDigest(trainSet)
	if err := run.SetDatasetDigest(digest); err != nil {
		return err
	}
	// The mode classifier comes first: it is its own run, trained once and
	// then reused from the stage cache, and a failure there should not
	// wait for the VAE.
	ccfg := DefaultClassifier
	ccfg.Dir = exp.Data.Dir
	if exp.Eval.ClassifierSteps > 0 {
		ccfg.Steps = exp.Eval.ClassifierSteps
	}
	cls, acc, clsRun, err := Classifier(ctx, opts, ccfg)
	if err != nil {
		return err
	}
	labeller, err := newModeLabeller(cls)
	if err != nil {
		return err
	}
	if err := run.DeleteMetrics("eval/", -1); err != nil {
		return err
	}
	run.Log("eval/classifier_test_acc", 0, acc)
	run.Log("eval/classifier_run", 0, float64(clsRun))

	if err := timedStage(run, "vae", func() error {
		return vaeStage(ctx, exp, opts, run, bar, m.vae, trainSet, digest, resuming)
	}); err != nil {
		return err
	}
	n := exp.Eval.ModeSamples
	var vaeS []float32
	err = timedStage(run, "eval_vae", func() error {
		bar.Say("eval: %d VAE samples, each channel classified", n)
		vaeS, err = sampleVAE(ctx, m.vae, newRNG(exp.Seed, streamEval), n, exp.Eval.Temperature, exp.Eval.DecoderMean, bar)
		if err != nil {
			return err
		}
		if err := logModes(run, bar, labeller, "vae", vaeS); err != nil {
			return err
		}
		return logReconAccuracy(exp, run, bar, m.vae, labeller)
	})
	if err != nil {
		return err
	}

	if err := timedStage(run, "ebm", func() error {
		if exp.EBM.WeightNorm {
			// Data-dependent initialisation on the first training images;
			// a resumed stage then loads its saved parameters over it.
			k := min(exp.EBM.BatchSize*4, len(trainSet)/stackedDim)
			if err := m.energy.DataInit(trainSet[:k*stackedDim], k); err != nil {
				return err
			}
		}
		return ebmStage(ctx, exp, opts, run, bar, m.stage(exp), trainSet, resuming)
	}); err != nil {
		return err
	}
	if err := run.Flush(); err != nil {
		return err
	}
	steps, _ := testChain(exp)
	rec := newChainRecorder(steps)
	var vaebmS []float32
	err = timedStage(run, "eval_vaebm", func() error {
		bar.Say("eval: %d VAEBM samples (%d Langevin steps each), each channel classified", n, steps)
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
		return logModes(run, bar, labeller, "vaebm", vaebmS)
	})
	if err != nil {
		return err
	}
	if err := run.Flush(); err != nil {
		return err
	}
	return writeStackedFigures(exp, opts, run, bar, vaeS, vaebmS, rec)
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

// modeLabeller gives a StackedMNIST image its mode: the classifier's digit
// for each channel, clipped to the data's [0, 1] range first.
type modeLabeller struct{ p *classifier.Predictor }

func newModeLabeller(c *classifier.CNN) (*modeLabeller, error) {
	p, err := classifier.NewPredictor(c, 500)
	if err != nil {
		return nil, err
	}
	return &modeLabeller{p: p}, nil
}

// Modes returns the mode (100·d₀ + 10·d₁ + d₂) of each image in images
// (n × 3 × 28 × 28), and the digits of each channel.
func (l *modeLabeller) Modes(images []float32) (modes []int, digits [3][]int, err error) {
	clipped := make([]float32, len(images))
	for i, v := range images {
		clipped[i] = float32(math.Min(1, math.Max(0, float64(v))))
	}
	d, err := l.p.Predict(clipped) // each channel is one 784-pixel image
	if err != nil {
		return nil, digits, err
	}
	modes = make([]int, len(d)/stackedC)
	for i := range modes {
		modes[i] = metrics.StackedLabel(d[3*i], d[3*i+1], d[3*i+2])
		for c := range digits {
			digits[c] = append(digits[c], d[3*i+c])
		}
	}
	return modes, digits, nil
}

// modeReport is the PacGAN evaluation of a set of StackedMNIST samples.
type modeReport struct {
	n, covered int
	kl         float64        // KL(p_gen ‖ uniform over 1,000 modes)
	chKL       [3]float64     // each channel's digit KL to uniform over 10
	freq       [3][10]float64 // each channel's digit frequencies: what the KL is made of
}

func evalModes(l *modeLabeller, images []float32) (modeReport, error) {
	modes, digits, err := l.Modes(images)
	if err != nil {
		return modeReport{}, err
	}
	r := modeReport{n: len(modes)}
	if r.covered, r.kl, err = metrics.ModeCoverage(modes, stackedModes); err != nil {
		return r, err
	}
	for c := range digits {
		if _, r.chKL[c], err = metrics.ModeCoverage(digits[c], 10); err != nil {
			return r, err
		}
		for _, d := range digits[c] {
			r.freq[c][d] += 1 / float64(len(digits[c]))
		}
	}
	return r, nil
}

// lines describes the report for people: the totals, then each channel's
// digit frequencies.
func (r modeReport) lines(name string) []string {
	out := []string{fmt.Sprintf("%s: %d of %d modes, KL %.3f over %d samples (per-channel digit KL %.3f %.3f %.3f)",
		name, r.covered, stackedModes, r.kl, r.n, r.chKL[0], r.chKL[1], r.chKL[2])}
	for c, f := range r.freq {
		var b strings.Builder
		for d, v := range f {
			fmt.Fprintf(&b, " %d:%.3f", d, v)
		}
		out = append(out, fmt.Sprintf("%s channel %d digit frequencies:%s", name, c, b.String()))
	}
	return out
}

// logModes records the PacGAN evaluation of samples under prefix "eval/NAME_":
// modes covered, KL to the uniform over 1,000 modes, and each channel's KL
// from its digit distribution to the uniform over 10 digits (which shows
// whether a shortfall is one channel's digits or their combinations).
func logModes(run *tracker.Run, bar *Bar, l *modeLabeller, name string, images []float32) error {
	r, err := evalModes(l, images)
	if err != nil {
		return err
	}
	run.Log("eval/"+name+"_modes", 0, float64(r.covered))
	run.Log("eval/"+name+"_kl", 0, r.kl)
	run.Log("eval/"+name+"_samples", 0, float64(r.n))
	for c := range r.freq {
		run.Log(fmt.Sprintf("eval/%s_digit_kl_ch%d", name, c), 0, r.chKL[c])
		for d, f := range r.freq[c] {
			run.Log(fmt.Sprintf("eval/%s_digit_freq_ch%d_%d", name, c, d), 0, f)
		}
	}
	for _, line := range r.lines(name) {
		bar.Say("%s", line)
	}
	return run.Flush()
}

// chainRecorder keeps, from the first batch of test chains, the images
// needed for the figures: what every chain reports at its start (a VAE
// sample) and at its end, and every second step of the first few chains
// (Fig. 2b style).
type chainRecorder struct {
	steps       int
	start, end  []float32
	strip       [][]float32 // [step/2] → the first stripChains chains
	stripChains int
	err         error
}

func newChainRecorder(steps int) *chainRecorder { return &chainRecorder{steps: steps, stripChains: 8} }

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
	n := min(r.stripChains, len(x)/stackedDim)
	r.strip = append(r.strip, x[:n*stackedDim])
	return nil
}

// plotPath is where figure NAME of an experiment goes: out/plots/EXPERIMENT-NAME.png.
func plotPath(opts Options, exp config.Experiment, name string) string {
	return filepath.Join(opts.OutDir, "plots", exp.Name+"-"+name+".png")
}

// writeStackedFigures draws the sample grids (VAE and VAEBM), the VAE
// samples next to the same chains after MCMC (App. H, Fig. 12), the chain
// strip (Fig. 2b) and the training curves.
func writeStackedFigures(exp config.Experiment, opts Options, run *tracker.Run, bar *Bar, vaeS, vaebmS []float32, rec *chainRecorder) error {
	first := func(x []float32, n int) []float32 { return x[:min(n, len(x)/stackedDim)*stackedDim] }
	tile := func(x []float32, cols int) (image.Image, error) {
		return plots.Tile(x, stackedC, stackedH, stackedW, cols)
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
		nChains := len(rec.strip[0]) / stackedDim
		for c := 0; c < nChains; c++ {
			for _, s := range rec.strip {
				strip = append(strip, s[c*stackedDim:(c+1)*stackedDim]...)
			}
		}
	}
	figs := []figure{
		{"samples", []panel{{"VAE samples", first(vaeS, 100), 10}, {fmt.Sprintf("VAEBM samples (%d Langevin steps)", steps), first(vaebmS, 100), 10}}},
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
