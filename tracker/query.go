package tracker

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// RunInfo is a run as stored. Status is derived: a run stored as running
// whose process is gone reads as Crashed.
type RunInfo struct {
	ID               int64
	Experiment, Name string
	Status           string
	Started, Ended   string
	Config, Command  string
	Seed             uint64
	GitCommit, Error string
	// ErrorStep is the training step a failure happened at, 0 if unknown.
	ErrorStep     int
	GitDirty      bool
	GoVersion     string
	Modules       string
	DatasetDigest string
	Host          string
	PID           int
	Heartbeat     string
	Resumes       int
	SlurmJob      string // JOBID or ARRAYJOB_TASK; "" outside Slurm
	Params        map[string]string
	Metrics       map[string]float64 // last value of each key
	Artifacts     []Artifact
}

// ShortCommit is the run's commit as people read it: its first 12 hex
// digits, and "-dirty" when the tree had uncommitted changes.
func (ri RunInfo) ShortCommit() string {
	c := ri.GitCommit
	if len(c) > 12 {
		c = c[:12]
	}
	if ri.GitDirty {
		c += "-dirty"
	}
	return c
}

// Artifact is a stored artifact row.
type Artifact struct{ Path, Kind, SHA256 string }

const runColumns = `r.id, e.name, r.name, r.status, r.started_at, COALESCE(r.ended_at, ''), r.config, r.command,
	r.seed, r.git_commit, COALESCE(r.error, ''), COALESCE(r.error_step, 0), r.git_dirty, r.go_version, r.modules,
	r.dataset_digest, r.host, r.pid, COALESCE(r.heartbeat_at, ''), r.resumes, r.slurm_job
	FROM runs r JOIN experiments e ON e.id = r.experiment_id`

func (d *DB) scanRun(row interface{ Scan(...any) error }) (RunInfo, error) {
	var ri RunInfo
	var seed int64
	err := row.Scan(&ri.ID, &ri.Experiment, &ri.Name, &ri.Status, &ri.Started, &ri.Ended, &ri.Config, &ri.Command,
		&seed, &ri.GitCommit, &ri.Error, &ri.ErrorStep, &ri.GitDirty, &ri.GoVersion, &ri.Modules,
		&ri.DatasetDigest, &ri.Host, &ri.PID, &ri.Heartbeat, &ri.Resumes, &ri.SlurmJob)
	ri.Seed = uint64(seed)
	if err == nil && ri.Status == Running && !d.alive(ri) {
		ri.Status = Crashed
	}
	return ri, err
}

// alive says whether the process recording a running run still is: on this
// host the pid must exist; anywhere, the heartbeat must be recent.
func (d *DB) alive(ri RunInfo) bool { return d.live(ri.Host, ri.PID, ri.Heartbeat) }

// live says whether a process that beats into the database (a run, a stage
// claim) still is, from its host, pid and last heartbeat.
func (d *DB) live(host string, pid int, heartbeat string) bool {
	if host == d.host && pid > 0 && pid != os.Getpid() {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return false
		}
	}
	hb, err := time.Parse(time.RFC3339Nano, heartbeat)
	if err != nil {
		return false
	}
	return d.now().Sub(hb) < d.StaleAfter
}

// Filter selects runs. Zero fields match everything.
type Filter struct {
	Experiment string
	Status     string            // derived status, so "crashed" works
	Params     map[string]string // exact match on the flattened config
	// Defaults lets a run that never recorded a key of Params match when
	// the value asked is the key's default: a run from before the key
	// existed computed what its default computes.
	Defaults map[string]string
	Metrics  []MetricCond // on each key's last value
	// Sort is "id" (default), "started", or "metric:KEY"; Desc reverses.
	Sort string
	Desc bool
}

// MetricCond is a condition on a metric's last value, e.g. eval/vaebm_ll > -1.7.
type MetricCond struct {
	Key   string
	Op    string // one of < <= > >= = !=
	Value float64
}

// ParseMetricCond reads "KEY<OP>VALUE", e.g. "eval/vaebm_ll>=-1.65".
func ParseMetricCond(s string) (MetricCond, error) {
	for _, op := range []string{"<=", ">=", "!=", "<", ">", "="} {
		if i := strings.Index(s, op); i > 0 {
			v, err := strconv.ParseFloat(strings.TrimSpace(s[i+len(op):]), 64)
			if err != nil {
				return MetricCond{}, fmt.Errorf("metric condition %q: value is not a number", s)
			}
			return MetricCond{Key: strings.TrimSpace(s[:i]), Op: op, Value: v}, nil
		}
	}
	return MetricCond{}, fmt.Errorf("metric condition %q: want KEY OP VALUE with OP one of < <= > >= = !=", s)
}

func (c MetricCond) holds(v float64) bool {
	switch c.Op {
	case "<":
		return v < c.Value
	case "<=":
		return v <= c.Value
	case ">":
		return v > c.Value
	case ">=":
		return v >= c.Value
	case "=":
		return v == c.Value
	case "!=":
		return v != c.Value
	}
	return false
}

// Runs lists runs, newest first, optionally of one experiment.
func (d *DB) Runs(experiment string) ([]RunInfo, error) {
	return d.Query(Filter{Experiment: experiment, Desc: true})
}

// Query lists the runs that pass f, with params and last metric values
// filled in when f needs them or sorts by them.
func (d *DB) Query(f Filter) ([]RunInfo, error) {
	q := "SELECT " + runColumns
	var args []any
	if f.Experiment != "" {
		q += " WHERE e.name = ?"
		args = append(args, f.Experiment)
	}
	rows, err := d.db.Query(d.q(q+" ORDER BY r.id"), args...)
	if err != nil {
		return nil, fmt.Errorf("tracker: listing runs in %s: %w", d.path, err)
	}
	var all []RunInfo
	for rows.Next() {
		ri, err := d.scanRun(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("tracker: reading runs in %s: %w", d.path, err)
		}
		all = append(all, ri)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tracker: reading runs in %s: %w", d.path, err)
	}
	sortKey, byMetric := strings.CutPrefix(f.Sort, "metric:")
	needDetail := len(f.Params) > 0 || len(f.Metrics) > 0 || byMetric
	var out []RunInfo
	for _, ri := range all {
		if f.Status != "" && ri.Status != f.Status {
			continue
		}
		if needDetail {
			if err := d.fill(&ri); err != nil {
				return nil, err
			}
		}
		if matches(ri, f) {
			out = append(out, ri)
		}
	}
	less := func(a, b RunInfo) bool { return a.ID < b.ID }
	switch {
	case byMetric:
		less = func(a, b RunInfo) bool {
			va, oka := a.Metrics[sortKey]
			vb, okb := b.Metrics[sortKey]
			if oka != okb {
				return oka // runs without the metric go last
			}
			return va < vb || (va == vb && a.ID < b.ID)
		}
	case f.Sort == "started":
		// Parsed, not compared as text: RFC 3339 with trimmed fractions
		// does not sort as time ("…05.1Z" is after "…05.12Z").
		started := func(r RunInfo) time.Time { t, _ := time.Parse(time.RFC3339Nano, r.Started); return t }
		less = func(a, b RunInfo) bool {
			ta, tb := started(a), started(b)
			return ta.Before(tb) || (ta.Equal(tb) && a.ID < b.ID)
		}
	case f.Sort == "" || f.Sort == "id":
	default:
		return nil, fmt.Errorf("tracker: unknown sort %q (want id, started or metric:KEY)", f.Sort)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if f.Desc {
			return less(out[j], out[i])
		}
		return less(out[i], out[j])
	})
	return out, nil
}

func matches(ri RunInfo, f Filter) bool {
	for k, v := range f.Params {
		got, ok := ri.Params[k]
		if !ok {
			if d, has := f.Defaults[k]; has && d == v {
				continue
			}
			return false
		}
		if got != v {
			return false
		}
	}
	for _, c := range f.Metrics {
		v, ok := ri.Metrics[c.Key]
		if !ok || !c.holds(v) {
			return false
		}
	}
	return true
}

// ErrNoRun is what Get wraps when the run id is unknown.
var ErrNoRun = errors.New("no such run")

// Get returns one run with its config, params, last metric values and artifacts.
func (d *DB) Get(id int64) (RunInfo, error) {
	ri, err := d.scanRun(d.db.QueryRow(d.q("SELECT "+runColumns+" WHERE r.id = ?"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return ri, fmt.Errorf("tracker: no run %d in %s (see `vaebm runs`): %w", id, d.path, ErrNoRun)
	}
	if err != nil {
		return ri, fmt.Errorf("tracker: reading run %d in %s: %w", id, d.path, err)
	}
	if err := d.fill(&ri); err != nil {
		return ri, err
	}
	rows, err := d.db.Query(d.q("SELECT path, kind, sha256 FROM artifacts WHERE run_id = ? ORDER BY path"), id)
	if err != nil {
		return ri, fmt.Errorf("tracker: reading artifacts of run %d in %s: %w", id, d.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var a Artifact
		if err := rows.Scan(&a.Path, &a.Kind, &a.SHA256); err != nil {
			return ri, fmt.Errorf("tracker: reading artifacts of run %d in %s: %w", id, d.path, err)
		}
		ri.Artifacts = append(ri.Artifacts, a)
	}
	if err := rows.Err(); err != nil {
		return ri, fmt.Errorf("tracker: reading artifacts of run %d in %s: %w", id, d.path, err)
	}
	return ri, nil
}

// fill reads a run's params and the last value of each metric.
func (d *DB) fill(ri *RunInfo) error {
	wrap := func(what string, err error) error {
		return fmt.Errorf("tracker: reading %s of run %d in %s: %w", what, ri.ID, d.path, err)
	}
	ri.Params = map[string]string{}
	rows, err := d.db.Query(d.q("SELECT key, value FROM params WHERE run_id = ?"), ri.ID)
	if err != nil {
		return wrap("params", err)
	}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return wrap("params", err)
		}
		ri.Params[k] = v
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return wrap("params", err)
	}
	ri.Metrics = map[string]float64{}
	rows, err = d.db.Query(d.q(`SELECT m.key, m.value FROM metrics m
		JOIN (SELECT key, MAX(step) AS s FROM metrics WHERE run_id = ? GROUP BY key) last
		ON m.key = last.key AND m.step = last.s WHERE m.run_id = ?`), ri.ID, ri.ID)
	if err != nil {
		return wrap("metrics", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var v float64
		if err := rows.Scan(&k, &v); err != nil {
			return wrap("metrics", err)
		}
		ri.Metrics[k] = v
	}
	if err := rows.Err(); err != nil {
		return wrap("metrics", err)
	}
	return nil
}

// LatestFinished returns the newest finished run of an experiment.
func (d *DB) LatestFinished(experiment string) (RunInfo, error) {
	runs, err := d.Query(Filter{Experiment: experiment, Status: Finished, Desc: true})
	if err != nil {
		return RunInfo{}, err
	}
	if len(runs) == 0 {
		return RunInfo{}, fmt.Errorf("tracker: no finished run of %q in %s", experiment, d.path)
	}
	return d.Get(runs[0].ID)
}

// LatestFinishedPerSeed returns, for each seed, the newest finished run
// that f selects (an experiment's runs whose params match), oldest seed
// first; f's status and order are its own.
func (d *DB) LatestFinishedPerSeed(f Filter) ([]RunInfo, error) {
	f.Status, f.Sort, f.Desc = Finished, "", true
	runs, err := d.Query(f)
	if err != nil {
		return nil, err
	}
	seen := map[uint64]bool{}
	var out []RunInfo
	for _, r := range runs {
		if seen[r.Seed] {
			continue
		}
		seen[r.Seed] = true
		full, err := d.Get(r.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, full)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seed < out[j].Seed })
	return out, nil
}
