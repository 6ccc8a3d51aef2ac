package results

import (
	"strings"
	"testing"
)

func TestParseClaims(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string // each claim's String()
		err  string
	}{
		{in: "fid: VAEBM < WGAN w/ NVAE decoder < EBM on x, MCMC init w/ NVAE < EBM on x < NVAE", want: []string{
			"fid: VAEBM < WGAN w/ NVAE decoder", "fid: WGAN w/ NVAE decoder < EBM on x, MCMC init w/ NVAE",
			"fid: EBM on x, MCMC init w/ NVAE < EBM on x", "fid: EBM on x < NVAE"}},
		{in: "is: VAEBM > NVAE", want: []string{"is: VAEBM > NVAE"}},
		{in: "fid: NVAE > 1.5 × VAEBM", want: []string{"fid: NVAE > 1.5 × VAEBM"}},
		{in: "fid: VAEBM < 0.75*NVAE (ours)", want: []string{"fid: VAEBM < 0.75 × NVAE (ours)"}},
		{in: "fid: VAEBM w/ KL within 25% of VAEBM", want: []string{"fid: VAEBM w/ KL within 25% of VAEBM"}},
		{in: "is: VAEBM highest", want: []string{"is: VAEBM > *"}},
		{in: "fid VAEBM < NVAE", err: "want METRIC:"},
		{in: "fid: VAEBM", err: "at least two rows"},
		{in: "fid: A < B > C", err: "one way"},
		{in: "fid: A < < B", err: "empty row"},
		{in: "fid: A within 0% of B", err: "positive percentage"},
	} {
		got, err := ParseClaims(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want one containing %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		var s []string
		for _, c := range got {
			s = append(s, c.String())
		}
		if strings.Join(s, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%q: claims %q, want %q", tc.in, s, tc.want)
		}
	}
}

func TestCheckClaims(t *testing.T) {
	seeds := func(mean, std float64) Cell { return Cell{Value: mean, Std: std, N: 3, OK: true} }
	tb := Table{
		Metrics: []Metric{{Key: "fid"}, {Key: "is"}},
		Rows: []Row{
			{Model: "A", Ours: map[string]Cell{"fid": Value(30), "is": Value(5)}},
			{Model: "B", Ours: map[string]Cell{"fid": Value(40), "is": Value(4)}},
			{Model: "C", Ours: map[string]Cell{}},
			{Model: "D", Ours: map[string]Cell{"fid": seeds(20, 1)}},
			{Model: "E", Ours: map[string]Cell{"fid": seeds(23, 1)}}, // 21 < 22: disjoint
			{Model: "F", Ours: map[string]Cell{"fid": seeds(21.5, 1)}},
		},
	}
	for _, s := range []string{
		"fid: A < 0.75 × B", // 30 < 30: not below
		"fid: A < 0.8 × B",  // 30 < 32
		"is: A > B",
		"is: B > A",
		"fid: C < A",             // no run
		"fid: D < E",             // beyond the spread
		"fid: D < F",             // on the means only
		"fid: D < A",             // A has one seed
		"fid: E within 20% of D", // 23 vs 20: 15%; worst 24 vs 19: 26% of 19
		"fid: E within 40% of D", // worst 5 ≤ 0.4·19
		"fid: A within 20% of B", // 25%
	} {
		cs, err := ParseClaims(s)
		if err != nil {
			t.Fatal(err)
		}
		tb.Claims = append(tb.Claims, cs...)
	}
	want := []struct {
		v Verdict
		s Spread
	}{
		{Missed, NoSpread}, {Met, OneSeed}, {Met, OneSeed}, {Missed, NoSpread}, {Missing, NoSpread},
		{Met, Beyond}, {Met, Within}, {Met, OneSeed}, {Met, Within}, {Met, Beyond}, {Missed, NoSpread},
	}
	for i, c := range tb.CheckClaims() {
		if c.Verdict != want[i].v || c.Spread != want[i].s {
			t.Errorf("%s: %s / %q, want %s / %q", c.Claim, c.Verdict, c.Spread, want[i].v, want[i].s)
		}
	}
	md := tb.Markdown()
	for _, s := range []string{"- fid: A < 0.8 × B: 30 vs 40 (ratio 0.750): holds on the means; spread unknown",
		"fid: C < A: missing (no run)", "fid: D < E: 20 ± 1 (n=3) vs 23 ± 1 (n=3) (ratio 0.870): holds on the means; holds beyond the seeds' spread"} {
		if !strings.Contains(md, s) {
			t.Errorf("Markdown lacks %q:\n%s", s, md)
		}
	}
}
