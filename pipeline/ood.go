package pipeline

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	G "gorgonia.org/gorgonia"

	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/core/data"
	"github.com/vaebm/vaebm/core/method"
	"github.com/vaebm/vaebm/core/metrics"
	"github.com/vaebm/vaebm/core/nn"
	"github.com/vaebm/vaebm/core/vae"
	"github.com/vaebm/vaebm/plots"
	"github.com/vaebm/vaebm/tracker"
)

// scorer gives a model's log-likelihood of images: log p(x) by IWAE for
// the VAE, log h(x) = log p(x) − E(x) for the VAEBM (unnormalised: log Z
// is one constant and changes no histogram's shape or AUROC).
type scorer struct {
	name   string // the model's name, eval/NAME_…
	title  string
	energy *nn.BatchFn // nil for the VAE alone
}

// oodEvaluate is an image run's evaluation when eval.ood lists sets
// (Sec. 5.3): the VAE's and the VAEBM's log-likelihoods of training and
// test images (Fig. 6: mean, std and the two-sample KS statistic of each,
// eval/MODEL_ll_{train,test}_{mean,std}, eval/MODEL_ks, eval/MODEL_ks_p),
// their AUROC of test images against each OOD set (Table 6:
// eval/MODEL_auroc_SET, with its Hanley–McNeil standard error in
// eval/MODEL_auroc_SET_se), and the nearest training images of VAEBM samples
// by pixels and by the first feature net's features (App. I).
func (r *imageRun) oodEvaluate(ctx context.Context, exp config.Experiment, opts Options, run *tracker.Run, bar *Bar, models []method.Model) error {
	o := exp.Eval.OOD
	var scorers []scorer
	var vaebm *method.Model
	var iwae *vae.HierEvaluator // the VAEBM's base is the VAE itself
	for i, m := range models {
		hv, ok := m.Base.(*vae.HierVAE)
		if !ok {
			continue
		}
		if iwae == nil {
			var err error
			if iwae, err = hv.NewEvaluator(); err != nil {
				return err
			}
		}
		s := scorer{name: m.Name, title: m.Title}
		if m.Energy != nil {
			en := m.Energy
			var err error
			if s.energy, err = nn.NewBatchFn(256, r.dim(), func(b *nn.Builder, x *G.Node) ([]*G.Node, error) {
				e, err := en.Forward(b, x)
				return []*G.Node{e}, err
			}); err != nil {
				return err
			}
			vaebm = &models[i]
		}
		scorers = append(scorers, s)
	}
	if len(scorers) != 2 || vaebm == nil {
		return fmt.Errorf("eval.ood needs a VAE and a VAEBM on the hierarchical VAE (method vaebm); %s reports %d such models", exp.Method, len(scorers))
	}
	train := r.train
	n := min(o.Images, len(train)/r.dim())
	test, err := r.heldOut(exp, o.Images)
	if err != nil {
		return err
	}
	if len(test)/r.dim() < o.Images {
		return fmt.Errorf("eval.ood.images is %d, but the test split has %d images", o.Images, len(test)/r.dim())
	}
	sets := map[string][]float32{"train": train[:n*r.dim()], "test": test}
	rng := newRNG(exp.Seed, method.StreamOOD)
	for _, name := range o.Sets {
		if sets[name], err = oodSet(name, test, r.imageTask, o.Images, rng); err != nil {
			return fmt.Errorf("eval.ood set %s: %w", name, err)
		}
	}
	// One IWAE estimate of log p per image serves both models: the VAEBM's
	// log h subtracts its energy from the same numbers, so the two are
	// compared on the same draws.
	logp := map[string][]float64{}
	for _, set := range append([]string{"train", "test"}, o.Sets...) {
		err := timedStage(run, "ood_iwae_"+set, func() error {
			var err error
			logp[set], err = iwae.IWAE(rng, sets[set], exp.Eval.IWAESamples, func(done, total int) { bar.Update("iwae-"+set, done, total, "") })
			return err
		})
		if err != nil {
			return fmt.Errorf("log p of %s: %w", set, err)
		}
	}
	scores := map[string]map[string][]float64{} // model → set → scores
	for _, s := range scorers {
		scores[s.name] = map[string][]float64{}
		for set, lp := range logp {
			v, err := s.score(lp, sets[set])
			if err != nil {
				return fmt.Errorf("%s on %s: %w", s.name, set, err)
			}
			scores[s.name][set] = v
		}
	}
	run.Log("eval/ood_images", 0, float64(o.Images))
	run.Log("eval/ood_iwae_k", 0, float64(exp.Eval.IWAESamples))
	var panels []plots.HistPanel
	var table []string
	for _, s := range scorers {
		sc := scores[s.name]
		for _, split := range []string{"train", "test"} {
			m, sd := metrics.MeanStd(sc[split])
			run.Log("eval/"+s.name+"_ll_"+split+"_mean", 0, m)
			run.Log("eval/"+s.name+"_ll_"+split+"_std", 0, sd)
		}
		d, p, err := metrics.KS2(sc["train"], sc["test"])
		if err != nil {
			return err
		}
		run.Log("eval/"+s.name+"_ks", 0, d)
		run.Log("eval/"+s.name+"_ks_p", 0, p)
		line := fmt.Sprintf("%s: KS(train, test) %.4f (p %.3g);", s.name, d, p)
		for _, set := range o.Sets {
			a, err := metrics.AUROC(sc["test"], sc[set])
			if err != nil {
				return err
			}
			se := metrics.AUROCSE(a, len(sc["test"]), len(sc[set]))
			run.Log("eval/"+s.name+"_auroc_"+set, 0, a)
			run.Log("eval/"+s.name+"_auroc_"+set+"_se", 0, se)
			line += fmt.Sprintf(" AUROC %s %.3f ± %.3f", set, a, se)
		}
		table = append(table, line)
		what := "log p(x), IWAE K=" + fmt.Sprint(exp.Eval.IWAESamples)
		if s.energy != nil {
			what = "log h(x) = log p(x) − E(x)"
		}
		panels = append(panels, plots.HistPanel{Title: fmt.Sprintf("%s: %d training vs %d test images (KS %.3f)", s.title, n, o.Images, d),
			XLabel: what + ", nats", Samples: []plots.Sample{{Name: "train", Values: sc["train"]}, {Name: "test", Values: sc["test"]}}})
	}
	bar.Say("%s", strings.Join(table, "\n"))
	if err := run.Flush(); err != nil {
		return err
	}
	fig6 := plotPath(opts, exp, "fig6")
	if err := plots.Histograms(fig6, panels, 60); err != nil {
		return err
	}
	if err := run.Artifact(fig6, "plot"); err != nil {
		return err
	}
	written := []string{fig6}
	more, err := r.neighbours(ctx, exp, opts, run, vaebm, train)
	if err != nil {
		return err
	}
	bar.Say("figures: %s", strings.Join(append(written, more...), ", "))
	return nil
}

// score returns the scorer's log-likelihood of each image given log p:
// log p itself for the VAE, log p − E(x) for the VAEBM.
func (s scorer) score(logp []float64, images []float32) ([]float64, error) {
	if s.energy == nil {
		return logp, nil
	}
	out, err := s.energy.Apply(images)
	if err != nil {
		return nil, err
	}
	ll := make([]float64, len(logp))
	for i := range ll {
		e := float64(out[0][i])
		if math.IsNaN(e) || math.IsInf(e, 0) {
			return nil, fmt.Errorf("image %d: a non-finite energy", i)
		}
		ll[i] = logp[i] - e
	}
	return ll, nil
}

// oodSet builds n images of an OOD set shaped as the task's images.
func oodSet(name string, test []float32, t imageTask, n int, rng *rand.Rand) ([]float32, error) {
	d := t.dim()
	out := make([]float32, n*d)
	switch name {
	case "mnist":
		m, err := data.ImageSets["mnist"].Load("", "test")
		if err != nil {
			return nil, err
		}
		if m.C != t.c || m.H != t.h || m.W != t.w || m.N < n {
			return nil, fmt.Errorf("MNIST test has %d images of %d×%d×%d; want %d of %d×%d×%d", m.N, m.C, m.H, m.W, n, t.c, t.h, t.w)
		}
		return m.Float32(0, n), nil
	case "interp":
		// Halfway between two different random test images (the paper's Interp.).
		for i := 0; i < n; i++ {
			a := rng.IntN(n)
			b := (a + 1 + rng.IntN(n-1)) % n
			for j := 0; j < d; j++ {
				out[i*d+j] = 0.5 * (test[a*d+j] + test[b*d+j])
			}
		}
	case "noise":
		for i := range out {
			out[i] = float32(rng.Float64())
		}
	case "vflip":
		plane := t.h * t.w
		for i := 0; i < n; i++ {
			for c := 0; c < t.c; c++ {
				for y := 0; y < t.h; y++ {
					src := test[i*d+c*plane+y*t.w:][:t.w]
					copy(out[i*d+c*plane+(t.h-1-y)*t.w:][:t.w], src)
				}
			}
		}
	default:
		return nil, fmt.Errorf("unknown set (want one of %v)", config.OODSets)
	}
	return out, nil
}

// neighbours draws App. I's figures: eval.ood.neighbours VAEBM samples,
// each followed by its nearest training images by pixel L2 distance and
// by the distance of the first feature net's features.
func (r *imageRun) neighbours(ctx context.Context, exp config.Experiment, opts Options, run *tracker.Run, m *method.Model, train []float32) ([]string, error) {
	k := exp.Eval.OOD.Neighbours
	d := r.dim()
	samples, err := m.Sample(ctx, newRNG(exp.Seed, method.StreamEval), newRNG(exp.Seed, method.StreamSample), k, k, nil)
	if err != nil {
		return nil, err
	}
	samples = clip01(samples)
	n := len(train) / d
	pixel := nearest(samples, train, d, k)
	var paths []string
	grid := func(name, title string, idx [][]int) error {
		var imgs []float32
		for i := 0; i < k; i++ {
			imgs = append(imgs, samples[i*d:(i+1)*d]...)
			for _, j := range idx[i] {
				imgs = append(imgs, train[j*d:(j+1)*d]...)
			}
		}
		tile, err := plots.Tile(imgs, r.c, r.h, r.w, k+1)
		if err != nil {
			return err
		}
		p := plotPath(opts, exp, name)
		if err := plots.Images(p, []plots.ImagePanel{{Title: title, Image: tile}}, 2); err != nil {
			return err
		}
		paths = append(paths, p)
		return run.Artifact(p, "plot")
	}
	if err := grid("neighbours-pixel", fmt.Sprintf("VAEBM samples (left) and their %d nearest of %d training images by pixel L2", k, n), pixel); err != nil {
		return nil, err
	}
	fj, ok := r.judge.(*featureJudge)
	if !ok {
		return paths, nil
	}
	feats := func(x []float32) ([]float32, int, error) {
		f, _, err := fj.preds[0].Outputs(x)
		return f, fj.preds[0].FeatureDim(), err
	}
	fs, fd, err := feats(samples)
	if err != nil {
		return nil, err
	}
	ft, _, err := feats(train)
	if err != nil {
		return nil, err
	}
	byFeature := nearest(fs, ft, fd, k)
	if err := grid("neighbours-features", fmt.Sprintf("VAEBM samples (left) and their %d nearest of %d training images by feature-net features", k, n), byFeature); err != nil {
		return nil, err
	}
	return paths, nil
}

// nearest returns, for each row of q, the indices of its k nearest rows
// of ref by Euclidean distance, nearest first.
func nearest(q, ref []float32, d, k int) [][]int {
	nq, nr := len(q)/d, len(ref)/d
	out := make([][]int, nq)
	for i := 0; i < nq; i++ {
		type cand struct {
			j    int
			dist float64
		}
		best := make([]cand, 0, k+1)
		for j := 0; j < nr; j++ {
			var s float64
			for p := 0; p < d; p++ {
				t := float64(q[i*d+p] - ref[j*d+p])
				s += t * t
			}
			if len(best) < k || s < best[len(best)-1].dist {
				best = append(best, cand{j, s})
				sort.Slice(best, func(a, b int) bool { return best[a].dist < best[b].dist })
				if len(best) > k {
					best = best[:k]
				}
			}
		}
		for _, c := range best {
			out[i] = append(out[i], c.j)
		}
	}
	return out
}
