package results

import (
	"fmt"
	"strconv"
)

// Claim is a statement about two of our own cells, for tables whose paper
// numbers measure something else (a stand-in's classifier-FID beside the
// paper's Inception-FID) and so cannot serve as targets: row Row's metric
// is at most Factor times row Than's (Lower), or at least Factor times it.
// Factor 1 states a plain ordering.
type Claim struct {
	Metric    string
	Row, Than string
	Lower     bool
	Factor    float64
}

// String reads the claim as it is checked: "fid: VAEBM ≤ 0.75 × NVAE".
func (c Claim) String() string {
	op := "≥"
	if c.Lower {
		op = "≤"
	}
	f := ""
	if c.Factor != 1 {
		f = strconv.FormatFloat(c.Factor, 'g', -1, 64) + " × "
	}
	return fmt.Sprintf("%s: %s %s %s%s", c.Metric, c.Row, op, f, c.Than)
}

// ClaimCheck is a claim with the numbers it was checked on.
type ClaimCheck struct {
	Claim
	A, B    Cell
	Verdict Verdict // Met, Missed, or Missing when either cell has no run
}

// Describe gives the claim and its numbers for people.
func (c ClaimCheck) Describe() string {
	if c.Verdict == Missing {
		return c.Claim.String() + ": missing (no run)"
	}
	return fmt.Sprintf("%s: %.4g vs %.4g (ratio %.3f) %s", c.Claim.String(), c.A.Value, c.B.Value, c.A.Value/c.B.Value, c.Verdict)
}

// CheckClaims evaluates every claim of t on the cells' values (means over
// seeds where there are several).
func (t Table) CheckClaims() []ClaimCheck {
	rows := map[string]Row{}
	for _, r := range t.Rows {
		rows[r.Model] = r
	}
	var out []ClaimCheck
	for _, c := range t.Claims {
		cc := ClaimCheck{Claim: c, A: rows[c.Row].Ours[c.Metric], B: rows[c.Than].Ours[c.Metric], Verdict: Missing}
		if cc.A.OK && cc.B.OK {
			bound := c.Factor * cc.B.Value
			if (c.Lower && cc.A.Value <= bound) || (!c.Lower && cc.A.Value >= bound) {
				cc.Verdict = Met
			} else {
				cc.Verdict = Missed
			}
		}
		out = append(out, cc)
	}
	return out
}
