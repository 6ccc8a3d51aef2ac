// Package results renders the paper's tables with our numbers beside the
// paper's, as Markdown, CSV and LaTeX.
package results

import (
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vaebm/vaebm/internal/atomicfile"
)

// Metric is one column group of a table.
type Metric struct {
	Key   string // CSV column name, e.g. "test_ll_nats"
	Label string // human header, e.g. "Test LL (nats)"
	// Digits is the number of decimals shown in Markdown and LaTeX.
	Digits int
	// PaperLabel, when set, heads the paper's column instead of Label:
	// for a stand-in whose numbers measure something else (the paper's
	// CIFAR-10 Inception-FID beside our classifier-FID).
	PaperLabel string
	// OursOnly marks a number the paper has no counterpart for (a second
	// judge, say): no paper column, and in the CSV its column comes after
	// the paper columns.
	OursOnly bool
	// PaperOnly marks a column of the paper's that we have no counterpart
	// of under that key (its CIFAR-100 beside our MNIST): only a paper
	// column, after every column of ours in the CSV, as KEY_paper.
	PaperOnly bool
}

// Cell is one number: ours (with a standard error where it is an estimate)
// or the paper's.
type Cell struct {
	Value float64
	SE    float64 // 0 when exact or unknown
	OK    bool    // false renders as "–"
	// N > 1 marks a mean over N seeds, with Std their standard deviation.
	N   int
	Std float64
}

// Target is what one of our cells must satisfy: by default to come within
// Tol of the paper's value (in the direction Better says); with AtLeast or
// AtMost, a bound on ours alone, for numbers the paper has no counterpart
// of (a share of samples near a mode, a classifier's confidence); with
// AgreesWith, to differ by at most Tol from the same row's value of that
// other metric (two judges of one quantity).
type Target struct {
	Tol float64
	// Better is +1 when higher is better (only a shortfall beyond Tol
	// misses), −1 when lower is better, 0 when both directions count.
	Better          int
	AtLeast, AtMost *float64
	AgreesWith      string
}

// Absolute reports whether the target bounds ours alone (AtLeast, AtMost).
func (tg Target) Absolute() bool { return tg.AtLeast != nil || tg.AtMost != nil }

// Within reports whether ours meets a paper-relative target.
func (tg Target) Within(ours, paper float64) bool {
	d := ours - paper
	switch {
	case tg.Better > 0:
		return d >= -tg.slack(paper)
	case tg.Better < 0:
		return d <= tg.slack(paper)
	}
	return math.Abs(d) <= tg.slack(paper)
}

// slack is Tol plus a rounding allowance: a tolerance written in decimals
// is met exactly at its edge.
func (tg Target) slack(ref float64) float64 { return tg.Tol + 1e-9*math.Max(1, math.Abs(ref)) }

// Bounds reports whether ours lies within AtLeast and AtMost, each met
// exactly at its edge.
func (tg Target) Bounds(ours float64) bool {
	eps := func(b float64) float64 { return 1e-9 * math.Max(1, math.Abs(b)) }
	if tg.AtLeast != nil && ours < *tg.AtLeast-eps(*tg.AtLeast) {
		return false
	}
	if tg.AtMost != nil && ours > *tg.AtMost+eps(*tg.AtMost) {
		return false
	}
	return true
}

// Row is one model's line.
type Row struct {
	Model   string
	Ours    map[string]Cell
	Paper   map[string]Cell
	Targets map[string][]Target // by metric key; cells without one are not checked
}

// Verdict is the outcome of checking one cell against its target.
type Verdict string

// Verdicts.
const (
	Met      Verdict = "ok"
	Missed   Verdict = "miss"
	Missing  Verdict = "missing" // no run has produced the number
	NoTarget Verdict = "-"
)

// Check is one cell's comparison with one of its targets.
type Check struct {
	Model, Metric string
	Ours, Paper   Cell
	Delta         float64 // ours − paper, when both are there
	Target        Target
	// Other is the row's value of Target.AgreesWith.
	Other   Cell
	Verdict Verdict
}

// Checks compares every cell with each of its targets; a cell without one
// is listed once, as NoTarget, when it holds a number.
func (t Table) Checks() []Check {
	var out []Check
	for _, r := range t.Rows {
		for _, m := range t.Metrics {
			for _, c := range t.cellChecks(r, m) {
				if c.Paper.OK || c.Ours.OK || c.Verdict != NoTarget {
					out = append(out, c)
				}
			}
		}
	}
	return out
}

// cellChecks checks r's cell of m against each of its targets, or returns
// one NoTarget check when it has none.
func (t Table) cellChecks(r Row, m Metric) []Check {
	c := Check{Model: r.Model, Metric: m.Key, Ours: r.Ours[m.Key], Paper: r.Paper[m.Key], Verdict: NoTarget}
	if m.OursOnly {
		c.Paper = Cell{} // a paper number under the same key is another column's
	}
	if c.Ours.OK && c.Paper.OK {
		c.Delta = c.Ours.Value - c.Paper.Value
	}
	tgs := r.Targets[m.Key]
	if len(tgs) == 0 {
		return []Check{c}
	}
	out := make([]Check, 0, len(tgs))
	for _, tg := range tgs {
		c := c
		c.Target = tg
		switch {
		case tg.AgreesWith != "":
			c.Other = r.Ours[tg.AgreesWith]
			switch {
			case !c.Ours.OK || !c.Other.OK:
				c.Verdict = Missing
			case math.Abs(c.Ours.Value-c.Other.Value) <= tg.slack(c.Other.Value):
				c.Verdict = Met
			default:
				c.Verdict = Missed
			}
		case tg.Absolute():
			switch {
			case !c.Ours.OK:
				c.Verdict = Missing
			case tg.Bounds(c.Ours.Value):
				c.Verdict = Met
			default:
				c.Verdict = Missed
			}
		case !c.Paper.OK:
			c.Verdict = NoTarget
		case !c.Ours.OK:
			c.Verdict = Missing
		case tg.Within(c.Ours.Value, c.Paper.Value):
			c.Verdict = Met
		default:
			c.Verdict = Missed
		}
		out = append(out, c)
	}
	return out
}

// check is r's cell of m with its checks' verdicts combined (Worst) and
// their descriptions joined: what one table cell shows.
func (t Table) check(r Row, m Metric) Check {
	cs := t.cellChecks(r, m)
	c := cs[0]
	for _, o := range cs[1:] {
		c.Verdict = Worst(c.Verdict, o.Verdict)
	}
	return c
}

// Worst combines two verdicts of one cell: a miss outweighs a missing
// number, which outweighs a met target, which outweighs no target.
func Worst(a, b Verdict) Verdict {
	rank := map[Verdict]int{NoTarget: 0, Met: 1, Missing: 2, Missed: 3}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// Describe says what the target asks, e.g. "≥ paper − 0.15", "≥ 0.9",
// "within 0.03 of kl2".
func (c Check) Describe() string {
	if c.Verdict == NoTarget {
		return ""
	}
	tg := c.Target
	switch {
	case tg.AgreesWith != "":
		return fmt.Sprintf("within %g of %s", tg.Tol, tg.AgreesWith)
	case tg.AtLeast != nil && tg.AtMost != nil:
		return fmt.Sprintf("%g to %g", *tg.AtLeast, *tg.AtMost)
	case tg.AtLeast != nil:
		return fmt.Sprintf("≥ %g", *tg.AtLeast)
	case tg.AtMost != nil:
		return fmt.Sprintf("≤ %g", *tg.AtMost)
	case tg.Better > 0:
		return fmt.Sprintf("≥ paper − %g", tg.Tol)
	case tg.Better < 0:
		return fmt.Sprintf("≤ paper + %g", tg.Tol)
	}
	return fmt.Sprintf("± %g", tg.Tol)
}

// Table is a rendered paper table.
type Table struct {
	Name    string // file stem, e.g. "toy-25gaussians"
	Title   string
	Metrics []Metric
	Rows    []Row
	Notes   []string
	Claims  []Claim // checked on our own cells (see Claim)
}

func (m Metric) format(c Cell, latex bool) string {
	if !c.OK {
		return "–"
	}
	s := strconv.FormatFloat(c.Value, 'f', m.Digits, 64)
	pm := " ± "
	if latex {
		pm = " $\\pm$ "
	}
	if c.N > 1 {
		return s + pm + strconv.FormatFloat(c.Std, 'f', max(m.Digits, 3), 64) + fmt.Sprintf(" (n=%d)", c.N)
	}
	if c.SE > 0 {
		pm := " ± "
		if latex {
			pm = " $\\pm$ "
		}
		s += pm + strconv.FormatFloat(c.SE, 'f', max(m.Digits, 3), 64)
	}
	return s
}

func (m Metric) paperLabel() string {
	if m.PaperLabel != "" {
		return m.PaperLabel
	}
	return m.Label
}

// Markdown renders the table for a terminal or README.
func (t Table) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n| model |", t.Title)
	for _, m := range t.Metrics {
		switch {
		case m.OursOnly:
			fmt.Fprintf(&b, " %s (ours) |", m.Label)
		case m.PaperOnly:
			fmt.Fprintf(&b, " %s (paper) |", m.paperLabel())
		default:
			fmt.Fprintf(&b, " %s (ours) | %s (paper) | Δ | target |", m.Label, m.paperLabel())
		}
	}
	b.WriteString("\n|---|")
	for _, m := range t.Metrics {
		if m.OursOnly || m.PaperOnly {
			b.WriteString("---:|")
			continue
		}
		b.WriteString("---:|---:|---:|---|")
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		fmt.Fprintf(&b, "| %s |", r.Model)
		for _, m := range t.Metrics {
			c := t.check(r, m)
			marks := t.marks(r, m)
			if m.OursOnly {
				// No target column: a target's mark follows the number.
				if marks != "–" {
					fmt.Fprintf(&b, " %s %s |", m.format(c.Ours, false), marks)
				} else {
					fmt.Fprintf(&b, " %s |", m.format(c.Ours, false))
				}
				continue
			}
			if m.PaperOnly {
				fmt.Fprintf(&b, " %s |", m.format(r.Paper[m.Key], false))
				continue
			}
			fmt.Fprintf(&b, " %s | %s | %s | %s |", m.format(c.Ours, false), m.format(c.Paper, false), m.delta(c), marks)
		}
		b.WriteString("\n")
	}
	if cs := t.CheckClaims(); len(cs) > 0 {
		b.WriteString("\nClaims:\n")
		for _, c := range cs {
			fmt.Fprintf(&b, "- %s\n", c.Describe())
		}
	}
	for _, n := range t.Notes {
		fmt.Fprintf(&b, "\n%s\n", n)
	}
	return b.String()
}

func (m Metric) delta(c Check) string {
	if !c.Ours.OK || !c.Paper.OK {
		return "–"
	}
	return strconv.FormatFloat(c.Delta, 'f', m.Digits, 64)
}

// marks is each of the cell's targets with its mark, joined: "✓ ≥ 0.9".
func (t Table) marks(r Row, m Metric) string {
	var out []string
	for _, c := range t.cellChecks(r, m) {
		if mk := c.mark(); mk != "–" {
			out = append(out, mk)
		}
	}
	if len(out) == 0 {
		return "–"
	}
	return strings.Join(out, "; ")
}

func (c Check) mark() string {
	switch c.Verdict {
	case Met:
		return "✓ " + c.Describe()
	case Missed:
		return "✗ " + c.Describe()
	case Missing:
		return "missing"
	}
	return "–"
}

// CSV renders a header row, then one row per model: model, each metric's
// NAME (ours, the mean over seeds where there are several), each NAME_paper,
// the OursOnly metrics, then per metric NAME_se (the standard error of
// ours: a single run's own, or over seeds std/√n), NAME_std (the standard
// deviation over seeds; empty for one run), NAME_n (seeds), NAME_delta and
// NAME_check (ok, miss, missing or -: the worst over the cell's targets).
// Missing values are empty.
func (t Table) CSV() string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	var paired, own, theirs []Metric
	for _, m := range t.Metrics {
		switch {
		case m.OursOnly:
			own = append(own, m)
		case m.PaperOnly:
			theirs = append(theirs, m)
		default:
			paired = append(paired, m)
		}
	}
	head := []string{"model"}
	for _, m := range paired {
		head = append(head, m.Key)
	}
	for _, m := range paired {
		head = append(head, m.Key+"_paper")
	}
	for _, m := range own {
		head = append(head, m.Key)
	}
	for _, m := range theirs {
		head = append(head, m.Key+"_paper")
	}
	for _, m := range t.Metrics {
		if !m.PaperOnly {
			head = append(head, m.Key+"_se", m.Key+"_std", m.Key+"_n", m.Key+"_delta", m.Key+"_check")
		}
	}
	_ = w.Write(head)
	num := func(v float64, ok bool) string {
		if !ok {
			return ""
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	for _, r := range t.Rows {
		rec := []string{r.Model}
		for _, m := range paired {
			rec = append(rec, num(r.Ours[m.Key].Value, r.Ours[m.Key].OK))
		}
		for _, m := range paired {
			rec = append(rec, num(r.Paper[m.Key].Value, r.Paper[m.Key].OK))
		}
		for _, m := range own {
			rec = append(rec, num(r.Ours[m.Key].Value, r.Ours[m.Key].OK))
		}
		for _, m := range theirs {
			rec = append(rec, num(r.Paper[m.Key].Value, r.Paper[m.Key].OK))
		}
		for _, m := range t.Metrics {
			if m.PaperOnly {
				continue
			}
			c := t.check(r, m)
			se, std, n := c.Ours.SE, "", 1
			if c.Ours.N > 1 {
				n = c.Ours.N
				se = c.Ours.Std / math.Sqrt(float64(n))
				std = num(c.Ours.Std, c.Ours.OK)
			}
			// One run without a standard error of its own has none to give:
			// empty, not 0 (which would read as exact).
			rec = append(rec, num(se, c.Ours.OK && (se > 0 || n > 1)), std, num(float64(n), c.Ours.OK),
				num(c.Delta, c.Ours.OK && c.Paper.OK), string(c.Verdict))
		}
		_ = w.Write(rec)
	}
	w.Flush()
	return b.String()
}

// LaTeX renders a booktabs tabular.
func (t Table) LaTeX() string {
	var b strings.Builder
	esc := strings.NewReplacer("&", `\&`, "%", `\%`, "_", `\_`, "#", `\#`)
	cols := ""
	for _, m := range t.Metrics {
		cols += "rr"
		if m.OursOnly || m.PaperOnly {
			cols = cols[:len(cols)-1]
		}
	}
	fmt.Fprintf(&b, "%% %s\n\\begin{tabular}{l%s}\n\\toprule\nModel", esc.Replace(t.Title), cols)
	for _, m := range t.Metrics {
		if m.OursOnly {
			fmt.Fprintf(&b, " & %s (ours)", esc.Replace(m.Label))
			continue
		}
		if m.PaperOnly {
			fmt.Fprintf(&b, " & %s (paper)", esc.Replace(m.paperLabel()))
			continue
		}
		fmt.Fprintf(&b, " & %s (ours) & %s (paper)", esc.Replace(m.Label), esc.Replace(m.paperLabel()))
	}
	b.WriteString(` \\` + "\n\\midrule\n")
	for _, r := range t.Rows {
		b.WriteString(esc.Replace(r.Model))
		for _, m := range t.Metrics {
			if m.OursOnly {
				fmt.Fprintf(&b, " & %s", m.format(r.Ours[m.Key], true))
				continue
			}
			if m.PaperOnly {
				fmt.Fprintf(&b, " & %s", m.format(r.Paper[m.Key], true))
				continue
			}
			fmt.Fprintf(&b, " & %s & %s", m.format(r.Ours[m.Key], true), m.format(r.Paper[m.Key], true))
		}
		b.WriteString(` \\` + "\n")
	}
	b.WriteString("\\bottomrule\n\\end{tabular}\n")
	return b.String()
}

// Write saves dir/NAME.md, .csv and .tex and returns their paths.
func (t Table) Write(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("writing table %s: %w", t.Name, err)
	}
	var paths []string
	for ext, body := range map[string]string{".md": t.Markdown(), ".csv": t.CSV(), ".tex": t.LaTeX()} {
		p := filepath.Join(dir, t.Name+ext)
		// Atomic: jobs sharing an output folder render the same table.
		if err := atomicfile.WriteBytes(p, []byte(body)); err != nil {
			return nil, fmt.Errorf("table %s: %w", t.Name, err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// Value is an exact or paper number.
func Value(v float64) Cell { return Cell{Value: v, OK: !math.IsNaN(v)} }

// Estimate is a random estimate with its standard error.
func Estimate(v, se float64) Cell { return Cell{Value: v, SE: se, OK: !math.IsNaN(v)} }
