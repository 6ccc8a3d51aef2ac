package ablations

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/vaebm/vaebm/results"
	"github.com/vaebm/vaebm/tracker"
)

// With several seeds of one configuration the cell is their mean ± std;
// runs of another configuration (here an older lr) are not mixed in, and a
// seed run twice counts once, with its newest value.
func TestBuildAggregatesSeeds(t *testing.T) {
	db, err := tracker.Open(filepath.Join(t.TempDir(), "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	add := func(seed uint64, lr string, vaebm float64) {
		r, err := db.StartRun(context.Background(), tracker.RunSpec{Experiment: "toy-25gaussians", Name: "x", Config: "{}",
			Seed: seed, Params: map[string]string{"seed": fmt.Sprint(seed), "ebm.lr": lr}})
		if err != nil {
			t.Fatal(err)
		}
		r.Log("eval/vaebm_ll", 0, vaebm)
		r.Log("eval/vaebm_ll_se", 0, 0.01)
		r.Log("eval/true_ll", 0, -1.10)
		if err := r.Finish(); err != nil {
			t.Fatal(err)
		}
	}
	add(0, "0.1", -9)    // another configuration
	add(0, "0.01", -9)   // superseded by the next run of seed 0
	add(0, "0.01", -1.6) // seeds 0, 1, 2 of the newest configuration
	add(1, "0.01", -1.4)
	add(2, "0.01", -1.5)

	tb, err := Build(db, "toy-25gaussians")
	if err != nil {
		t.Fatal(err)
	}
	got := tb.Rows[2].Ours["test_ll_nats"]
	if got.N != 3 || math.Abs(got.Value+1.5) > 1e-12 || math.Abs(got.Std-0.1) > 1e-12 {
		t.Fatalf("VAEBM cell %+v, want mean −1.5 std 0.1 n 3", got)
	}
	verdicts := map[string]results.Verdict{}
	for _, c := range tb.Checks() {
		verdicts[c.Model] = c.Verdict
	}
	want := map[string]results.Verdict{"True": results.Met, "VAE": results.Missing, "VAEBM": results.Met}
	for k, v := range want {
		if verdicts[k] != v {
			t.Errorf("%s: verdict %q, want %q", k, verdicts[k], v)
		}
	}
}
