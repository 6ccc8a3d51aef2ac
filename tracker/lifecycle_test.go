package tracker

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

type stepErr struct{ step int }

func (e stepErr) Error() string {
	return fmt.Sprintf("ebm: the energy loss became non-finite at step %d", e.step)
}
func (e stepErr) FailedStep() int { return e.step }

func openTemp(t *testing.T) *DB {
	t.Helper()
	db, err := Open(testTarget(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	start := func(name string) *Run {
		r, err := db.StartRun(ctx, RunSpec{Experiment: "toy", Name: name, Config: "{}"})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	status := func(id int64) RunInfo {
		ri, err := db.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		return ri
	}

	live := start("live")
	if got := status(live.ID).Status; got != Running {
		t.Fatalf("a live run reads as %s", got)
	}

	// A dead process on this host: crashed at once, without waiting for the heartbeat.
	dead := start("dead")
	dead.stopHeartbeat()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no `true` to get a dead pid:", err)
	}
	if _, err := db.db.Exec(db.q("UPDATE runs SET pid = ? WHERE id = ?"), cmd.Process.Pid, dead.ID); err != nil {
		t.Fatal(err)
	}
	if got := status(dead.ID).Status; got != Crashed {
		t.Fatalf("a run whose process died reads as %s, want %s", got, Crashed)
	}
	got, err := db.Query(Filter{Status: Crashed})
	if err != nil || len(got) != 1 || got[0].ID != dead.ID {
		t.Fatalf("filter status=crashed: %+v, %v", got, err)
	}

	// Another host: only the heartbeat tells.
	remote := start("remote")
	remote.stopHeartbeat()
	if _, err := db.db.Exec(db.q("UPDATE runs SET host = 'elsewhere' WHERE id = ?"), remote.ID); err != nil {
		t.Fatal(err)
	}
	if got := status(remote.ID).Status; got != Running {
		t.Fatalf("a fresh remote run reads as %s", got)
	}
	db.now = func() time.Time { return time.Now().Add(2 * db.StaleAfter) }
	if got := status(remote.ID).Status; got != Crashed {
		t.Fatalf("a remote run with a stale heartbeat reads as %s", got)
	}
	db.now = time.Now

	// A failure keeps its message and step.
	failing := start("failing")
	failing.Log("ebm/loss", 10, 1)
	if err := failing.Fail(fmt.Errorf("run: %w", stepErr{1200})); err != nil {
		t.Fatal(err)
	}
	ri := status(failing.ID)
	if ri.Status != Failed || ri.ErrorStep != 1200 || !strings.Contains(ri.Error, "step 1200") || ri.Metrics["ebm/loss"] != 1 {
		t.Fatalf("failed run stored as status %s step %d error %q metrics %v", ri.Status, ri.ErrorStep, ri.Error, ri.Metrics)
	}
	if err := live.Fail(context.Canceled); err != nil {
		t.Fatal(err)
	}
	if got := status(live.ID).Status; got != Killed {
		t.Fatalf("cancelled run reads as %s", got)
	}
}

func TestResumeAndDeleteMetrics(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	r, err := db.StartRun(ctx, RunSpec{Experiment: "toy", Name: "r", Config: "{}"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Resume(ctx, r.ID); err == nil || !strings.Contains(err.Error(), "still running") {
		t.Fatalf("resuming a live run: %v", err)
	}
	for s := 1; s <= 30; s++ {
		r.Log("ebm/loss", s, float64(s))
		r.Log("vae/loss", s, float64(s))
	}
	if err := r.Fail(context.Canceled); err != nil {
		t.Fatal(err)
	}
	r2, ri, err := db.Resume(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ri.Resumes != 1 || r2.ID != r.ID {
		t.Fatalf("resume: %+v", ri)
	}
	if err := r2.DeleteMetrics("ebm/", 20); err != nil {
		t.Fatal(err)
	}
	for s := 21; s <= 40; s++ {
		r2.Log("ebm/loss", s, float64(s))
	}
	if err := r2.Finish(); err != nil {
		t.Fatal(err)
	}
	steps, _, _ := db.Series(r.ID, "ebm/loss")
	vsteps, _, _ := db.Series(r.ID, "vae/loss")
	if len(steps) != 40 || len(vsteps) != 30 {
		t.Fatalf("after resume: %d ebm points (want 40), %d vae points (want 30)", len(steps), len(vsteps))
	}
	for i, s := range steps {
		if s != i+1 {
			t.Fatalf("ebm steps %v: not each step once", steps)
		}
	}
	if _, _, err := db.Resume(ctx, r.ID); err == nil || !strings.Contains(err.Error(), "already finished") {
		t.Fatalf("resuming a finished run: %v", err)
	}
}

func TestQuery(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	for i, lr := range []string{"0.1", "0.01", "0.1"} {
		exp := "a"
		if i == 2 {
			exp = "b"
		}
		r, err := db.StartRun(ctx, RunSpec{Experiment: exp, Name: fmt.Sprint(i), Config: "{}", Seed: uint64(i), Params: map[string]string{"ebm.lr": lr}})
		if err != nil {
			t.Fatal(err)
		}
		r.Log("eval/ll", 0, float64(-i))
		if err := r.Finish(); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(f Filter) []int64 {
		t.Helper()
		runs, err := db.Query(f)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, r := range runs {
			out = append(out, r.ID)
		}
		return out
	}
	cond, err := ParseMetricCond("eval/ll>=-1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		f    Filter
		want []int64
	}{
		{"all", Filter{}, []int64{1, 2, 3}},
		{"experiment", Filter{Experiment: "a"}, []int64{1, 2}},
		{"param", Filter{Params: map[string]string{"ebm.lr": "0.1"}}, []int64{1, 3}},
		// No run recorded langevin.correction: they come from before it existed.
		{"a key no run has", Filter{Params: map[string]string{"ebm.lr": "0.1", "langevin.correction": "none"}}, nil},
		{"a key no run has, asked at its default", Filter{Params: map[string]string{"ebm.lr": "0.1", "langevin.correction": "none"},
			Defaults: map[string]string{"langevin.correction": "none"}}, []int64{1, 3}},
		{"a key no run has, asked off its default", Filter{Params: map[string]string{"langevin.correction": "mala"},
			Defaults: map[string]string{"langevin.correction": "none"}}, nil},
		{"a recorded value is not replaced by the default", Filter{Params: map[string]string{"ebm.lr": "0.5"},
			Defaults: map[string]string{"ebm.lr": "0.5"}}, nil},
		{"metric", Filter{Metrics: []MetricCond{cond}}, []int64{1, 2}},
		{"sort by metric", Filter{Sort: "metric:eval/ll"}, []int64{3, 2, 1}},
		{"newest first", Filter{Desc: true}, []int64{3, 2, 1}},
		{"status", Filter{Status: Failed}, nil},
	} {
		if got := ids(tc.f); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	if _, err := ParseMetricCond("eval/ll~3"); err == nil {
		t.Error("a condition without an operator parsed")
	}
}

func TestStageCache(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	r, err := db.StartRun(ctx, RunSpec{Experiment: "toy", Name: "r", Config: "{}"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Finish()
	if _, ok, err := db.LookupStage("k1"); ok || err != nil {
		t.Fatalf("empty cache: ok %v err %v", ok, err)
	}
	for _, p := range []string{"a.ckpt", "b.ckpt"} {
		if err := db.RecordStage(StageEntry{Key: "k1", Stage: "vae", Path: p, RunID: r.ID, Inputs: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	e, ok, err := db.LookupStage("k1")
	if !ok || err != nil || e.Path != "b.ckpt" || e.RunID != r.ID {
		t.Fatalf("lookup: %+v ok %v err %v", e, ok, err)
	}
}

// TestStageClaim: one claim per key at a time; a second claimer learns the
// holder; a released claim, or one whose process stopped beating, is free.
func TestStageClaim(t *testing.T) {
	target := testTarget(t)
	a, err := Open(target)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(target)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c1, _, err := a.ClaimStage("k", "vae", 1)
	if err != nil || c1 == nil {
		t.Fatalf("first claim: %v, %v", c1, err)
	}
	c2, holder, err := b.ClaimStage("k", "vae", 2)
	if err != nil || c2 != nil || holder.RunID != 1 || holder.Stage != "vae" {
		t.Fatalf("second claim of a held key: claim %v, holder %+v, err %v", c2, holder, err)
	}
	if other, _, err := b.ClaimStage("other", "classifier", 2); err != nil || other == nil {
		t.Fatalf("another key: %v, %v", other, err)
	} else {
		other.Release()
	}
	if err := c1.Release(); err != nil {
		t.Fatal(err)
	}
	c2, _, err = b.ClaimStage("k", "vae", 2)
	if err != nil || c2 == nil {
		t.Fatalf("claim after release: %v, %v", c2, err)
	}
	// A holder that stopped beating (its process died elsewhere) is taken over.
	c2.beat.end()
	if _, err := b.db.Exec(b.q("UPDATE stage_claims SET host = 'elsewhere', heartbeat_at = ? WHERE key = 'k'"),
		time.Now().Add(-time.Hour).UTC().Format(time.RFC3339Nano)); err != nil {
		t.Fatal(err)
	}
	c3, holder, err := a.ClaimStage("k", "vae", 3)
	if err != nil || c3 == nil {
		t.Fatalf("claim of a dead holder's key: %v, holder %+v, %v", c3, holder, err)
	}
	if err := c3.Release(); err != nil {
		t.Fatal(err)
	}
}
