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
)

// Metric is one column group of a table.
type Metric struct {
	Key   string // CSV column name, e.g. "test_ll_nats"
	Label string // human header, e.g. "Test LL (nats)"
	// Digits is the number of decimals shown in Markdown and LaTeX.
	Digits int
}

// Cell is one number: ours (with a standard error where it is an estimate)
// or the paper's.
type Cell struct {
	Value float64
	SE    float64 // 0 when exact or unknown
	OK    bool    // false renders as "–"
}

// Row is one model's line.
type Row struct {
	Model string
	Ours  map[string]Cell
	Paper map[string]Cell
}

// Table is a rendered paper table.
type Table struct {
	Name    string // file stem, e.g. "toy-25gaussians"
	Title   string
	Metrics []Metric
	Rows    []Row
	Notes   []string
}

func (m Metric) format(c Cell, latex bool) string {
	if !c.OK {
		return "–"
	}
	s := strconv.FormatFloat(c.Value, 'f', m.Digits, 64)
	if c.SE > 0 {
		pm := " ± "
		if latex {
			pm = " $\\pm$ "
		}
		s += pm + strconv.FormatFloat(c.SE, 'f', max(m.Digits, 3), 64)
	}
	return s
}

// Markdown renders the table for a terminal or README.
func (t Table) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n| model |", t.Title)
	for _, m := range t.Metrics {
		fmt.Fprintf(&b, " %s (ours) | %s (paper) |", m.Label, m.Label)
	}
	b.WriteString("\n|---|")
	for range t.Metrics {
		b.WriteString("---:|---:|")
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		fmt.Fprintf(&b, "| %s |", r.Model)
		for _, m := range t.Metrics {
			fmt.Fprintf(&b, " %s | %s |", m.format(r.Ours[m.Key], false), m.format(r.Paper[m.Key], false))
		}
		b.WriteString("\n")
	}
	for _, n := range t.Notes {
		fmt.Fprintf(&b, "\n%s\n", n)
	}
	return b.String()
}

// CSV renders a header row, then one row per model: model, then for each
// metric NAME (ours) and NAME_paper. Missing values are empty.
func (t Table) CSV() string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	head := []string{"model"}
	for _, m := range t.Metrics {
		head = append(head, m.Key, m.Key+"_paper")
	}
	_ = w.Write(head)
	num := func(c Cell) string {
		if !c.OK {
			return ""
		}
		return strconv.FormatFloat(c.Value, 'g', -1, 64)
	}
	for _, r := range t.Rows {
		rec := []string{r.Model}
		for _, m := range t.Metrics {
			rec = append(rec, num(r.Ours[m.Key]), num(r.Paper[m.Key]))
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
	fmt.Fprintf(&b, "%% %s\n\\begin{tabular}{l%s}\n\\toprule\nModel", esc.Replace(t.Title), strings.Repeat("rr", len(t.Metrics)))
	for _, m := range t.Metrics {
		fmt.Fprintf(&b, " & %s (ours) & %s (paper)", esc.Replace(m.Label), esc.Replace(m.Label))
	}
	b.WriteString(` \\` + "\n\\midrule\n")
	for _, r := range t.Rows {
		b.WriteString(esc.Replace(r.Model))
		for _, m := range t.Metrics {
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
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return nil, fmt.Errorf("writing table %s: %w", p, err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// Value is an exact or paper number.
func Value(v float64) Cell { return Cell{Value: v, OK: !math.IsNaN(v)} }

// Estimate is a random estimate with its standard error.
func Estimate(v, se float64) Cell { return Cell{Value: v, SE: se, OK: !math.IsNaN(v)} }
