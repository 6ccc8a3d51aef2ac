// Package ablations reads the paper's tables as YAML files (ablations/*.yaml):
// each row names the experiment file and the overrides that make it, the
// model of that run whose metrics fill it, and the paper's numbers; a table
// declares its metrics, seeds, claims and figure. Build fills a table from
// the tracker's finished runs of exactly those configurations, Ablate runs
// the rows × seeds that have none, and Figure draws a sample grid per row.
package ablations

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/pipeline"
	"github.com/vaebm/vaebm/results"
)

// Spec is a table as declared in its file.
type Spec struct {
	Name  string `yaml:"name"`  // the file stem of out/tables/NAME.{md,csv,tex}
	Title string `yaml:"title"` // the heading
	// Seeds are the seeds `vaebm ablate` runs each row with (none: the
	// experiment's own seed). A cell is the mean ± std over every seed
	// that has a finished run of the row's configuration.
	Seeds   []uint64     `yaml:"seeds"`
	Metrics []MetricSpec `yaml:"metrics"`
	Rows    []RowSpec    `yaml:"rows"`
	// Claims are the paper's conclusions as orderings and bounds on our own
	// cells (results.ParseClaims), e.g. "fid: VAEBM < NVAE".
	Claims []string    `yaml:"claims"`
	Notes  []string    `yaml:"notes"`
	Figure *FigureSpec `yaml:"figure"`

	file   string          // where the spec was read from
	claims []results.Claim // Claims, parsed
}

// MetricSpec is one column group. Metric and SE are tracker metric keys in
// which {model} stands for the row's run_model.
type MetricSpec struct {
	Key        string `yaml:"key"`   // CSV column, e.g. "fid"
	Label      string `yaml:"label"` // human header
	PaperLabel string `yaml:"paper_label"`
	Digits     int    `yaml:"digits"`
	OursOnly   bool   `yaml:"ours_only"`  // no paper column (a second judge)
	PaperOnly  bool   `yaml:"paper_only"` // only the paper's column (a set we do not run)
	Metric     string `yaml:"metric"`     // e.g. eval/{model}_cfid
	SE         string `yaml:"se"`         // its standard error, "" if exact
}

// RowSpec is one model's line: the paper's numbers, and where ours come
// from. A row without an experiment holds only the paper's numbers.
type RowSpec struct {
	Model      string             `yaml:"model"`      // as the paper names it
	Experiment string             `yaml:"experiment"` // relative to the table file
	Overrides  []string           `yaml:"overrides"`  // key=value, as on the command line
	RunModel   string             `yaml:"run_model"`  // the run's model whose metrics fill the row ({model})
	Paper      map[string]float64 `yaml:"paper"`      // by metric key
	Targets    []TargetSpec       `yaml:"targets"`

	path string // Experiment resolved against the table's folder
}

// TargetSpec is what a cell of ours must satisfy, one of three kinds:
// within Tol of the row's paper number (Better: 1 when only a shortfall
// below the paper counts, −1 when only an excess does, 0 when both do);
// between AtLeast and AtMost (either may be left out), for numbers the
// paper does not report; or within Tol of the same row's value of the
// metric AgreesWith (two judges of one quantity). A metric may have several.
type TargetSpec struct {
	Metric     string   `yaml:"metric"`
	Tol        float64  `yaml:"tol"`
	Better     int      `yaml:"better"`
	AtLeast    *float64 `yaml:"at_least"`
	AtMost     *float64 `yaml:"at_most"`
	AgreesWith string   `yaml:"agrees_with"`
}

// targetProblem says what is wrong with tg as a target of row r, and which
// of its keys, or returns "" when nothing is.
func (s *Spec) targetProblem(r RowSpec, tg TargetSpec) (msg, field string) {
	var m MetricSpec
	for _, x := range s.Metrics {
		if x.Key == tg.Metric {
			m = x
		}
	}
	switch {
	case tg.Tol < 0:
		return fmt.Sprintf("tol is %g, want ≥ 0", tg.Tol), "tol"
	case tg.Better < -1 || tg.Better > 1:
		return fmt.Sprintf("better is %d, want 1, -1 or 0", tg.Better), "better"
	case tg.AgreesWith != "":
		switch {
		case tg.AtLeast != nil || tg.AtMost != nil || tg.Better != 0:
			return "agrees_with takes only tol (no at_least, at_most or better)", "agrees_with"
		case tg.AgreesWith == tg.Metric:
			return "agrees_with names the metric itself", "agrees_with"
		}
		for _, x := range s.Metrics {
			if x.Key == tg.AgreesWith && !x.PaperOnly {
				return "", ""
			}
		}
		return fmt.Sprintf("agrees_with names %q, not a metric of ours in the table (%v)", tg.AgreesWith, s.metricKeys()), "agrees_with"
	case tg.AtLeast != nil || tg.AtMost != nil:
		switch {
		case tg.Tol != 0 || tg.Better != 0:
			return "at_least and at_most bound ours alone: no tol or better beside them", "at_least"
		case tg.AtLeast != nil && tg.AtMost != nil && *tg.AtLeast > *tg.AtMost:
			return fmt.Sprintf("at_least %g is above at_most %g", *tg.AtLeast, *tg.AtMost), "at_least"
		}
	case m.OursOnly:
		return "the metric is ours only, so it has no paper number to be near: give at_least or at_most", "tol"
	default:
		if _, ok := r.Paper[tg.Metric]; !ok {
			return "the row has no paper number for it to be near: give one under paper, or at_least or at_most", "tol"
		}
	}
	if m.PaperOnly {
		return "the metric is the paper's only: there is no cell of ours to check", "metric"
	}
	return "", ""
}

// FigureSpec asks for one sample grid per row, side by side, each titled
// with the row's name and its value of Metric (the paper's Fig. 7).
type FigureSpec struct {
	File   string `yaml:"file"`   // under out/plots
	Metric string `yaml:"metric"` // the metric key shown in each title
	Label  string `yaml:"label"`  // how the titles name it (default: the key)
}

// File is where the spec was read from.
func (s *Spec) File() string { return s.file }

// Find returns the path of a table given by name ("table4": the file
// ablations/table4.yaml in the working directory or the nearest folder
// above it that has one) or by path (anything with a slash or .yaml).
func Find(name string) (string, error) {
	if strings.ContainsRune(name, filepath.Separator) || strings.HasSuffix(name, ".yaml") {
		return name, nil
	}
	rel := filepath.Join("ablations", name+".yaml")
	p, err := above(rel, func(st os.FileInfo) bool { return true })
	if err != nil {
		return "", err
	}
	if p == "" {
		wd, _ := os.Getwd()
		return "", fmt.Errorf("no table %q: no %s in %s or a folder above it", name, rel, wd)
	}
	return p, nil
}

// Folder returns the ablations folder of the working directory or the
// nearest folder above it that has one, or "" when there is none.
func Folder() string {
	p, _ := above("ablations", func(st os.FileInfo) bool { return st.IsDir() })
	return p
}

// above returns rel joined to the working directory or the nearest folder
// above it where it exists and ok accepts it, or "" when none has it.
func above(rel string, ok func(os.FileInfo) bool) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, rel)
		if st, err := os.Stat(p); err == nil && ok(st) {
			return p, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", nil
		}
		dir = up
	}
}

// Load reads and checks a table file: unknown keys, a row naming a missing
// experiment file, overrides that file does not accept, a metric key the
// table does not declare, and claims naming unknown rows or metrics are
// errors naming the file, line and key.
func Load(path string) (*Spec, error) {
	var s Spec
	root, err := config.DecodeFile(path, &s)
	if err != nil {
		return nil, fmt.Errorf("table: %w", err)
	}
	s.file = path
	bad := func(msg string, key string, at ...any) error {
		line := 0
		if n := config.NodeAt(root, at...); n != nil {
			line = n.Line
		}
		return &config.Error{File: path, Line: line, Key: key, Msg: msg}
	}
	if s.Name == "" {
		return nil, bad("every table needs a name (its output file stem)", "name")
	}
	if len(s.Metrics) == 0 {
		return nil, bad("a table needs at least one metric", "metrics")
	}
	metrics := map[string]bool{}
	halves := map[string]string{} // key → "ours" or "paper" for a split pair
	for i, m := range s.Metrics {
		key := fmt.Sprintf("metrics[%d]", i)
		half := ""
		switch {
		case m.OursOnly && m.PaperOnly:
			return nil, bad("a metric is ours_only or paper_only, not both", key, "metrics", i)
		case m.OursOnly:
			half = "ours"
		case m.PaperOnly:
			half = "paper"
		}
		switch {
		case m.Key == "":
			return nil, bad("every metric needs a key", key, "metrics", i)
		case metrics[m.Key] && (half == "" || halves[m.Key] == "" || halves[m.Key] == half):
			// The one key two metrics may share: our column and the
			// paper's, declared apart to sit in different places.
			return nil, bad(fmt.Sprintf("metric %q declared twice", m.Key), key+".key", "metrics", i, "key")
		case m.Metric == "" && !m.PaperOnly:
			return nil, bad("every metric needs the tracker key it reads (metric: eval/{model}_…)", key+".metric", "metrics", i)
		case m.Metric != "" && m.PaperOnly:
			return nil, bad("a paper_only metric reads no tracker key", key+".metric", "metrics", i, "metric")
		}
		metrics[m.Key] = true
		halves[m.Key] = half
	}
	known := func(key string) bool { return metrics[key] }
	rows := map[string]bool{}
	for i := range s.Rows {
		r := &s.Rows[i]
		key := fmt.Sprintf("rows[%d]", i)
		if r.Model == "" {
			return nil, bad("every row needs a model name", key+".model", "rows", i)
		}
		if rows[r.Model] {
			return nil, bad(fmt.Sprintf("row %q declared twice", r.Model), key+".model", "rows", i, "model")
		}
		rows[r.Model] = true
		for k := range r.Paper {
			if !known(k) {
				return nil, bad(fmt.Sprintf("row %q: paper number for unknown metric %q (the table declares %v)", r.Model, k, s.metricKeys()), key+".paper."+k, "rows", i, "paper", k)
			}
		}
		for j, tg := range r.Targets {
			if !known(tg.Metric) {
				return nil, bad(fmt.Sprintf("row %q: target for unknown metric %q (the table declares %v)", r.Model, tg.Metric, s.metricKeys()), fmt.Sprintf("%s.targets[%d].metric", key, j), "rows", i, "targets", j)
			}
			if msg, field := s.targetProblem(*r, tg); msg != "" {
				return nil, bad(fmt.Sprintf("row %q: target for %s: %s", r.Model, tg.Metric, msg), fmt.Sprintf("%s.targets[%d].%s", key, j, field), "rows", i, "targets", j)
			}
		}
		if r.Experiment == "" {
			if len(r.Overrides) > 0 || r.RunModel != "" || len(r.Targets) > 0 {
				return nil, bad(fmt.Sprintf("row %q has overrides, a run_model or targets but no experiment", r.Model), key+".experiment", "rows", i)
			}
			continue
		}
		r.path = r.Experiment
		if !filepath.IsAbs(r.path) {
			r.path = filepath.Join(filepath.Dir(path), r.Experiment)
		}
		if _, err := os.Stat(r.path); err != nil {
			return nil, bad(fmt.Sprintf("row %q: no experiment file %s", r.Model, r.path), key+".experiment", "rows", i, "experiment")
		}
		if r.RunModel == "" {
			return nil, bad(fmt.Sprintf("row %q: run_model names the model of the run whose metrics fill the row (vae, vaebm, ebm_x, …)", r.Model), key+".run_model", "rows", i)
		}
		if _, err := r.Resolve(Overrides{}); err != nil {
			return nil, bad(fmt.Sprintf("row %q: %v", r.Model, err), key+".overrides", "rows", i, "overrides")
		}
	}
	for i, text := range s.Claims {
		key := fmt.Sprintf("claims[%d]", i)
		cs, err := results.ParseClaims(text)
		if err != nil {
			return nil, bad(err.Error(), key, "claims", i)
		}
		var expanded []results.Claim
		for _, c := range cs {
			expanded = append(expanded, c.Expand(s.runRows())...)
		}
		for _, c := range expanded {
			if !known(c.Metric) {
				return nil, bad(fmt.Sprintf("claim %q: unknown metric %q (the table declares %v)", text, c.Metric, s.metricKeys()), key, "claims", i)
			}
			for _, row := range []string{c.Row, c.Than} {
				if !rows[row] {
					return nil, bad(fmt.Sprintf("claim %q: no row %q (rows: %q)", text, row, s.rowNames()), key, "claims", i)
				}
			}
		}
		s.claims = append(s.claims, expanded...)
	}
	if f := s.Figure; f != nil {
		if f.File == "" || strings.ContainsRune(f.File, filepath.Separator) {
			return nil, bad("figure.file is a file name under out/plots", "figure.file", "figure")
		}
		if !known(f.Metric) {
			return nil, bad(fmt.Sprintf("figure: unknown metric %q (the table declares %v)", f.Metric, s.metricKeys()), "figure.metric", "figure", "metric")
		}
	}
	return &s, nil
}

func (s *Spec) metricKeys() []string {
	var out []string
	for _, m := range s.Metrics {
		out = append(out, m.Key)
	}
	return out
}

// runRows names the rows with an experiment (ours, not the paper's only).
func (s *Spec) runRows() []string {
	var out []string
	for _, r := range s.Rows {
		if r.Experiment != "" {
			out = append(out, r.Model)
		}
	}
	return out
}

func (s *Spec) rowNames() []string {
	var out []string
	for _, r := range s.Rows {
		out = append(out, r.Model)
	}
	return out
}

// Overrides are what a command line adds to every row: config overrides
// (key=value) and, for `vaebm ablate`, the seeds to run.
type Overrides struct {
	Config []string
	Seeds  []uint64 // nil: the table's
}

// ParseOverrides splits command-line key=value pairs into seeds=[…] and
// the rest, which every row's experiment must accept (checked by Resolve).
func ParseOverrides(args []string) (Overrides, error) {
	var o Overrides
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return o, &config.Error{File: "command line", Msg: fmt.Sprintf("override %q is not key=value", a)}
		}
		if k != "seeds" {
			if k == "seed" {
				return o, &config.Error{File: "command line", Key: k, Msg: "a table runs its seeds: use seeds=[N, …]"}
			}
			o.Config = append(o.Config, a)
			continue
		}
		if err := yaml.Unmarshal([]byte(v), &o.Seeds); err != nil || len(o.Seeds) == 0 {
			return o, &config.Error{File: "command line", Key: "seeds", Msg: fmt.Sprintf("%q is not a list of seeds like [0, 1, 2]", v)}
		}
	}
	return o, nil
}

// Resolve loads the row's experiment with its overrides, then the command
// line's (which win), as `vaebm run` would.
func (r *RowSpec) Resolve(o Overrides) (config.Experiment, error) {
	return pipeline.Load(r.path, append(slices.Clone(r.Overrides), o.Config...))
}

// ignoredParams are the resolved-config keys that do not change what a run
// computes or reports: a run that differs only in them is the same row.
var ignoredParams = []string{"seed", "seeds", "description", "table"}

// matchParams is the resolved config a finished run must have to fill the row.
func matchParams(exp config.Experiment) (map[string]string, error) {
	p, err := config.Flatten(exp)
	if err != nil {
		return nil, err
	}
	for _, k := range ignoredParams {
		delete(p, k)
	}
	return p, nil
}
