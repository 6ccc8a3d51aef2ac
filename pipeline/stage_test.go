package pipeline

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaebm/vaebm/core/nn"
	"github.com/vaebm/vaebm/tracker"
)

// TestAwaitStage: a stage that another live job is computing is waited
// for, up to StageWait, then given up with a message that says who holds
// it and how to wait longer; once that job releases its claim without an
// entry (it failed), the waiter claims the stage itself.
func TestAwaitStage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vaebm.db")
	other, err := tracker.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	db, err := tracker.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	held, _, err := other.ClaimStage("key1", "vae", 7)
	if err != nil || held == nil {
		t.Fatalf("claim: %v, %v", held, err)
	}
	stagePoll = 10 * time.Millisecond
	opts := Options{OutDir: t.TempDir(), DB: db, StageWait: 100 * time.Millisecond}
	ps := []*nn.Param{}
	t0 := time.Now()
	_, ok, claim, err := awaitStage(context.Background(), opts, NewBar(nil), "vae", "key1", 8, ps)
	if err == nil || ok || claim != nil {
		t.Fatalf("waiting on a live holder: ok %v, claim %v, err %v", ok, claim, err)
	}
	if waited := time.Since(t0); waited < 100*time.Millisecond || waited > 2*time.Second {
		t.Errorf("gave up after %s, want about 100ms", waited)
	}
	for _, want := range []string{"vae", "run 7", "VAEBM_STAGE_WAIT", "still at it"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
	// The holder fails and releases its claim: the waiter computes it.
	go func() {
		time.Sleep(50 * time.Millisecond)
		held.Release()
	}()
	opts.StageWait = 5 * time.Second
	_, ok, claim, err = awaitStage(context.Background(), opts, NewBar(nil), "vae", "key1", 8, ps)
	if err != nil || ok || claim == nil {
		t.Fatalf("after the holder gave up: ok %v, claim %v, err %v", ok, claim, err)
	}
	claim.Release()
}
