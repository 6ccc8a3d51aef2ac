package train

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vaebm/vaebm/core/energy"
	"github.com/vaebm/vaebm/core/nn"
	"github.com/vaebm/vaebm/core/sampler"
	"github.com/vaebm/vaebm/core/vae"
)

// stepLog records points by key and cancels the stage once it logs stopAt.
type stepLog struct {
	steps  map[string][]int
	vals   map[string][]float64
	stopAt int
	cancel context.CancelFunc
}

func newStepLog() *stepLog {
	return &stepLog{steps: map[string][]int{}, vals: map[string][]float64{}}
}

func (l *stepLog) Log(k string, step int, v float64) {
	l.steps[k], l.vals[k] = append(l.steps[k], step), append(l.vals[k], v)
	if l.cancel != nil && step == l.stopAt {
		l.cancel()
	}
}

// drop removes points after step, as the tracker does on resume.
func (l *stepLog) drop(after int) error {
	for k, s := range l.steps {
		i := slices.IndexFunc(s, func(x int) bool { return x > after })
		if i >= 0 {
			l.steps[k], l.vals[k] = s[:i], l.vals[k][:i]
		}
	}
	return nil
}

// A stage stopped after its checkpoint and resumed from it must end with
// the same parameters and the same logged points as an uninterrupted one:
// the state file carries params, Adam moments, the RNG, the replay buffer
// and the spectral vectors.
func TestEBMResumeMatchesUninterrupted(t *testing.T) {
	data := NewRNG(5, 6)
	trainSet := make([]float32, 2*500)
	for i := range trainSet {
		trainSet[i] = float32(data.NormFloat64())
	}
	cfg := EBMOptions{Steps: 40, BatchSize: 16, LR: 1e-3, Beta1: 0.9, Beta2: 0.999, EnergyReg: 0.1,
		SpectralReg: 0.01, ClipStd: 3, LogEvery: 5}
	cfg.Chains = ChainOptions{Steps: 3, StepSize: 0.05}
	cfg.Replay = ReplayOptions{Size: 50, MaxProb: 0.5, AnnealSteps: 8}
	run := func(ck *Checkpoint, log *stepLog, ctx context.Context) (*energy.MLP, error) {
		en := energy.NewMLP(NewRNG(7, 8).Rand, 2, 16, 3, "swish", 1)
		st := EBMStage{Gen: sampler.Identity{Dim: 2}, Energy: en, Target: sampler.TargetEq9, Persist: 1, Init: sampler.Gaussian}
		return en, EBM(ctx, st, cfg, trainSet, NewRNG(9, 10), ck, log, nil)
	}

	checkResume(t, func(ck *Checkpoint, log *stepLog, ctx context.Context) ([]*nn.Param, error) {
		en, err := run(ck, log, ctx)
		return en.Params(), err
	}, 25, 20)
}

// checkResume runs a stage whole, then stopped when it logs step stopAt and
// resumed from its state file, and compares parameters and logged points;
// the resume must continue after step resumeAfter (the last checkpoint).
func checkResume(t *testing.T, run func(ck *Checkpoint, log *stepLog, ctx context.Context) ([]*nn.Param, error), stopAt, resumeAfter int) {
	t.Helper()
	whole := newStepLog()
	want, err := run(&Checkpoint{Path: filepath.Join(t.TempDir(), "a.state"), Every: 10}, whole, context.Background())
	if err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(t.TempDir(), "b.state")
	log := newStepLog()
	ctx, cancel := context.WithCancel(context.Background())
	log.stopAt, log.cancel = stopAt, cancel
	if _, err := run(&Checkpoint{Path: path, Every: 10}, log, ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted stage returned %v", err)
	}
	resumedAt := -1
	got, err := run(&Checkpoint{Path: path, Every: 10, Resume: func(after int) error {
		resumedAt = after
		return log.drop(after)
	}}, log, context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if resumedAt != resumeAfter {
		t.Fatalf("resumed after step %d, want %d (the last checkpoint)", resumedAt, resumeAfter)
	}
	for i, p := range want {
		if !slices.Equal(p.Data(), got[i].Data()) {
			t.Fatalf("parameter %s differs after resume", p.Name)
		}
	}
	for k := range whole.steps {
		if !slices.Equal(whole.steps[k], log.steps[k]) || !slices.Equal(whole.vals[k], log.vals[k]) {
			t.Errorf("%s: resumed points %v %v, uninterrupted %v %v", k, log.steps[k], log.vals[k], whole.steps[k], whole.vals[k])
		}
	}
}

// The hierarchical VAE's stage resumes exactly too, spectral vectors and
// (with KL balancing) the group KLs that weigh the next step included.
func TestHierVAEResumeMatchesUninterrupted(t *testing.T) {
	data := NewRNG(5, 6)
	trainSet := make([]float32, 40*3*8*8)
	for i := range trainSet {
		trainSet[i] = float32(data.Float64())
	}
	for _, balance := range []bool{false, true} {
		t.Run(fmt.Sprintf("balance=%v", balance), func(t *testing.T) {
			cfg := VAEOptions{Steps: 60, BatchSize: 4, LR: 1e-3, KLWarmupSteps: 30, KLWarmupMin: 0.1, SpectralReg: 0.01, KLBalance: balance}
			checkResume(t, func(ck *Checkpoint, log *stepLog, ctx context.Context) ([]*nn.Param, error) {
				v, err := vae.NewHierVAE(NewRNG(7, 8).Rand, 3, 8, 8, 4, 2, [2]int{1, 1}, -3)
				if err != nil {
					return nil, err
				}
				v.AddGlobalLatent(NewRNG(7, 9).Rand, 3)
				return v.Params(), VAE(ctx, v, cfg, trainSet, NewRNG(9, 10), ck, log, nil)
			}, 25, 20)
		})
	}
}
