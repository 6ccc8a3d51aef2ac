package results

import (
	"strings"
	"testing"
)

func TestCheckClaims(t *testing.T) {
	tb := Table{
		Metrics: []Metric{{Key: "fid"}, {Key: "is"}},
		Rows: []Row{
			{Model: "A", Ours: map[string]Cell{"fid": Value(30), "is": Value(5)}},
			{Model: "B", Ours: map[string]Cell{"fid": Value(40), "is": Value(4)}},
			{Model: "C", Ours: map[string]Cell{}},
		},
		Claims: []Claim{
			{Metric: "fid", Row: "A", Than: "B", Lower: true, Factor: 0.75}, // 30 ≤ 30: met at the edge
			{Metric: "fid", Row: "A", Than: "B", Lower: true, Factor: 0.7},  // 30 > 28
			{Metric: "is", Row: "A", Than: "B", Factor: 1},                  // 5 ≥ 4
			{Metric: "is", Row: "B", Than: "A", Factor: 1},                  // 4 < 5
			{Metric: "fid", Row: "C", Than: "A", Lower: true, Factor: 1},    // no run
		},
	}
	want := []Verdict{Met, Missed, Met, Missed, Missing}
	for i, c := range tb.CheckClaims() {
		if c.Verdict != want[i] {
			t.Errorf("%s: %s, want %s", c.Claim, c.Verdict, want[i])
		}
	}
	if s := tb.Claims[0].String(); s != "fid: A ≤ 0.75 × B" {
		t.Errorf("claim reads %q", s)
	}
	if md := tb.Markdown(); !strings.Contains(md, "- fid: A ≤ 0.75 × B: 30 vs 40 (ratio 0.750) ok") || !strings.Contains(md, "missing (no run)") {
		t.Errorf("Markdown claims:\n%s", md)
	}
}
