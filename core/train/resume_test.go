package train

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/core/energy"
	"github.com/vaebm/vaebm/core/sampler"
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
	cfg := config.EBM{Steps: 40, BatchSize: 16, LR: 1e-3, Beta1: 0.9, Beta2: 0.999, EnergyReg: 0.1,
		SpectralReg: 0.01, ClipStd: 3, LogEvery: 5, CheckpointEvery: 10}
	lcfg := config.Langevin{Steps: 3, StepSize: 0.05, Replay: config.Replay{Size: 50, MaxProb: 0.5, AnnealSteps: 8}}
	run := func(ck *Checkpoint, log *stepLog, ctx context.Context) (*energy.MLP, error) {
		en := energy.NewMLP(NewRNG(7, 8).Rand, 2, 16, 3, "swish", 1)
		st := EBMStage{Gen: sampler.Identity{Dim: 2}, Energy: en, Target: sampler.TargetEq9, Persist: 1, Init: sampler.Gaussian}
		return en, EBM(ctx, st, cfg, lcfg, trainSet, NewRNG(9, 10), ck, log, nil)
	}

	whole := newStepLog()
	want, err := run(&Checkpoint{Path: filepath.Join(t.TempDir(), "a.state"), Every: 10}, whole, context.Background())
	if err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(t.TempDir(), "b.state")
	log := newStepLog()
	ctx, cancel := context.WithCancel(context.Background())
	log.stopAt, log.cancel = 25, cancel
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
	if resumedAt != 20 {
		t.Fatalf("resumed after step %d, want 20 (the last checkpoint)", resumedAt)
	}
	for i, p := range want.Params() {
		if !slices.Equal(p.Data(), got.Params()[i].Data()) {
			t.Fatalf("parameter %s differs after resume", p.Name)
		}
	}
	for k := range whole.steps {
		if !slices.Equal(whole.steps[k], log.steps[k]) || !slices.Equal(whole.vals[k], log.vals[k]) {
			t.Errorf("%s: resumed points %v %v, uninterrupted %v %v", k, log.steps[k], log.vals[k], whole.steps[k], whole.vals[k])
		}
	}
}
