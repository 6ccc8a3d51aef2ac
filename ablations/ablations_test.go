package ablations

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/pipeline"
	"github.com/vaebm/vaebm/plots"
	"github.com/vaebm/vaebm/results"
	"github.com/vaebm/vaebm/tracker"
)

func testDB(t *testing.T) (*tracker.DB, string) {
	t.Helper()
	out := t.TempDir()
	db, err := tracker.Open(filepath.Join(out, "vaebm.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, out
}

// writeTable writes a table file into a fresh folder, its experiment paths
// made absolute (the shipped experiments), and returns its path.
func writeTable(t *testing.T, body string) string {
	t.Helper()
	exps, err := filepath.Abs("../experiments")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "t.yaml")
	if err := os.WriteFile(p, []byte(strings.ReplaceAll(body, "EXPS", exps)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Every shipped table loads, and Table 4 has the paper's rows in its order.
func TestShippedTables(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) < 5 {
		t.Fatalf("tables %v (%v)", files, err)
	}
	for _, f := range files {
		s, err := Load(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if s.Name+".yaml" != f {
			t.Errorf("%s: name %q, want the file stem", f, s.Name)
		}
	}
	s, err := Load("table4.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"NVAE", "EBM on x", "EBM on x, MCMC init w/ NVAE", "WGAN w/ NVAE decoder", "VAEBM", "VAEBM w/ KL"}
	if got := s.rowNames(); !slices.Equal(got, want) {
		t.Errorf("table4 rows %q, want %q", got, want)
	}
	// The two rows of one experiment resolve to one configuration: one run.
	a, err := s.Rows[0].Resolve(Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.Rows[4].Resolve(Overrides{})
	pa, _ := matchParams(a)
	pb, _ := matchParams(b)
	if fmt.Sprint(pa) != fmt.Sprint(pb) {
		t.Error("NVAE and VAEBM rows resolve to different configs: they would train twice")
	}
}

// A table file is decoded as strictly as an experiment; every error names
// the file, the line and the key.
func TestLoadErrors(t *testing.T) {
	const good = `name: t
metrics:
  - {key: ll, metric: "eval/{model}_ll"}
  - {key: near, metric: "eval/{model}_near", ours_only: true}
rows:
  - {model: VAE, experiment: EXPS/toy-25gaussians.yaml, run_model: vae}
  - {model: VAEBM, experiment: EXPS/toy-25gaussians.yaml, run_model: vaebm}
claims:
  - "ll: VAEBM > VAE"
`
	if _, err := Load(writeTable(t, good)); err != nil {
		t.Fatalf("good table: %v", err)
	}
	withTargets := strings.Replace(good, "run_model: vaebm}", `run_model: vaebm, paper: {ll: -1.5}, targets: [{metric: ll, tol: 0, better: 1}, {metric: near, at_least: 0.9}, {metric: near, agrees_with: ll, tol: 0.5}]}`, 1)
	if _, err := Load(writeTable(t, withTargets)); err != nil {
		t.Fatalf("table with each kind of target: %v", err)
	}
	for _, tc := range []struct {
		name, old, new string
		line           int
		key, msg       string
	}{
		{"unknown key", "name: t", "name: t\ncolour: red", 2, "colour", "unknown key"},
		{"unknown row key", "run_model: vae}", "run_model: vae, sead: 1}", 6, "rows[0].sead", "unknown key"},
		{"missing experiment", "EXPS/toy-25gaussians.yaml, run_model: vae", "EXPS/nope.yaml, run_model: vae", 6, "rows[0].experiment", "no experiment file"},
		{"bad override", "run_model: vae}", "run_model: vae, overrides: [ebm.lr=fast]}", 6, "rows[0].overrides", "not a valid number"},
		{"unknown paper metric", "run_model: vae}", "run_model: vae, paper: {fid: 3}}", 6, "rows[0].paper.fid", "unknown metric"},
		{"claim on an unknown row", `"ll: VAEBM > VAE"`, `"ll: VAEBM > NVAE"`, 9, "claims[0]", `no row "NVAE"`},
		{"claim on an unknown metric", `"ll: VAEBM > VAE"`, `"fid: VAEBM > VAE"`, 9, "claims[0]", "unknown metric"},
		{"unreadable claim", `"ll: VAEBM > VAE"`, `"ll VAEBM"`, 9, "claims[0]", "want METRIC"},
		{"duplicate row", "model: VAEBM,", "model: VAE,", 7, "rows[1].model", "declared twice"},
		{"no run_model", ", run_model: vaebm}", "}", 7, "rows[1].run_model", "run_model names"},
		{"target near no paper number", "run_model: vae}", "run_model: vae, targets: [{metric: ll, tol: 0.1}]}", 6, "rows[0].targets[0].tol", "no paper number"},
		{"ours-only target near the paper", "run_model: vae}", "run_model: vae, targets: [{metric: near, tol: 0.1}]}", 6, "rows[0].targets[0].tol", "ours only"},
		{"bound with a tolerance", "run_model: vae}", "run_model: vae, targets: [{metric: near, at_least: 0.9, tol: 0.1}]}", 6, "rows[0].targets[0].at_least", "no tol or better"},
		{"crossed bounds", "run_model: vae}", "run_model: vae, targets: [{metric: near, at_least: 2, at_most: 0.5}]}", 6, "rows[0].targets[0].at_least", "above at_most"},
		{"agreement with an unknown metric", "run_model: vae}", "run_model: vae, targets: [{metric: near, agrees_with: far, tol: 0.03}]}", 6, "rows[0].targets[0].agrees_with", `names "far"`},
		{"agreement with itself", "run_model: vae}", "run_model: vae, targets: [{metric: near, agrees_with: near}]}", 6, "rows[0].targets[0].agrees_with", "the metric itself"},
		{"negative tolerance", "run_model: vae}", "run_model: vae, paper: {ll: -1}, targets: [{metric: ll, tol: -0.1}]}", 6, "rows[0].targets[0].tol", "want ≥ 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeTable(t, strings.Replace(good, tc.old, tc.new, 1))
			_, err := Load(p)
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v, want a config.Error", err)
			}
			if ce.File != p || ce.Line != tc.line || ce.Key != tc.key || !strings.Contains(ce.Msg, tc.msg) {
				t.Errorf("error %q: want %s:%d key %q with %q", err, p, tc.line, tc.key, tc.msg)
			}
		})
	}
	if _, err := Load(writeTable(t, "name: [")); err == nil || !strings.Contains(err.Error(), "malformed YAML") {
		t.Errorf("malformed file: %v", err)
	}
}

// record adds a finished run of exp with the given metrics, as the
// pipeline records one (params = the flattened resolved config), less the
// keys in missing, as a run from before they existed.
func record(t *testing.T, db *tracker.DB, exp config.Experiment, seed uint64, metrics map[string]float64, missing ...string) int64 {
	t.Helper()
	exp.Seed = seed
	params, err := config.Flatten(exp)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range missing {
		delete(params, k)
	}
	r, err := db.StartRun(context.Background(), tracker.RunSpec{Experiment: exp.Name, Name: "x", Config: "{}", Seed: seed, Params: params})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range metrics {
		r.Log(k, 0, v)
	}
	if err := r.Finish(); err != nil {
		t.Fatal(err)
	}
	return r.ID
}

// A cell is the mean ± std over the seeds of exactly the row's resolved
// config: a run of another configuration is not mixed in, and a seed run
// twice counts once, with its newest value.
func TestBuildAggregatesSeeds(t *testing.T) {
	db, _ := testDB(t)
	s, err := Load(filepath.Join("toy-25gaussians.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	exp, err := s.Rows[2].Resolve(Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	other := exp
	other.EBM.LR *= 2
	record(t, db, other, 0, map[string]float64{"eval/vaebm_ll": -9})
	record(t, db, exp, 0, map[string]float64{"eval/vaebm_ll": -9})
	record(t, db, exp, 0, map[string]float64{"eval/vaebm_ll": -1.6, "eval/true_ll": -1.10})
	record(t, db, exp, 1, map[string]float64{"eval/vaebm_ll": -1.4})
	record(t, db, exp, 2, map[string]float64{"eval/vaebm_ll": -1.5})
	tb, err := Build(db, s, Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	got := tb.Rows[2].Ours["test_ll_nats"]
	if got.N != 3 || math.Abs(got.Value+1.5) > 1e-12 || math.Abs(got.Std-0.1) > 1e-12 {
		t.Fatalf("VAEBM cell %+v, want mean −1.5 std 0.1 n 3", got)
	}
	verdicts := map[string]results.Verdict{}
	for _, c := range tb.Checks() {
		if c.Metric == "test_ll_nats" {
			verdicts[c.Model] = c.Verdict
		} else if c.Model == "VAEBM" && c.Verdict != results.Missing {
			// Fig. 4's sample targets bound numbers these runs did not record.
			t.Errorf("VAEBM %s (%s): verdict %q, want missing", c.Metric, c.Describe(), c.Verdict)
		}
	}
	want := map[string]results.Verdict{"True": results.Met, "VAE": results.Missing, "VAEBM": results.Met}
	for k, v := range want {
		if verdicts[k] != v {
			t.Errorf("%s: verdict %q, want %q", k, verdicts[k], v)
		}
	}
	// An override names another configuration, whose runs are none of these.
	tb, err = Build(db, s, Overrides{Config: []string{"ebm.lr=0.5"}})
	if err != nil {
		t.Fatal(err)
	}
	if c := tb.Rows[2].Ours["test_ll_nats"]; c.OK {
		t.Errorf("with ebm.lr=0.5: VAEBM cell %+v, want none", c)
	}
	// The EBM on x row's file clamps its chains, so it refuses mala: the
	// table of a mala run still renders, saying that row has no such runs.
	tb, err = Build(db, s, Overrides{Config: []string{"langevin.correction=mala"}})
	if err != nil {
		t.Fatalf("a table with an override one row refuses: %v", err)
	}
	var ebmx results.Row
	for _, r := range tb.Rows {
		if r.Model == "EBM on x" {
			ebmx = r
		}
	}
	if ebmx.Model == "" || len(ebmx.Ours) != 0 || !strings.Contains(strings.Join(tb.Notes, " "), `Row "EBM on x" has no runs with langevin.correction=mala`) {
		t.Errorf("EBM on x row %+v, notes %q", ebmx, tb.Notes)
	}
	// A row whose own file is broken is still an error, overrides or not.
	if _, err := Build(db, s, Overrides{Config: []string{"no.such.key=1"}}); err == nil {
		t.Error("an override no row accepts was taken")
	}
}

// A run recorded before langevin.correction existed ran what the key's
// default (none) runs: it fills the row asked at none, and not the row as
// the toy file has it (mala).
func TestBuildOldRunsMatchDefaults(t *testing.T) {
	db, _ := testDB(t)
	s, err := Load("toy-25gaussians.yaml")
	if err != nil {
		t.Fatal(err)
	}
	none := Overrides{Config: []string{"langevin.correction=none"}}
	exp, err := s.Rows[2].Resolve(none)
	if err != nil {
		t.Fatal(err)
	}
	record(t, db, exp, 0, map[string]float64{"eval/vaebm_ll": -1.6}, "langevin.correction")
	for _, tc := range []struct {
		name string
		o    Overrides
		want bool
	}{{"at the default", none, true}, {"as the file asks, mala", Overrides{}, false}} {
		tb, err := Build(db, s, tc.o)
		if err != nil {
			t.Fatal(err)
		}
		if c := tb.Rows[2].Ours["test_ll_nats"]; c.OK != tc.want || c.OK && c.Value != -1.6 {
			t.Errorf("%s: VAEBM cell %+v, want filled %v", tc.name, c, tc.want)
		}
	}
}

// Table 4's CSV leads with the paper's columns as the issue names them,
// then the spread; claims over seeds report the spread; the figure has a
// panel per row with samples.
func TestTable4Outputs(t *testing.T) {
	db, out := testDB(t)
	s, err := Load("table4.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fids := map[string]float64{"vae": 30, "ebm_x": 200, "wgan_nvae": 28, "vaebm": 20, "vaebm_kl": 19}
	for i, r := range s.Rows {
		exp, err := r.Resolve(Overrides{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Model == "VAEBM" {
			continue // shares NVAE's runs
		}
		for seed := uint64(0); seed < 3; seed++ {
			m := map[string]float64{}
			for model, f := range fids {
				m["eval/"+model+"_cfid"] = f + float64(i) + float64(seed)
				m["eval/"+model+"_cis"] = 100 / f
			}
			id := record(t, db, exp, seed, m)
			if seed == 0 {
				img := make([]float32, 4*28*28)
				if err := plots.SaveTile(pipeline.SampleTile(out, id, r.RunModel), img, 1, 28, 28, 2); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	var log bytes.Buffer
	tb, err := Render(db, s, Overrides{}, out, &log)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(out, "tables", "table4.csv"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(recs[0][:5], ","); got != "model,fid,is,fid_paper,is_paper" {
		t.Errorf("CSV starts %q", got)
	}
	for _, col := range []string{"fid_std", "fid_n", "is_std", "is_n"} {
		if !slices.Contains(recs[0], col) {
			t.Errorf("CSV has no %s column: %v", col, recs[0])
		}
	}
	n := slices.Index(recs[0], "fid_n")
	for i, row := range recs[1:] {
		if row[0] != s.Rows[i].Model || row[n] != "3" {
			t.Errorf("CSV row %d: model %q n %q", i, row[0], row[n])
		}
	}
	// VAEBM (the vae run's vaebm metric: 20+0+{0,1,2}) vs WGAN (28+3+…).
	var found bool
	for _, c := range tb.CheckClaims() {
		if c.Claim.String() == "fid: VAEBM < WGAN w/ NVAE decoder" {
			found = true
			if c.Verdict != results.Met || c.Spread != results.Beyond || c.A.N != 3 {
				t.Errorf("%s: %s", c.Claim, c.Describe())
			}
		}
	}
	if !found {
		t.Error("no claim VAEBM < WGAN")
	}
	// The fake runs log no second judge: the table says so rather than
	// leaving a silent "–".
	if !slices.Contains(tb.Notes, `Row "NVAE": its 3 run(s) recorded no eval/vae_cfid2.`) {
		t.Errorf("no note on the unrecorded metric: %q", tb.Notes)
	}
	if st, err := os.Stat(filepath.Join(out, "plots", "table4-fig7.png")); err != nil || st.Size() == 0 {
		t.Errorf("Fig. 7 not drawn (%v); log:\n%s", err, log.String())
	}
}

// lockedBuffer is a log several goroutines may write.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
	// onWrite, when set, sees each write.
	onWrite func(string)
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.onWrite != nil {
		l.onWrite(string(p))
	}
	return l.b.Write(p)
}

// vaebm ablate runs each row × seed once: rows of one configuration share
// a run, a second ablate runs nothing, a changed row reruns alone, and an
// interrupted run is resumed, not started again.
func TestAblateResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the toy at the smoke scale")
	}
	db, out := testDB(t)
	body := `name: toy
seeds: [0, 1]
metrics:
  - {key: ll, metric: "eval/{model}_ll", se: "eval/{model}_ll_se"}
rows:
  - {model: VAE, experiment: EXPS/toy-25gaussians.yaml, overrides: [scale=smoke], run_model: vae}
  - {model: VAEBM, experiment: EXPS/toy-25gaussians.yaml, overrides: [scale=smoke], run_model: vaebm}
  - {model: EBM on x, experiment: EXPS/toy-ebm-x.yaml, overrides: [scale=smoke, EBMLR], run_model: ebm_x}
claims:
  - "ll: VAEBM > VAE"
`
	load := func(lr string) *Spec {
		s, err := Load(writeTable(t, strings.Replace(body, "EBMLR", "ebm.lr="+lr, 1)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	count := func() int {
		runs, err := db.Query(tracker.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		return len(runs)
	}
	var log lockedBuffer
	opts := pipeline.Options{OutDir: out, DB: db, Log: &log}
	// Interrupt the first run in its EBM stage.
	ctx, cancel := context.WithCancel(context.Background())
	log.onWrite = func(s string) {
		if strings.Contains(s, "ebm ") {
			cancel()
		}
	}
	if err := Ablate(ctx, load("0.001"), Overrides{}, opts); err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("interrupted ablate: %v", err)
	}
	log.onWrite = nil
	if n := count(); n != 1 {
		t.Fatalf("%d runs after the interruption, want 1", n)
	}
	if err := Ablate(context.Background(), load("0.001"), Overrides{}, opts); err != nil {
		t.Fatalf("%v\n%s", err, log.b.String())
	}
	if !strings.Contains(log.b.String(), "resuming run 1") {
		t.Errorf("the interrupted run was not resumed:\n%s", log.b.String())
	}
	if !strings.Contains(log.b.String(), "[toy: row 3 of 3, EBM on x, seed 1] ") {
		t.Errorf("progress does not name the row and seed:\n%s", log.b.String())
	}
	// Seeds 0 and 1 of the toy (the VAE and VAEBM rows share them) and of the EBM.
	if n := count(); n != 4 {
		t.Fatalf("%d runs, want 4", n)
	}
	if err := Ablate(context.Background(), load("0.001"), Overrides{}, opts); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 4 {
		t.Fatalf("a second ablate ran %d more", n-4)
	}
	if err := Ablate(context.Background(), load("0.002"), Overrides{Seeds: []uint64{1}}, opts); err != nil {
		t.Fatal(err)
	}
	runs, err := db.Query(tracker.Filter{Desc: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 5 || runs[0].Experiment != "toy-ebm-x" || runs[0].Seed != 1 {
		t.Fatalf("after changing the EBM row: %d runs, newest %s seed %d; want one more, of toy-ebm-x seed 1", len(runs), runs[0].Experiment, runs[0].Seed)
	}
	raw, err := os.ReadFile(filepath.Join(out, "tables", "toy.csv"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	n := slices.Index(recs[0], "ll_n")
	if got := []string{recs[1][n], recs[2][n], recs[3][n]}; !slices.Equal(got, []string{"2", "2", "1"}) {
		t.Errorf("seeds per row %v, want 2, 2 and 1 (the changed EBM row has one)", got)
	}
}

// The tables the experiments feed read what their runs record: each shipped
// experiment's smoke run fills its table's rows (rendered with the run's
// overrides, as `vaebm run` does), with the paper's numbers beside them.
func TestExperimentTables(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three experiments at the smoke scale")
	}
	for _, tc := range []struct {
		table string
		head  []string
		rows  map[string][]string // model → its paper numbers
	}{
		{"toy-25gaussians", []string{"model", "test_ll_nats", "test_ll_nats_paper"},
			map[string][]string{"True": {"-1.1"}, "VAE": {"-2.97"}, "VAEBM": {"-1.5"}}},
		{"fashion-mnist", []string{"model", "fid", "is", "fid_paper", "is_paper", "fid2"},
			map[string][]string{"NVAE (ours)": {"55.97", "5.19"}, "VAEBM (ours)": {"12.96", "8.15"}, "Data (test vs train)": {"", ""}}},
		{"stackedmnist", []string{"model", "modes", "kl", "modes_paper", "kl_paper"},
			map[string][]string{"VAE (ours)": {"", ""}, "VAEBM (ours)": {"1000", "0.087"}}},
	} {
		t.Run(tc.table, func(t *testing.T) {
			db, out := testDB(t)
			s, err := Load(tc.table + ".yaml")
			if err != nil {
				t.Fatal(err)
			}
			o := Overrides{Config: []string{"scale=smoke"}}
			i := slices.IndexFunc(s.Rows, func(r RowSpec) bool { return r.Experiment != "" })
			exp, err := s.Rows[i].Resolve(o)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := pipeline.Run(context.Background(), exp, pipeline.Options{OutDir: out, DB: db}); err != nil {
				t.Fatal(err)
			}
			if _, err := Render(db, s, o, out, nil); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(filepath.Join(out, "tables", tc.table+".csv"))
			if err != nil {
				t.Fatal(err)
			}
			recs, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(recs[0][:len(tc.head)], tc.head) {
				t.Fatalf("header %v, want it to start %v", recs[0], tc.head)
			}
			np := (len(tc.head) - 1) / 2 // paired metrics: ours, then paper
			if tc.table == "fashion-mnist" {
				np = 2
			}
			for _, rec := range recs[1:] {
				paper, ok := tc.rows[rec[0]]
				if !ok {
					continue
				}
				delete(tc.rows, rec[0])
				for k := 0; k < np; k++ {
					if rec[1+k] == "" {
						t.Errorf("row %q: no value of ours for %s", rec[0], recs[0][1+k])
					}
					if got := rec[1+np+k]; got != paper[k] {
						t.Errorf("row %q: paper %s %q, want %q", rec[0], recs[0][1+np+k], got, paper[k])
					}
				}
			}
			for m := range tc.rows {
				t.Errorf("no row %q", m)
			}
		})
	}
}
