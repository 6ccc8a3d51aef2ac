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
				Targets: map[string][]Target{"test_ll_nats": {{Tol: 0.02}}}},
			{Model: "VAE_x", Ours: map[string]Cell{"kl": {Value: 0.2, Std: 0.01, N: 3, OK: true}}, Paper: map[string]Cell{"test_ll_nats": Value(-2.97), "kl": Value(0.087)},
				Targets: map[string][]Target{"test_ll_nats": {{Tol: 0.5, Better: 1}}, "kl": {{Tol: 0.1, Better: -1}}}},
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

// Bounds on ours alone and agreement between two judges, for metrics the
// paper does not report: each target of a cell is its own check, the
// cell shows them all, and the CSV's _check column is the worst of them.
func TestAbsoluteAndAgreementTargets(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	tb := Table{
		Name: "modes", Title: "Modes",
		Metrics: []Metric{
			{Key: "kl", Label: "KL", Digits: 3},
			{Key: "kl2", Label: "KL2", Digits: 3, OursOnly: true},
			{Key: "conf", Label: "confident", Digits: 2, OursOnly: true},
		},
		Rows: []Row{
			{Model: "A", Ours: map[string]Cell{"kl": Value(0.08), "kl2": Value(0.10), "conf": Value(0.95)}, Paper: map[string]Cell{"kl": Value(0.087)},
				Targets: map[string][]Target{
					"kl":   {{Tol: 0, Better: -1}},
					"kl2":  {{AtMost: f(0.087)}, {AgreesWith: "kl", Tol: 0.03}},
					"conf": {{AtLeast: f(0.9)}},
				}},
			// kl2 is missing: its bound and agreement are missing, not met.
			{Model: "B", Ours: map[string]Cell{"kl": Value(0.08), "conf": Value(0.5)}, Paper: map[string]Cell{"kl": Value(0.087)},
				Targets: map[string][]Target{"kl2": {{AtMost: f(0.087)}, {AgreesWith: "kl", Tol: 0.03}}, "conf": {{AtLeast: f(0.5), AtMost: f(0.6)}}}},
			// Agreement fails beyond tol in either direction.
			{Model: "C", Ours: map[string]Cell{"kl": Value(0.2), "kl2": Value(0.16)},
				Targets: map[string][]Target{"kl2": {{AgreesWith: "kl", Tol: 0.03}}}},
		},
	}
	type key struct{ model, metric, what string }
	got := map[key]Verdict{}
	for _, c := range tb.Checks() {
		got[key{c.Model, c.Metric, c.Describe()}] = c.Verdict
	}
	want := map[key]Verdict{
		{"A", "kl", "≤ paper + 0"}:        Met,
		{"A", "kl2", "≤ 0.087"}:           Missed,
		{"A", "kl2", "within 0.03 of kl"}: Met,
		{"A", "conf", "≥ 0.9"}:            Met,
		{"B", "kl", ""}:                   NoTarget,
		{"B", "kl2", "≤ 0.087"}:           Missing,
		{"B", "kl2", "within 0.03 of kl"}: Missing,
		{"B", "conf", "0.5 to 0.6"}:       Met,
		{"C", "kl", ""}:                   NoTarget,
		{"C", "kl2", "within 0.03 of kl"}: Missed,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("checks (-want +got):\n%s", diff)
	}
	md := tb.Markdown()
	for _, s := range []string{"| A | 0.080 | 0.087 | -0.007 | ✓ ≤ paper + 0 | 0.100 ✗ ≤ 0.087; ✓ within 0.03 of kl | 0.95 ✓ ≥ 0.9 |", "| B | 0.080 | 0.087 | -0.007 | – | – missing; missing | 0.50 ✓ 0.5 to 0.6 |"} {
		if !strings.Contains(md, s) {
			t.Fatalf("markdown lacks %q:\n%s", s, md)
		}
	}
	recs, err := csv.NewReader(strings.NewReader(tb.CSV())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	for i, want := range []string{"miss", "missing", "miss"} {
		if got := recs[1+i][col["kl2_check"]]; got != want {
			t.Errorf("row %s: kl2_check %q, want %q", recs[1+i][0], got, want)
		}
	}
}

// The edges of a bound are met, as a tolerance's are.
func TestTargetBounds(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		tg   Target
		ours float64
		want bool
	}{
		{Target{AtLeast: f(0.9)}, 0.9, true},
		{Target{AtLeast: f(0.9)}, 0.8999, false},
		{Target{AtMost: f(2)}, 2, true},
		{Target{AtMost: f(2)}, 2.001, false},
		{Target{AtLeast: f(0.5), AtMost: f(2)}, 0.49, false},
		{Target{AtLeast: f(0.5), AtMost: f(2)}, 1, true},
	} {
		if got := tc.tg.Bounds(tc.ours); got != tc.want {
			t.Errorf("%v..%v: ours %v: %v, want %v", tc.tg.AtLeast, tc.tg.AtMost, tc.ours, got, tc.want)
		}
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
