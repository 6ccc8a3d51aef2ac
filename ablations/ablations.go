// Package ablations declares which runs make which paper table: each cell
// names the experiment whose runs supply it, the metric key (and its
// standard-error key) in the tracker, the paper's value and how close ours
// must come. A cell is the newest finished run's value, or, when that
// configuration was run with several seeds, the mean ± std over seeds.
package ablations

import (
	"fmt"
	"math"
	"sort"

	"github.com/vaebm/vaebm/results"
	"github.com/vaebm/vaebm/tracker"
)

// CellSpec says where one of our numbers comes from and what the paper reports.
// A cell with no Experiment holds only the paper's number (a baseline we
// do not rerun).
type CellSpec struct {
	Experiment string
	Metric     string // tracker metric key
	SEMetric   string // its standard error, "" if exact
	Paper      float64
	// Target is how close ours must come to Paper; the zero Target means
	// the cell is shown beside the paper's but not checked against it.
	Target results.Target
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
	Claims      []results.Claim
}

// Tables are the tables this repository reproduces, by name.
var Tables = map[string]TableSpec{
	"toy-25gaussians": {
		Name:    "toy-25gaussians",
		Title:   "25-Gaussians test log-likelihood (Sec. 5.4)",
		Metrics: []results.Metric{{Key: "test_ll_nats", Label: "Test LL (nats)", Digits: 2}},
		Rows: []RowSpec{
			// Targets from the issue: the true value within ±0.02 (it checks σ);
			// VAEBM at most 0.15 below the paper. Our VAE has no target beyond
			// not being clearly worse than the paper's.
			{"True", map[string]CellSpec{"test_ll_nats": {"toy-25gaussians", "eval/true_ll", "eval/true_ll_se", -1.10, results.Target{Tol: 0.02}}}},
			{"VAE", map[string]CellSpec{"test_ll_nats": {"toy-25gaussians", "eval/vae_ll", "eval/vae_ll_se", -2.97, results.Target{Tol: 0.3, Better: 1}}}},
			{"VAEBM", map[string]CellSpec{"test_ll_nats": {"toy-25gaussians", "eval/vaebm_ll", "eval/vaebm_ll_se", -1.50, results.Target{Tol: 0.15, Better: 1}}}},
			// Not in the paper's table: the same energy network without the
			// VAE (experiments/toy-ebm-x.yaml).
			{"EBM on x", map[string]CellSpec{"test_ll_nats": {Experiment: "toy-ebm-x", Metric: "eval/ebm_x_ll", SEMetric: "eval/ebm_x_ll_se", Paper: math.NaN()}}},
		},
		Notes: []string{"Ours: mean over test points ± standard error of the mean. True: exact mixture density. " +
			"VAE: IWAE bound. VAEBM: IWAE log p(x) − E(x) − log Z, log Z by numerical integration on a grid. " +
			"EBM on x (not in the paper): −E(x) − log Z on the same grid, from experiments/toy-ebm-x.yaml."},
	},
	"stackedmnist": {
		Name:  "stackedmnist",
		Title: "Mode coverage on StackedMNIST (Table 5)",
		Metrics: []results.Metric{
			{Key: "modes", Label: "Modes", Digits: 1},
			{Key: "kl", Label: "KL", Digits: 3},
		},
		Rows: []RowSpec{
			paperOnly("VEEGAN", 761.8, 2.173),
			paperOnly("PacGAN", 992.0, 0.277),
			paperOnly("PresGAN", 999.6, 0.115),
			paperOnly("InclusiveGAN", 997, 0.200),
			paperOnly("StyleGAN2", 940, 0.424),
			// The paper has no VAE-alone row; ours shows what the EBM adds.
			{"VAE (ours)", map[string]CellSpec{
				"modes": {Experiment: "stackedmnist", Metric: "eval/vae_modes", Paper: math.NaN()},
				"kl":    {Experiment: "stackedmnist", Metric: "eval/vae_kl", Paper: math.NaN()},
			}},
			// Targets from the issue: at least 990 modes and KL ≤ 0.20.
			{"VAEBM (ours)", map[string]CellSpec{
				"modes": {"stackedmnist", "eval/vaebm_modes", "", 1000, results.Target{Tol: 10, Better: 1}},
				"kl":    {"stackedmnist", "eval/vaebm_kl", "", 0.087, results.Target{Tol: 0.113, Better: -1}},
			}},
		},
		Notes: []string{"PacGAN protocol (Lin et al. 2018): each channel of every generated sample is labelled by an MNIST " +
			"classifier; modes = distinct digit triples seen, KL = KL(p_gen ‖ uniform over 1,000). Paper rows: Table 5; " +
			"the paper's VAEBM is in the _paper columns of our VAEBM row. The sample count and the classifier's test " +
			"accuracy are in the run (eval/vaebm_samples, eval/classifier_test_acc)."},
	},
	"fashion-mnist": standInTable("fashion-mnist", "Fashion-MNIST", "the stand-in for CIFAR-10"),
	"cifar10":       standInTable("cifar10", "CIFAR-10", "user-supplied files"),
}

// standInTable is Table 4's NVAE and VAEBM rows on an image set scored by
// classifier-FID and IS under feature nets trained on that set, with the
// paper's CIFAR-10 Inception numbers in their own columns and the data's
// own scores (test against training images) as a floor.
func standInTable(experiment, title, what string) TableSpec {
	row := func(model, prefix string, fid, is float64) RowSpec {
		return RowSpec{model, map[string]CellSpec{
			"fid":  {Experiment: experiment, Metric: "eval/" + prefix + "_cfid", Paper: fid},
			"is":   {Experiment: experiment, Metric: "eval/" + prefix + "_cis", SEMetric: "eval/" + prefix + "_cis_std", Paper: is},
			"fid2": {Experiment: experiment, Metric: "eval/" + prefix + "_cfid2", Paper: math.NaN()},
		}}
	}
	return TableSpec{
		Name:  experiment,
		Title: fmt.Sprintf("%s (%s): classifier-FID and IS (Table 4's NVAE and VAEBM rows)", title, what),
		Metrics: []results.Metric{
			{Key: "fid", Label: "classifier-FID (" + title + " features)", PaperLabel: "CIFAR-10 Inception-FID", Digits: 2},
			{Key: "is", Label: "classifier IS (" + title + " classes)", PaperLabel: "CIFAR-10 Inception IS", Digits: 2},
			{Key: "fid2", Label: "classifier-FID, second feature net", Digits: 2, OursOnly: true},
		},
		// No targets: the paper's numbers are Inception scores on CIFAR-10,
		// another measure (and, for a stand-in, other data); they stand
		// beside ours for the direction and size of NVAE → VAEBM. The claims
		// are the issue's, on both judges: VAEBM's classifier-FID at least
		// 25% below the VAE's, its IS higher.
		Rows: []RowSpec{
			row("NVAE (ours)", "vae", 55.97, 5.19),
			row("VAEBM (ours)", "vaebm", 12.96, 8.15),
			row("Data (test vs train)", "data", math.NaN(), math.NaN()),
		},
		Claims: []results.Claim{
			{Metric: "fid", Row: "VAEBM (ours)", Than: "NVAE (ours)", Lower: true, Factor: 0.75},
			{Metric: "fid2", Row: "VAEBM (ours)", Than: "NVAE (ours)", Lower: true, Factor: 0.75},
			{Metric: "is", Row: "VAEBM (ours)", Than: "NVAE (ours)", Factor: 1},
		},
		Notes: []string{"Classifier-FID: the Fréchet distance between the penultimate-layer features of a CNN trained on " + title + ", " +
			"computed for N generated samples (decoder means, VAE and VAEBM on the same noise draws) against N training images; IS: " +
			"exp E KL(p(y|x) ‖ p(y)) of the same CNN over 10 splits (± their std). The data row scores the test images. These are not " +
			"comparable to the paper's Inception-v3 numbers on CIFAR-10 (other features and scale), shown in their own " +
			"columns for the direction and size of NVAE → VAEBM only. The second feature net (another architecture and seed) checks " +
			"that an improvement is not one net's quirk. Accuracies and N: eval/classifier_test_acc, eval/classifier2_test_acc, " +
			"eval/vae_samples in the runs."},
	}
}

// paperOnly is a Table 5 row of a baseline the paper reports and we do not run.
func paperOnly(model string, modes, kl float64) RowSpec {
	return RowSpec{model, map[string]CellSpec{"modes": {Paper: modes}, "kl": {Paper: kl}}}
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

// Build fills a table from the recorded runs of each experiment it uses.
func Build(db *tracker.DB, name string) (results.Table, error) {
	spec, ok := Tables[name]
	if !ok {
		return results.Table{}, fmt.Errorf("no table %q (have %v)", name, Names())
	}
	runs := map[string][]tracker.RunInfo{}
	t := results.Table{Name: spec.Name, Title: spec.Title, Metrics: spec.Metrics, Notes: spec.Notes, Claims: spec.Claims}
	var used []int64
	for _, rs := range spec.Rows {
		row := results.Row{Model: rs.Model, Ours: map[string]results.Cell{}, Paper: map[string]results.Cell{}, Targets: map[string]results.Target{}}
		for _, m := range spec.Metrics {
			cs, ok := rs.Cells[m.Key]
			if !ok {
				continue
			}
			row.Paper[m.Key] = results.Value(cs.Paper)
			if cs.Experiment == "" {
				continue
			}
			if cs.Target != (results.Target{}) {
				row.Targets[m.Key] = cs.Target
			}
			group, seen := runs[cs.Experiment]
			if !seen {
				var err error
				if group, err = seedGroup(db, cs.Experiment); err != nil {
					return t, err
				}
				for _, r := range group {
					used = append(used, r.ID)
				}
				runs[cs.Experiment] = group
			}
			if c, ok := cell(group, cs); ok {
				row.Ours[m.Key] = c
			}
		}
		t.Rows = append(t.Rows, row)
	}
	if len(used) > 0 {
		t.Notes = append(t.Notes, fmt.Sprintf("Runs used: %v (see `vaebm runs show ID`).", used))
	}
	return t, nil
}

// seedGroup returns the newest finished run of an experiment together with
// the newest finished run of each other seed whose config is otherwise the
// same, or nothing when no run has finished.
func seedGroup(db *tracker.DB, experiment string) ([]tracker.RunInfo, error) {
	newest, err := db.LatestFinished(experiment)
	if err != nil {
		return nil, nil // the cells stay empty
	}
	same := map[string]string{}
	for k, v := range newest.Params {
		if k != "seed" {
			same[k] = v
		}
	}
	return db.LatestFinishedPerSeed(experiment, same)
}

// cell is one run's value ± its standard error, or the mean ± std over seeds.
func cell(group []tracker.RunInfo, cs CellSpec) (results.Cell, bool) {
	var vals []float64
	var se float64
	for _, r := range group {
		if v, ok := r.Metrics[cs.Metric]; ok {
			vals = append(vals, v)
			se = r.Metrics[cs.SEMetric]
		}
	}
	switch len(vals) {
	case 0:
		return results.Cell{}, false
	case 1:
		return results.Estimate(vals[0], se), true
	}
	var mean, ss float64
	for _, v := range vals {
		mean += v / float64(len(vals))
	}
	for _, v := range vals {
		ss += (v - mean) * (v - mean)
	}
	return results.Cell{Value: mean, Std: math.Sqrt(ss / float64(len(vals)-1)), N: len(vals), OK: true}, true
}
