package results

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Claim is a statement about two of our own cells, for tables whose paper
// numbers measure something else (a stand-in's classifier-FID beside the
// paper's Inception-FID) and so cannot serve as targets: row Row's value
// of Metric, times FactorA, is below (Op "<") or above (">") row Than's
// times FactorB, or (Op "within") differs from Than's by at most Within
// of Than's. ParseClaims reads them as a paper states them.
type Claim struct {
	Metric           string
	Row, Than        string
	Op               string // "<", ">" or "within"
	FactorA, FactorB float64
	Within           float64 // a fraction: 0.25 for "within 25%"
}

// String reads the claim as it is checked: "fid: VAEBM < 0.75 × NVAE".
func (c Claim) String() string {
	side := func(f float64, row string) string {
		if f == 1 || f == 0 {
			return row
		}
		return strconv.FormatFloat(f, 'g', -1, 64) + " × " + row
	}
	if c.Op == "within" {
		return fmt.Sprintf("%s: %s within %s%% of %s", c.Metric, c.Row, strconv.FormatFloat(100*c.Within, 'g', -1, 64), c.Than)
	}
	return fmt.Sprintf("%s: %s %s %s", c.Metric, side(c.FactorA, c.Row), c.Op, side(c.FactorB, c.Than))
}

var (
	factorRe  = regexp.MustCompile(`^([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*[×*]\s*(.+)$`)
	withinRe  = regexp.MustCompile(`^(.+?)\s+within\s+([0-9]*\.?[0-9]+)\s*%\s+of\s+(.+)$`)
	extremeRe = regexp.MustCompile(`^(.+?)\s+(lowest|highest)$`)
)

// AllRows is the Than of a claim that a row is the lowest or highest of
// all: the table expands it into one claim per other row (Expand).
const AllRows = "*"

// ParseClaims reads one written claim, which may chain several:
//
//	fid: VAEBM < WGAN w/ NVAE decoder < EBM on x < NVAE
//	is: VAEBM > NVAE
//	fid: NVAE > 1.5 × VAEBM
//	fid: VAEBM w/ KL within 25% of VAEBM
//	is: VAEBM highest              (than every other row: Than is AllRows)
//
// A chain "A < B < C" is the claims A < B and B < C. Row names are taken
// as written (they may hold commas and spaces, not "<" or ">").
func ParseClaims(s string) ([]Claim, error) {
	metric, body, ok := strings.Cut(s, ":")
	metric, body = strings.TrimSpace(metric), strings.TrimSpace(body)
	if !ok || metric == "" || body == "" || strings.ContainsAny(metric, " <>") {
		return nil, fmt.Errorf("claim %q: want METRIC: ROW < ROW [< ROW …], ROW > ROW …, or ROW within P%% of ROW", s)
	}
	if m := withinRe.FindStringSubmatch(body); m != nil {
		p, err := strconv.ParseFloat(m[2], 64)
		if err != nil || p <= 0 {
			return nil, fmt.Errorf("claim %q: %q is not a positive percentage", s, m[2])
		}
		return []Claim{{Metric: metric, Row: strings.TrimSpace(m[1]), Than: strings.TrimSpace(m[3]), Op: "within", FactorA: 1, FactorB: 1, Within: p / 100}}, nil
	}
	if m := extremeRe.FindStringSubmatch(body); m != nil && !strings.ContainsAny(body, "<>") {
		op := "<"
		if m[2] == "highest" {
			op = ">"
		}
		return []Claim{{Metric: metric, Row: strings.TrimSpace(m[1]), Than: AllRows, Op: op, FactorA: 1, FactorB: 1}}, nil
	}
	op := "<"
	if strings.Contains(body, ">") {
		op = ">"
	}
	if strings.Contains(body, "<") && op == ">" {
		return nil, fmt.Errorf("claim %q: a chain runs one way (all < or all >)", s)
	}
	parts := strings.Split(body, op)
	if len(parts) < 2 {
		return nil, fmt.Errorf("claim %q: want at least two rows joined by < or >, or ROW within P%% of ROW", s)
	}
	type side struct {
		f   float64
		row string
	}
	var sides []side
	for _, p := range parts {
		p = strings.TrimSpace(p)
		sd := side{f: 1, row: p}
		if m := factorRe.FindStringSubmatch(p); m != nil {
			f, err := strconv.ParseFloat(m[1], 64)
			if err != nil || f <= 0 {
				return nil, fmt.Errorf("claim %q: factor %q is not a positive number", s, m[1])
			}
			sd = side{f: f, row: strings.TrimSpace(m[2])}
		}
		if sd.row == "" {
			return nil, fmt.Errorf("claim %q: an empty row name", s)
		}
		sides = append(sides, sd)
	}
	var out []Claim
	for i := 0; i+1 < len(sides); i++ {
		out = append(out, Claim{Metric: metric, Row: sides[i].row, Than: sides[i+1].row, Op: op, FactorA: sides[i].f, FactorB: sides[i+1].f})
	}
	return out, nil
}

// Spread says whether a claim also holds between the seeds' intervals
// (mean ± std of each side), the stronger test.
type Spread string

// Spreads.
const (
	Beyond   Spread = "holds beyond the seeds' spread"
	Within   Spread = "not beyond the seeds' spread"
	OneSeed  Spread = "spread unknown (fewer than 2 seeds)"
	NoSpread Spread = ""
)

// ClaimCheck is a claim with the numbers it was checked on.
type ClaimCheck struct {
	Claim
	A, B    Cell
	Verdict Verdict // Met, Missed, or Missing when either cell has no run
	Spread  Spread  // NoSpread when the claim is missing or fails on the means
}

// Describe gives the claim, its numbers and its verdicts for people.
func (c ClaimCheck) Describe() string {
	if c.Verdict == Missing {
		return c.Claim.String() + ": missing (no run)"
	}
	cell := func(x Cell) string {
		s := strconv.FormatFloat(x.Value, 'g', 4, 64)
		if x.N > 1 {
			s += fmt.Sprintf(" ± %.2g (n=%d)", x.Std, x.N)
		}
		return s
	}
	verdict := "holds"
	if c.Verdict != Met {
		verdict = "fails"
	}
	s := fmt.Sprintf("%s: %s vs %s (ratio %.3f): %s on the means", c.Claim.String(), cell(c.A), cell(c.B), c.A.Value/c.B.Value, verdict)
	if c.Spread != NoSpread {
		s += "; " + string(c.Spread)
	}
	return s
}

// check evaluates the claim on the means and, where both cells have a
// spread over seeds, on the worst ends of their mean ± std intervals.
// Expand replaces a claim against AllRows by one against each of rows
// other than its own.
func (c Claim) Expand(rows []string) []Claim {
	if c.Than != AllRows {
		return []Claim{c}
	}
	var out []Claim
	for _, r := range rows {
		if r != c.Row {
			d := c
			d.Than = r
			out = append(out, d)
		}
	}
	return out
}

func (c Claim) check(a, b Cell) ClaimCheck {
	cc := ClaimCheck{Claim: c, A: a, B: b, Verdict: Missing}
	if !a.OK || !b.OK {
		return cc
	}
	holds := func(a, b, sa, sb float64) bool {
		switch c.Op {
		case "<":
			return c.FactorA*(a+sa) < c.FactorB*(b-sb)
		case ">":
			return c.FactorA*(a-sa) > c.FactorB*(b+sb)
		}
		worst := math.Max(math.Abs(a+sa-(b-sb)), math.Abs(a-sa-(b+sb)))
		return worst <= c.Within*(math.Abs(b)-sb)
	}
	cc.Verdict = Missed
	if holds(a.Value, b.Value, 0, 0) {
		cc.Verdict = Met
		switch {
		case a.N < 2 || b.N < 2:
			cc.Spread = OneSeed
		case holds(a.Value, b.Value, a.Std, b.Std):
			cc.Spread = Beyond
		default:
			cc.Spread = Within
		}
	}
	return cc
}

// CheckClaims evaluates every claim of t on the cells' values (means over
// seeds where there are several) and on their spread.
func (t Table) CheckClaims() []ClaimCheck {
	rows := map[string]Row{}
	for _, r := range t.Rows {
		rows[r.Model] = r
	}
	var out []ClaimCheck
	for _, c := range t.Claims {
		out = append(out, c.check(rows[c.Row].Ours[c.Metric], rows[c.Than].Ours[c.Metric]))
	}
	return out
}
