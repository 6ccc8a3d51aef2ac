package viewer

import (
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vaebm/vaebm/ablations"
	"github.com/vaebm/vaebm/results"
	"github.com/vaebm/vaebm/tracker"
)

// runRow is one line of the runs table.
type runRow struct {
	tracker.RunInfo
	Duration string
	Metrics  []string // formatted, one per column
}

type runsPage struct {
	Experiment, Status string
	Params             []string // key=value filters
	Experiments        []string
	Cols               []string
	Runs               []runRow
	Compares           []compareLink // a static report's compare pages
}

type compareLink struct {
	Experiment, URL string
	N               int
}

// maxDefaultCols bounds the metric columns picked when none are asked for.
const maxDefaultCols = 6

// runsData lists runs, filtered by experiment, status and params
// (param=key=value, repeatable), with the metric columns col (repeatable;
// default: the eval/ metrics most runs listed have).
func (s *Server) runsData(q url.Values, _ string) (any, error) {
	p := runsPage{Experiment: q.Get("experiment"), Status: q.Get("status"), Params: q["param"], Cols: q["col"]}
	f := tracker.Filter{Experiment: p.Experiment, Status: p.Status, Desc: true}
	for _, kv := range p.Params {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("param filter %q: want KEY=VALUE", kv)
		}
		if f.Params == nil {
			f.Params = map[string]string{}
		}
		f.Params[k] = v
	}
	all, err := s.DB.Query(tracker.Filter{})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, r := range all {
		if !seen[r.Experiment] {
			seen[r.Experiment] = true
			p.Experiments = append(p.Experiments, r.Experiment)
		}
	}
	sort.Strings(p.Experiments)
	runs, err := s.DB.Query(f)
	if err != nil {
		return nil, err
	}
	count := map[string]int{}
	for i := range runs {
		if runs[i], err = s.DB.Get(runs[i].ID); err != nil {
			return nil, err
		}
		for k := range runs[i].Metrics {
			if score(k) {
				count[k]++
			}
		}
	}
	if len(p.Cols) == 0 {
		keys := make([]string, 0, len(count))
		for k := range count {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			if count[keys[i]] != count[keys[j]] {
				return count[keys[i]] > count[keys[j]]
			}
			return keys[i] < keys[j]
		})
		p.Cols = keys[:min(len(keys), maxDefaultCols)]
		sort.Strings(p.Cols)
	}
	for _, r := range runs {
		row := runRow{RunInfo: r, Duration: duration(r)}
		for _, c := range p.Cols {
			v, ok := r.Metrics[c]
			row.Metrics = append(row.Metrics, num(v, ok))
		}
		p.Runs = append(p.Runs, row)
	}
	return p, nil
}

// score says whether a metric key is a model's evaluation score, a
// column worth showing by default: eval/ keys other than the judges'
// bookkeeping (their runs and accuracies), the data's own floor, sample
// counts and standard errors.
func score(k string) bool {
	if !strings.HasPrefix(k, "eval/") || strings.HasPrefix(k, "eval/classifier") || strings.HasPrefix(k, "eval/data_") {
		return false
	}
	for _, suffix := range []string{"_samples", "_se", "_std", "_run", "_acc"} {
		if strings.HasSuffix(k, suffix) {
			return false
		}
	}
	return true
}

// shortTime renders a stored RFC 3339 time to the second, as people read it.
func shortTime(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

func num(v float64, ok bool) string {
	if !ok {
		return ""
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// duration is a run's wall time, to now for one still running.
func duration(r tracker.RunInfo) string {
	start, err := time.Parse(time.RFC3339Nano, r.Started)
	if err != nil {
		return ""
	}
	end := time.Now()
	if r.Ended != "" {
		if end, err = time.Parse(time.RFC3339Nano, r.Ended); err != nil {
			return ""
		}
	} else if r.Status != tracker.Running {
		return "" // crashed: its end is unknown
	}
	return end.Sub(start).Round(time.Second).String()
}

type kv struct{ Key, Value string }

type chart struct {
	Key    string
	Points int // of the first line (the run page has one)
	SVG    template.HTML
}

type artifactView struct {
	tracker.Artifact
	Rel   string // relative to the output folder, "" when outside it
	Image bool
}

type runPage struct {
	Run      tracker.RunInfo
	Duration string
	Params   []kv
	Finals   []kv // metrics logged once
	Charts   []chart
	Images   []artifactView
	Files    []artifactView
	Running  bool
	Repeat   string // the command that repeats the run
}

// runData is one run: provenance, config, a chart per metric series,
// its artifacts (images inline) and the command that repeats it.
func (s *Server) runData(_ url.Values, id string) (any, error) {
	ri, err := s.getRun(id)
	if err != nil {
		return nil, err
	}
	p := runPage{Run: ri, Duration: duration(ri), Running: ri.Status == tracker.Running}
	for _, k := range slices.Sorted(maps.Keys(ri.Params)) {
		p.Params = append(p.Params, kv{k, ri.Params[k]})
	}
	for _, k := range slices.Sorted(maps.Keys(ri.Metrics)) {
		steps, vals, err := s.DB.Series(ri.ID, k)
		if err != nil {
			return nil, err
		}
		if len(steps) < 2 {
			p.Finals = append(p.Finals, kv{k, num(ri.Metrics[k], true)})
			continue
		}
		svg, drawn, err := chartSVG(k, []line{{Name: ri.Name, Steps: steps, Vals: vals}})
		if err != nil {
			return nil, err
		}
		p.Charts = append(p.Charts, chart{Key: k, Points: drawn[0], SVG: template.HTML(svg)})
	}
	for _, a := range ri.Artifacts {
		v := artifactView{Artifact: a}
		v.Rel, _ = s.relOut(a.Path)
		ext := strings.ToLower(filepath.Ext(a.Path))
		v.Image = v.Rel != "" && (ext == ".png" || ext == ".svg")
		if v.Image {
			p.Images = append(p.Images, v)
		} else {
			p.Files = append(p.Files, v)
		}
	}
	p.Repeat = fmt.Sprintf("vaebm run --out %s run-%d.yaml   # the resolved config below, saved as run-%d.yaml", s.Out, ri.ID, ri.ID)
	return p, nil
}

type diffRow struct {
	Key    string
	Values []string
}

type comparePage struct {
	Runs   []tracker.RunInfo
	Diffs  []diffRow
	Charts []chart
}

// compareData shows the config keys that differ between the runs given
// as id=… (two or more) and their curves overlaid per metric key.
func (s *Server) compareData(q url.Values, _ string) (any, error) {
	if len(q["id"]) < 2 {
		return nil, notFound{fmt.Errorf("compare needs two or more runs: /compare?id=1&id=2")}
	}
	var runs []tracker.RunInfo
	for _, id := range q["id"] {
		ri, err := s.getRun(id)
		if err != nil {
			return nil, err
		}
		runs = append(runs, ri)
	}
	return s.compare(runs)
}

func (s *Server) compare(runs []tracker.RunInfo) (comparePage, error) {
	p := comparePage{Runs: runs}
	keys := map[string]bool{}
	for _, r := range runs {
		for k := range r.Params {
			keys[k] = true
		}
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		row := diffRow{Key: k}
		differs := false
		for i, r := range runs {
			v, ok := r.Params[k]
			if !ok {
				v = "(unset)"
			}
			row.Values = append(row.Values, v)
			if i > 0 && v != row.Values[0] {
				differs = true
			}
		}
		if differs {
			p.Diffs = append(p.Diffs, row)
		}
	}
	metrics := map[string]bool{}
	for _, r := range runs {
		for k := range r.Metrics {
			metrics[k] = true
		}
	}
	for _, k := range slices.Sorted(maps.Keys(metrics)) {
		var lines []line
		long := false
		for _, r := range runs {
			steps, vals, err := s.DB.Series(r.ID, k)
			if err != nil {
				return p, err
			}
			long = long || len(steps) > 1
			lines = append(lines, line{Name: fmt.Sprintf("run %d", r.ID), Steps: steps, Vals: vals})
		}
		if !long {
			continue
		}
		svg, drawn, err := chartSVG(k, lines)
		if err != nil {
			return p, err
		}
		p.Charts = append(p.Charts, chart{Key: k, Points: drawn[0], SVG: template.HTML(svg)})
	}
	return p, nil
}

type cellView struct {
	Text string
	Runs []tracker.RunInfo
}

type tableRow struct {
	Model string
	Cells []cellView // per column
}

type tableView struct {
	Name, Title, File, Err string
	Head                   []string
	Rows                   []tableRow
	Claims                 []results.ClaimCheck
	Notes                  []string
}

type tablesPage struct{ Tables []tableView }

// tablesData renders every table file in the tables folder, each cell of
// ours linked to the runs it averages.
func (s *Server) tablesData(url.Values, string) (any, error) {
	var p tablesPage
	if s.Tables == "" {
		return p, nil
	}
	files, err := filepath.Glob(filepath.Join(s.Tables, "*.yaml"))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		v := tableView{File: f, Name: strings.TrimSuffix(filepath.Base(f), ".yaml")}
		spec, err := ablations.Load(f)
		if err == nil {
			var t ablations.Filled
			if t, err = ablations.Build(s.DB, spec, ablations.Overrides{}); err == nil {
				v = tableOf(f, t)
			}
		}
		if err != nil {
			v.Err = err.Error()
		}
		p.Tables = append(p.Tables, v)
	}
	return p, nil
}

func tableOf(file string, t ablations.Filled) tableView {
	v := tableView{Name: t.Name, Title: t.Title, File: file, Claims: t.CheckClaims(), Notes: t.Notes}
	v.Head = []string{"model"}
	for _, m := range t.Metrics {
		if !m.PaperOnly {
			v.Head = append(v.Head, m.Label+" (ours)")
		}
		if !m.OursOnly {
			v.Head = append(v.Head, paperLabel(m)+" (paper)")
		}
	}
	// A cell with several targets shows the worst of its verdicts.
	checks := map[string]results.Check{}
	for _, c := range t.Checks() {
		k := c.Model + "\x00" + c.Metric
		if prev, ok := checks[k]; ok {
			c.Verdict = results.Worst(prev.Verdict, c.Verdict)
		}
		checks[k] = c
	}
	for _, r := range t.Rows {
		row := tableRow{Model: r.Model}
		for _, m := range t.Metrics {
			if m.PaperOnly {
				row.Cells = append(row.Cells, cellView{Text: cellText(r.Paper[m.Key], m.Digits)})
				continue
			}
			text := cellText(r.Ours[m.Key], m.Digits)
			if c, ok := checks[r.Model+"\x00"+m.Key]; ok && (c.Verdict == results.Met || c.Verdict == results.Missed) {
				mark := "✓"
				if c.Verdict == results.Missed {
					mark = "✗"
				}
				text += " " + mark
			}
			cell := cellView{Text: text}
			if r.Ours[m.Key].OK {
				cell.Runs = t.Runs[r.Model]
			}
			row.Cells = append(row.Cells, cell)
			if !m.OursOnly {
				row.Cells = append(row.Cells, cellView{Text: cellText(r.Paper[m.Key], m.Digits)})
			}
		}
		v.Rows = append(v.Rows, row)
	}
	return v
}

func paperLabel(m results.Metric) string {
	if m.PaperLabel != "" {
		return m.PaperLabel
	}
	return m.Label
}

func cellText(c results.Cell, digits int) string {
	if !c.OK {
		return "–"
	}
	s := strconv.FormatFloat(c.Value, 'f', digits, 64)
	switch {
	case c.N > 1:
		s += fmt.Sprintf(" ± %.*f (n=%d)", max(digits, 3), c.Std, c.N)
	case c.SE > 0:
		s += fmt.Sprintf(" ± %.*f", max(digits, 3), c.SE)
	}
	return s
}

type plotView struct {
	Rel   string
	RunID int64 // 0 when no run recorded it
	Run   string
}

type plotsPage struct{ Plots []plotView }

// plotsData lists every figure under the output folder (its plots and the
// runs' folders), each with the run that recorded it as an artifact.
func (s *Server) plotsData(url.Values, string) (any, error) {
	made := map[string]tracker.RunInfo{}
	runs, err := s.DB.Query(tracker.Filter{})
	if err != nil {
		return nil, err
	}
	for _, r := range runs {
		full, err := s.DB.Get(r.ID)
		if err != nil {
			return nil, err
		}
		for _, a := range full.Artifacts {
			if rel, ok := s.relOut(a.Path); ok {
				if prev, seen := made[rel]; !seen || prev.ID < full.ID {
					made[rel] = full // a figure redrawn by a later run is that run's
				}
			}
		}
	}
	var p plotsPage
	err = filepath.WalkDir(s.outAbs, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // an unreadable folder hides its files, nothing more
		}
		rel, _ := filepath.Rel(s.outAbs, path)
		if d.IsDir() {
			if rel == "cache" || rel == "bin" {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := strings.ToLower(filepath.Ext(path)); ext != ".png" && ext != ".svg" {
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		v := plotView{Rel: rel}
		if r, ok := made[rel]; ok {
			v.RunID, v.Run = r.ID, r.Name
		}
		p.Plots = append(p.Plots, v)
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	return p, nil
}
