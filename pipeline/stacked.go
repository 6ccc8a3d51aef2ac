package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/core/classifier"
	"github.com/vaebm/vaebm/core/data"
	"github.com/vaebm/vaebm/core/method"
	"github.com/vaebm/vaebm/core/metrics"
	"github.com/vaebm/vaebm/core/nn"
	"github.com/vaebm/vaebm/core/vae"
	"github.com/vaebm/vaebm/tracker"
)

// StackedMNIST images are 3 × 28 × 28: one MNIST digit per channel.
const (
	stackedC, stackedH, stackedW = 3, 28, 28
	stackedDim                   = stackedC * stackedH * stackedW
	stackedModes                 = 1000
)

// stackedMNISTTask is Sec. 5.3's mode-coverage experiment: the training set
// stacks three MNIST digits, and the judge is the PacGAN protocol.
var stackedMNISTTask = imageTask{
	c: stackedC, h: stackedH, w: stackedW,
	load: loadStackedMNIST,
	heldOut: func(exp config.Experiment, n int) ([]float32, error) {
		m, err := data.ImageSets["mnist"].Load(exp.Data.Dir, "test")
		if err != nil {
			return nil, err
		}
		images, _ := data.StackedMNIST(newRNG(exp.Seed, method.StreamHeldOut), m, n)
		return images, nil
	},
	newJudge: func(ctx context.Context, exp config.Experiment, opts Options, run *tracker.Run, bar *Bar) (imageJudge, error) {
		ccfg := DefaultClassifier
		ccfg.Dir = exp.Data.Dir
		if exp.Eval.ClassifierSteps > 0 {
			ccfg.Steps = exp.Eval.ClassifierSteps
		}
		cls, acc, clsRun, err := Classifier(ctx, opts, ccfg)
		if err != nil {
			return nil, err
		}
		run.Log("eval/classifier_test_acc", 0, acc)
		run.Log("eval/classifier_run", 0, float64(clsRun))
		return newModeJudge(cls, exp.Eval.ModeSamples, fmt.Sprintf("classifier of run %d", clsRun))
	},
	reopenJudge: func(_ context.Context, exp config.Experiment, opts Options, r tracker.RunInfo) (imageJudge, error) {
		clsID, ok := r.Metrics["eval/classifier_run"]
		if !ok {
			return nil, fmt.Errorf("run %d records no classifier run (eval/classifier_run)", r.ID)
		}
		cls, err := loadClassifierRun(opts.DB, int64(clsID))
		if err != nil {
			return nil, fmt.Errorf("the classifier of run %d: %w", r.ID, err)
		}
		return newModeJudge(cls, exp.Eval.ModeSamples, fmt.Sprintf("classifier of run %d", int64(clsID)))
	},
}

// loadStackedMNIST draws the training set: exp.Data.TrainSize stacked
// images from the MNIST training split, deterministic from the seed.
func loadStackedMNIST(exp config.Experiment) ([]float32, error) {
	m, err := data.ImageSets["mnist"].Load(exp.Data.Dir, "train")
	if err != nil {
		return nil, err
	}
	images, _ := data.StackedMNIST(newRNG(exp.Seed, method.StreamData), m, exp.Data.TrainSize)
	return images, nil
}

// modeJudge gives a StackedMNIST image its mode: the classifier's digit for
// each channel, clipped to the data's [0, 1] range first.
type modeJudge struct {
	p    *classifier.Predictor
	n    int
	name string // which classifier, for people
}

func newModeJudge(c *classifier.Net, n int, name string) (*modeJudge, error) {
	p, err := classifier.NewPredictor(c, 500)
	if err != nil {
		return nil, err
	}
	return &modeJudge{p: p, n: n, name: name}, nil
}

func (j *modeJudge) samples() int { return j.n }

// Modes returns the mode (100·d₀ + 10·d₁ + d₂) of each image in images
// (n × 3 × 28 × 28), and the digits of each channel.
func (j *modeJudge) Modes(images []float32) (modes []int, digits [3][]int, err error) {
	d, err := j.p.Predict(clip01(images)) // each channel is one 784-pixel image
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

// evaluate is the PacGAN evaluation: modes covered, KL to the uniform over
// 1,000 modes, and each channel's KL from its digit distribution to the
// uniform over 10 digits with the frequencies it is made of (which show
// whether a shortfall is one channel's digits or their combinations).
func (j *modeJudge) evaluate(model string, images []float32) (map[string]float64, []string, error) {
	if err := finiteSamples(model, images, stackedDim); err != nil {
		return nil, nil, err
	}
	r, err := j.evalModes(images)
	if err != nil {
		return nil, nil, err
	}
	m := map[string]float64{"modes": float64(r.covered), "kl": r.kl, "samples": float64(r.n)}
	for c := range r.freq {
		m[fmt.Sprintf("digit_kl_ch%d", c)] = r.chKL[c]
		for d, f := range r.freq[c] {
			m[fmt.Sprintf("digit_freq_ch%d_%d", c, d)] = f
		}
	}
	lines := r.lines(model)
	lines[0] += " (" + j.name + ")"
	return m, lines, nil
}

func (j *modeJudge) caption(s map[string]float64) string {
	return fmt.Sprintf("%.0f modes, KL %.3f", s["modes"], s["kl"])
}

// modeReport is the PacGAN evaluation of a set of StackedMNIST samples.
type modeReport struct {
	n, covered int
	kl         float64        // KL(p_gen ‖ uniform over 1,000 modes)
	chKL       [3]float64     // each channel's digit KL to uniform over 10
	freq       [3][10]float64 // each channel's digit frequencies: what the KL is made of
}

func (j *modeJudge) evalModes(images []float32) (modeReport, error) {
	modes, digits, err := j.Modes(images)
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

// reconSamples is how many stacked test images the VAE reconstructs for
// its digit accuracy.
const reconSamples = 2000

// vae reconstructs stacked images from the MNIST test split and records
// how often the classifier gives each channel's reconstruction its true
// digit (eval/vae_recon_digit_acc), beside the same for the images
// themselves (eval/data_digit_acc). A VAE whose reconstructions keep their
// digits but whose samples miss some has a prior that rarely asks for
// them; one whose reconstructions lose them has a decoder that cannot draw
// them.
func (j *modeJudge) vae(exp config.Experiment, run *tracker.Run, bar *Bar, v *vae.HierVAE) error {
	m, err := data.ImageSets["mnist"].Load(exp.Data.Dir, "test")
	if err != nil {
		return err
	}
	images, labels := data.StackedMNIST(newRNG(exp.Seed, method.StreamEval+100), m, reconSamples)
	recon, err := reconstruct(v, images, stackedDim)
	if err != nil {
		return err
	}
	accuracy := func(imgs []float32) (float64, error) {
		_, digits, err := j.Modes(imgs)
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

// reconstruct returns v's reconstructions (decoder means at the posterior
// means) of images, dim values each.
func reconstruct(v *vae.HierVAE, images []float32, dim int) ([]float32, error) {
	b := nn.NewBuilder()
	x, xt := b.Input("x", sampleBatch, dim)
	r, err := v.Reconstruct(b, x)
	if err != nil {
		return nil, err
	}
	out := b.Read(r)
	prog, err := nn.Compile(b, nil, nil)
	if err != nil {
		return nil, err
	}
	defer prog.Close()
	n := len(images) / dim
	var recon []float32
	for i := 0; i < n; i += sampleBatch {
		k := min(sampleBatch, n-i)
		clear(xt.Data().([]float32))
		copy(xt.Data().([]float32), images[i*dim:(i+k)*dim])
		if err := prog.Run(); err != nil {
			return nil, err
		}
		recon = append(recon, out.Values()[:k*dim]...)
	}
	return recon, nil
}
