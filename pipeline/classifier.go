package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/core/classifier"
	"github.com/vaebm/vaebm/core/data"
	"github.com/vaebm/vaebm/core/method"
	"github.com/vaebm/vaebm/core/nn"
	"github.com/vaebm/vaebm/tracker"
)

// ClassifierConfig declares a judge: a classifier of one image set, trained
// once per code version as a run of its own and then reused from the stage
// cache.
type ClassifierConfig struct {
	Data             string // an image set of data.ImageSets
	Arch             string // one of classifier.Archs
	Steps, BatchSize int
	LR               float64
	Dropout          float64 // before the last layer
	Flip             bool    // mirror training images left–right
	Shift            int     // translate training images by up to this many pixels
	Seed             uint64
	// Dir holds the dataset's files ("" finds them as the set does).
	// It is not part of the cache key: the data's digest is.
	Dir string `json:"-"`
}

// DefaultClassifier is the MNIST digit classifier of the StackedMNIST
// evaluation: about 7 epochs of MNIST. 2,000 steps at a constant rate gave
// 98.69% test accuracy, short of the 99% the evaluation needs.
var DefaultClassifier = ClassifierConfig{Data: "mnist", Arch: "convpool", Steps: 3500, BatchSize: 128, LR: 2e-3}

// Experiment is the name the classifier's runs are recorded under.
func (c ClassifierConfig) Experiment() string { return c.Data + "-classifier" }

// newNet initialises the classifier c declares, before training.
func (c ClassifierConfig) newNet() (*classifier.Net, data.ImageSet, error) {
	// Runs recorded before judges had a dataset and an architecture
	// trained the MNIST classifier.
	if c.Data == "" && c.Arch == "" {
		c.Data, c.Arch = "mnist", "convpool"
	}
	set, ok := data.ImageSets[c.Data]
	if !ok {
		return nil, set, fmt.Errorf("classifier: unknown image set %q", c.Data)
	}
	arch, ok := classifier.Archs[c.Arch]
	if !ok {
		return nil, set, fmt.Errorf("classifier: unknown architecture %q", c.Arch)
	}
	n, err := classifier.New(newRNG(c.Seed, method.StreamVAEInit), set.C, set.H, set.W, set.Classes, arch)
	return n, set, err
}

// Classifier returns the trained classifier cfg declares: from the stage
// cache when a run trained it on the same data with the same code, else by
// training it as a run of experiment cfg.Experiment(). It also returns its
// test accuracy and the run that trained it.
func Classifier(ctx context.Context, opts Options, cfg ClassifierConfig) (*classifier.Net, float64, int64, error) {
	net, set, err := cfg.newNet()
	if err != nil {
		return nil, 0, 0, err
	}
	train, err := set.Load(cfg.Dir, "train")
	if err != nil {
		return nil, 0, 0, err
	}
	test, err := set.Load(cfg.Dir, "test")
	if err != nil {
		return nil, 0, 0, err
	}
	sum := sha256.New()
	sum.Write(train.Pixels)
	sum.Write(train.Labels)
	digest := hex.EncodeToString(sum.Sum(nil))
	key, raw, err := stageKey(struct {
		Stage  string
		Config ClassifierConfig
		Digest string
		Code   string
	}{"classifier", cfg, digest, CodeVersion()})
	if err != nil {
		return nil, 0, 0, err
	}
	bar := opts.newBar()
	name := fmt.Sprintf("%s classifier (%s, seed %d)", set.Name, cfg.Arch, cfg.Seed)
	if !opts.Force {
		e, ok, claim, err := awaitStage(ctx, opts, bar, "classifier", key, 0, net.Params())
		if err != nil {
			return nil, 0, 0, err
		}
		defer claim.Release()
		if ok {
			ri, err := opts.DB.Get(e.RunID)
			if err == nil {
				acc := ri.Metrics["classifier/test_acc"]
				bar.Say("%s: reusing the one trained by run %d (test accuracy %.4f; --force retrains)", name, e.RunID, acc)
				return net, acc, e.RunID, nil
			}
		}
	}
	params := map[string]string{"data": cfg.Data, "arch": cfg.Arch, "steps": fmt.Sprint(cfg.Steps), "batch_size": fmt.Sprint(cfg.BatchSize),
		"lr": fmt.Sprint(cfg.LR), "dropout": fmt.Sprint(cfg.Dropout), "flip": fmt.Sprint(cfg.Flip), "shift": fmt.Sprint(cfg.Shift), "seed": fmt.Sprint(cfg.Seed)}
	run, err := startRun(ctx, opts, tracker.RunSpec{
		Experiment: cfg.Experiment(), Name: fmt.Sprintf("%s-%s-seed%d", cfg.Experiment(), cfg.Arch, cfg.Seed), Config: raw, Seed: cfg.Seed, Params: params,
	})
	if err != nil {
		return nil, 0, 0, err
	}
	fail := func(err error) (*classifier.Net, float64, int64, error) {
		return nil, 0, run.ID, recordFailure(run, err)
	}
	if err := run.SetDatasetDigest(digest); err != nil {
		return fail(err)
	}
	bar.Say("run %d: training the %s (%d steps of %d)", run.ID, name, cfg.Steps, cfg.BatchSize)
	t0 := time.Now()
	progress := func(step, total int, msg string) { bar.Update("classifier", step, total, msg) }
	tc := classifier.Config{Steps: cfg.Steps, BatchSize: cfg.BatchSize, LR: cfg.LR, Dropout: cfg.Dropout, Flip: cfg.Flip, Shift: cfg.Shift}
	if err := classifier.Train(ctx, net, train, tc, newRNG(cfg.Seed, method.StreamVAETrain), run, progress); err != nil {
		return fail(err)
	}
	run.Log("time/classifier_s", 0, time.Since(t0).Seconds())
	p, err := classifier.NewPredictor(net, 500)
	if err != nil {
		return fail(err)
	}
	acc, err := p.Accuracy(test)
	if err != nil {
		return fail(err)
	}
	run.Log("classifier/test_acc", 0, acc)
	path, err := cacheStage(opts, run, "classifier", key, raw, net.Params())
	if err != nil {
		return fail(err)
	}
	if err := run.Artifact(path, "checkpoint"); err != nil {
		return fail(err)
	}
	if err := run.Finish(); err != nil {
		return nil, 0, run.ID, err
	}
	bar.Say("%s: test accuracy %.4f on %d test images (%.0f s)", name, acc, test.N, time.Since(t0).Seconds())
	return net, acc, run.ID, nil
}

// loadClassifierRun restores the classifier that run id trained, from its
// recorded config and checkpoint artifact.
func loadClassifierRun(db *tracker.DB, id int64) (*classifier.Net, error) {
	r, err := db.Get(id)
	if err != nil {
		return nil, err
	}
	var stored struct{ Config ClassifierConfig }
	if err := json.Unmarshal([]byte(r.Config), &stored); err != nil {
		return nil, fmt.Errorf("classifier run %d: stored config: %w", id, err)
	}
	net, _, err := stored.Config.newNet()
	if err != nil {
		return nil, fmt.Errorf("classifier run %d: %w", id, err)
	}
	for _, a := range r.Artifacts {
		if a.Kind == "checkpoint" {
			if err := nn.LoadParams(a.Path, net.Params()); err != nil {
				return nil, fmt.Errorf("classifier run %d: %w", id, err)
			}
			return net, nil
		}
	}
	return nil, fmt.Errorf("classifier run %d has no checkpoint artifact", id)
}

// trainJudgeNets trains (or reuses) a task's two judges, with the
// experiment's data folder and eval.classifier_steps, and records each one's
// test accuracy and run in run (eval/classifier_…, eval/classifier2_…).
func trainJudgeNets(ctx context.Context, exp config.Experiment, opts Options, run *tracker.Run, cfgs [2]ClassifierConfig) (nets [2]*classifier.Net, runs [2]int64, err error) {
	for i, cfg := range cfgs {
		cfg.Dir = exp.Data.Dir
		if exp.Eval.ClassifierSteps > 0 {
			cfg.Steps = exp.Eval.ClassifierSteps
		}
		net, acc, id, err := Classifier(ctx, opts, cfg)
		if err != nil {
			return nets, runs, err
		}
		nets[i], runs[i] = net, id
		run.Log("eval/"+judgeKey("classifier", i)+"_test_acc", 0, acc)
		run.Log("eval/"+judgeKey("classifier", i)+"_run", 0, float64(id))
	}
	return nets, runs, nil
}

// reopenJudgeNets loads the judges a finished run r recorded. With
// secondOptional, a run that recorded only the first gets nets[1] nil.
func reopenJudgeNets(opts Options, r tracker.RunInfo, secondOptional bool) (nets [2]*classifier.Net, runs [2]int64, err error) {
	for i := range nets {
		k := "eval/" + judgeKey("classifier", i) + "_run"
		id, ok := r.Metrics[k]
		if !ok {
			if i > 0 && secondOptional {
				break
			}
			return nets, runs, fmt.Errorf("run %d records no judge (%s)", r.ID, k)
		}
		if nets[i], err = loadClassifierRun(opts.DB, int64(id)); err != nil {
			return nets, runs, fmt.Errorf("the judge of run %d: %w", r.ID, err)
		}
		runs[i] = int64(id)
	}
	return nets, runs, nil
}
