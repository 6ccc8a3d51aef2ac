// Package ablations declares which runs make which paper table: each cell
// names the experiment whose newest finished run supplies it, the metric
// key (and its standard-error key) in the tracker, and the paper's value.
package ablations

import (
	"fmt"
	"sort"

	"github.com/vaebm/vaebm/results"
	"github.com/vaebm/vaebm/tracker"
)

// CellSpec says where one of our numbers comes from and what the paper reports.
type CellSpec struct {
	Experiment string
	Metric     string // tracker metric key
	SEMetric   string // its standard error, "" if exact
	Paper      float64
}

// RowSpec is one model's line.
type RowSpec struct {
	Model string
	Cells map[string]CellSpec // by results.Metric.Key
}

// TableSpec declares a paper table.
type TableSpec struct {
	Name, Title string
	Metrics     []results.Metric
	Rows        []RowSpec
	Notes       []string
}

// Tables are the tables this repository reproduces, by name.
var Tables = map[string]TableSpec{
	"toy-25gaussians": {
		Name:    "toy-25gaussians",
		Title:   "25-Gaussians test log-likelihood (Sec. 5.4)",
		Metrics: []results.Metric{{Key: "test_ll_nats", Label: "Test LL (nats)", Digits: 2}},
		Rows: []RowSpec{
			{"True", map[string]CellSpec{"test_ll_nats": {"toy-25gaussians", "eval/true_ll", "eval/true_ll_se", -1.10}}},
			{"VAE", map[string]CellSpec{"test_ll_nats": {"toy-25gaussians", "eval/vae_ll", "eval/vae_ll_se", -2.97}}},
			{"VAEBM", map[string]CellSpec{"test_ll_nats": {"toy-25gaussians", "eval/vaebm_ll", "eval/vaebm_ll_se", -1.50}}},
		},
		Notes: []string{"Ours: mean over test points ± standard error of the mean. True: exact mixture density. " +
			"VAE: IWAE bound. VAEBM: IWAE log p(x) − E(x) − log Z, log Z by numerical integration on a grid."},
	},
}

// Names lists the declared tables.
func Names() []string {
	var out []string
	for k := range Tables {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Build fills a table from the newest finished run of each experiment it uses.
func Build(db *tracker.DB, name string) (results.Table, error) {
	spec, ok := Tables[name]
	if !ok {
		return results.Table{}, fmt.Errorf("no table %q (have %v)", name, Names())
	}
	runs := map[string]tracker.RunInfo{}
	t := results.Table{Name: spec.Name, Title: spec.Title, Metrics: spec.Metrics, Notes: spec.Notes}
	var used []int64
	for _, rs := range spec.Rows {
		row := results.Row{Model: rs.Model, Ours: map[string]results.Cell{}, Paper: map[string]results.Cell{}}
		for _, m := range spec.Metrics {
			cs, ok := rs.Cells[m.Key]
			if !ok {
				continue
			}
			row.Paper[m.Key] = results.Value(cs.Paper)
			run, seen := runs[cs.Experiment]
			if !seen {
				var err error
				if run, err = db.LatestFinished(cs.Experiment); err != nil {
					run = tracker.RunInfo{} // the cell stays empty
				} else {
					used = append(used, run.ID)
				}
				runs[cs.Experiment] = run
			}
			v, ok := run.Metrics[cs.Metric]
			if !ok {
				continue
			}
			row.Ours[m.Key] = results.Estimate(v, run.Metrics[cs.SEMetric])
		}
		t.Rows = append(t.Rows, row)
	}
	if len(used) > 0 {
		t.Notes = append(t.Notes, fmt.Sprintf("Runs used: %v (see `vaebm runs show ID`).", used))
	}
	return t, nil
}
