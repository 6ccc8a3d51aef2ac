package results

import (
	"encoding/csv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTableFormats(t *testing.T) {
	tb := Table{
		Name: "toy", Title: "Toy",
		Metrics: []Metric{{Key: "test_ll_nats", Label: "Test LL", Digits: 2}, {Key: "kl", Label: "KL", Digits: 3}},
		Rows: []Row{
			{Model: "True", Ours: map[string]Cell{"test_ll_nats": Estimate(-1.1012, 0.003)}, Paper: map[string]Cell{"test_ll_nats": Value(-1.10)},
				Targets: map[string]Target{"test_ll_nats": {Tol: 0.02}}},
			{Model: "VAE_x", Ours: map[string]Cell{"kl": {Value: 0.2, Std: 0.01, N: 3, OK: true}}, Paper: map[string]Cell{"test_ll_nats": Value(-2.97), "kl": Value(0.087)},
				Targets: map[string]Target{"test_ll_nats": {Tol: 0.5, Better: 1}, "kl": {Tol: 0.1, Better: -1}}},
		},
	}
	recs, err := csv.NewReader(strings.NewReader(tb.CSV())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"model", "test_ll_nats", "kl", "test_ll_nats_paper", "kl_paper",
			"test_ll_nats_se", "test_ll_nats_std", "test_ll_nats_n", "test_ll_nats_delta", "test_ll_nats_check",
			"kl_se", "kl_std", "kl_n", "kl_delta", "kl_check"},
		{"True", "-1.1012", "", "-1.1", "", "0.003", "", "1", "-0.0011999999999998678", "ok", "", "", "", "", "-"},
		// Over 3 seeds with std 0.01 the standard error is 0.01/√3.
		{"VAE_x", "", "0.2", "-2.97", "0.087", "", "", "", "", "missing", "0.005773502691896258", "0.01", "3", "0.11300000000000002", "miss"},
	}
	if diff := cmp.Diff(want, recs); diff != "" {
		t.Fatalf("csv (-want +got):\n%s", diff)
	}
	md := tb.Markdown()
	for _, s := range []string{"| True | -1.10 ± 0.003 | -1.10 | -0.00 | ✓ ± 0.02 |", "0.200 ± 0.010 (n=3) | 0.087 | 0.113 | ✗ ≤ paper + 0.1 |"} {
		if !strings.Contains(md, s) {
			t.Fatalf("markdown lacks %q:\n%s", s, md)
		}
	}
	if tex := tb.LaTeX(); !strings.Contains(tex, `VAE\_x & – & -2.97`) {
		t.Fatalf("latex:\n%s", tex)
	}
}

func TestTargetWithin(t *testing.T) {
	for _, tc := range []struct {
		tg          Target
		ours, paper float64
		want        bool
	}{
		{Target{Tol: 0.02}, -1.11, -1.10, true},
		{Target{Tol: 0.02}, -1.13, -1.10, false},
		{Target{Tol: 0.02}, -1.07, -1.10, false},
		{Target{Tol: 0.15, Better: 1}, -1.30, -1.50, true},
		{Target{Tol: 0.15, Better: 1}, -1.66, -1.50, false},
		{Target{Tol: 10, Better: 1}, 990, 1000, true},
		{Target{Tol: 0.113, Better: -1}, 0.2, 0.087, true},
		{Target{Tol: 0.113, Better: -1}, 0.21, 0.087, false},
	} {
		if got := tc.tg.Within(tc.ours, tc.paper); got != tc.want {
			t.Errorf("%+v: ours %v paper %v: within %v, want %v", tc.tg, tc.ours, tc.paper, got, tc.want)
		}
	}
}
