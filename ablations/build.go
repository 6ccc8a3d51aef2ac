package ablations

import (
	"fmt"
	"strings"

	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/core/metrics"
	"github.com/vaebm/vaebm/results"
	"github.com/vaebm/vaebm/tracker"
)

// Filled is a table with the runs behind each row.
type Filled struct {
	results.Table
	// Runs holds, by row model name, the newest finished run of each seed
	// of the row's configuration, oldest seed first.
	Runs map[string][]tracker.RunInfo
}

// Build fills the table from the recorded runs: a row's cells come from
// the finished runs of its experiment whose resolved config (with o's
// overrides) is the row's, one per seed (the newest), as their mean ± std
// over seeds, or a single run's value ± its standard error.
func Build(db *tracker.DB, s *Spec, o Overrides) (Filled, error) {
	t := Filled{Table: results.Table{Name: s.Name, Title: s.Title, Notes: s.Notes, Claims: s.claims}, Runs: map[string][]tracker.RunInfo{}}
	for _, m := range s.Metrics {
		t.Metrics = append(t.Metrics, results.Metric{Key: m.Key, Label: m.Label, PaperLabel: m.PaperLabel, Digits: m.Digits, OursOnly: m.OursOnly, PaperOnly: m.PaperOnly})
	}
	var used []string
	var accepted bool // some row with runs takes the overrides
	var refused error // the first row's refusal of them
	for i := range s.Rows {
		rs := &s.Rows[i]
		row := results.Row{Model: rs.Model, Ours: map[string]results.Cell{}, Paper: map[string]results.Cell{}, Targets: map[string][]results.Target{}}
		for _, m := range s.Metrics {
			if v, ok := rs.Paper[m.Key]; ok {
				row.Paper[m.Key] = results.Value(v)
			}
		}
		for _, tg := range rs.Targets {
			row.Targets[tg.Metric] = append(row.Targets[tg.Metric], results.Target{Tol: tg.Tol, Better: tg.Better, AtLeast: tg.AtLeast, AtMost: tg.AtMost, AgreesWith: tg.AgreesWith})
		}
		if rs.path != "" {
			group, err := rowRuns(db, rs, o)
			if err != nil {
				if _, plain := rs.Resolve(Overrides{}); len(o.Config) == 0 || plain != nil {
					return t, err
				}
				// The row's file is fine, but it refuses these overrides
				// (a run's key=value that only its own method takes): no
				// run of this row can have them.
				t.Notes = append(t.Notes, fmt.Sprintf("Row %q has no runs with %s: %v.", rs.Model, strings.Join(o.Config, " "), err))
				t.Rows = append(t.Rows, row)
				if refused == nil {
					refused = err
				}
				continue
			}
			accepted = true
			t.Runs[rs.Model] = group
			for _, m := range s.Metrics {
				if m.PaperOnly {
					continue
				}
				key := rs.metricKey(m.Metric)
				if c, ok := cell(group, key, rs.metricKey(m.SE)); ok {
					row.Ours[m.Key] = c
				} else if len(group) > 0 {
					// Runs exist but none logged the key: say so, since a
					// typo in run_model or a metric reads as "missing".
					t.Notes = append(t.Notes, fmt.Sprintf("Row %q: its %d run(s) recorded no %s.", rs.Model, len(group), key))
				}
			}
			var ids []string
			for _, r := range group {
				ids = append(ids, fmt.Sprintf("%d (seed %d)", r.ID, r.Seed))
			}
			if len(ids) > 0 {
				used = append(used, rs.Model+": "+strings.Join(ids, ", "))
			}
		}
		t.Rows = append(t.Rows, row)
	}
	if refused != nil && !accepted { // a typo, not one method's key
		return t, refused
	}
	if len(used) > 0 {
		t.Notes = append(t.Notes, "Runs used (`vaebm runs show ID`): "+strings.Join(used, "; ")+".")
	}
	return t, nil
}

// metricKey fills {model} of a metric template with the row's run model.
func (r *RowSpec) metricKey(template string) string {
	if template == "" {
		return ""
	}
	return strings.ReplaceAll(template, "{model}", r.RunModel)
}

// rowRuns returns the newest finished run of each seed of the row's
// resolved configuration.
func rowRuns(db *tracker.DB, r *RowSpec, o Overrides) ([]tracker.RunInfo, error) {
	exp, err := r.Resolve(o)
	if err != nil {
		return nil, fmt.Errorf("row %q: %w", r.Model, err)
	}
	return finishedPerSeed(db, exp)
}

// finishedPerSeed returns the newest finished run of each seed whose
// resolved config is exp's up to the seed.
func finishedPerSeed(db *tracker.DB, exp config.Experiment) ([]tracker.RunInfo, error) {
	f, err := runFilter(exp)
	if err != nil {
		return nil, err
	}
	return db.LatestFinishedPerSeed(f)
}

// cell is one run's value ± its standard error, or the mean ± std over seeds.
func cell(group []tracker.RunInfo, metric, se string) (results.Cell, bool) {
	var vals []float64
	var lastSE float64
	for _, r := range group {
		if v, ok := r.Metrics[metric]; ok {
			vals = append(vals, v)
			lastSE = r.Metrics[se]
		}
	}
	switch len(vals) {
	case 0:
		return results.Cell{}, false
	case 1:
		return results.Estimate(vals[0], lastSE), true
	}
	mean, std := metrics.MeanStd(vals)
	return results.Cell{Value: mean, Std: std, N: len(vals), OK: true}, true
}
