package pipeline

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/tracker"
)

// withJudge replaces the StackedMNIST task's judge for one test.
func withJudge(t *testing.T, newJudge func(ctx context.Context) (imageJudge, error)) {
	t.Helper()
	orig := imageTasks["stackedmnist"]
	t.Cleanup(func() { imageTasks["stackedmnist"] = orig })
	task := orig
	task.newJudge = func(ctx context.Context, _ config.Experiment, _ Options, _ *tracker.Run, _ *Bar) (imageJudge, error) {
		return newJudge(ctx)
	}
	imageTasks["stackedmnist"] = task
}

// The judges run beside the stages. A judge that fails stops a stage that
// would otherwise train for hours, and the run fails with the judge's error.
func TestJudgeFailureStopsTheStages(t *testing.T) {
	mnist := writeMNISTFixture(t, 200, 50)
	db, out := testDB(t)
	exp, err := config.Load("../experiments/stackedmnist.yaml", []string{"scale=smoke", "data.dir=" + mnist, "vae.steps=10000000"})
	if err != nil {
		t.Fatal(err)
	}
	withJudge(t, func(context.Context) (imageJudge, error) {
		time.Sleep(200 * time.Millisecond) // the VAE has started
		return nil, errors.New("the judge broke")
	})
	t0 := time.Now()
	_, err = Run(context.Background(), exp, Options{OutDir: out, DB: db})
	t.Logf("run: %v", err)
	if err == nil || !strings.Contains(err.Error(), "the judge broke") {
		t.Fatalf("got %v, want the judge's error", err)
	}
	if el := time.Since(t0); el > time.Minute {
		t.Fatalf("the run took %v after the judge failed: the stages did not stop", el)
	}
	runs, err := db.Runs(exp.Name)
	if err != nil || len(runs) != 1 {
		t.Fatalf("%d runs recorded (%v), want 1", len(runs), err)
	}
	if r := runs[0]; r.Status != tracker.Failed || !strings.Contains(r.Error, "the judge broke") {
		t.Errorf("run %d recorded %s (%q), want failed with the judge's error", r.ID, r.Status, r.Error)
	}
}

// A stage that fails stops the judges beside it, and the run fails with the
// stage's error, not with the judges' cancellation.
func TestStageFailureStopsTheJudges(t *testing.T) {
	mnist := writeMNISTFixture(t, 200, 50)
	db, out := testDB(t)
	exp, err := config.Load("../experiments/stackedmnist.yaml", []string{"scale=smoke", "data.dir=" + mnist, "vae.lr=1e30"})
	if err != nil {
		t.Fatal(err)
	}
	withJudge(t, func(ctx context.Context) (imageJudge, error) {
		<-ctx.Done() // a judge that would take for ever
		return nil, ctx.Err()
	})
	_, err = Run(context.Background(), exp, Options{OutDir: out, DB: db})
	t.Logf("run: %v", err)
	if err == nil || errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "vae") {
		t.Fatalf("got %v, want the VAE stage's error", err)
	}
}
