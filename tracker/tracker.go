// Package tracker records experiments, runs, parameters, metric points and
// artifacts in one SQLite database (WAL mode), so that every number in a
// table can be traced to the run, config and code that produced it.
package tracker

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// Status of a run.
const (
	Running  = "running"
	Finished = "finished"
	Failed   = "failed"
	Killed   = "killed"
)

// DB is an open tracking database.
type DB struct {
	db   *sql.DB
	path string
	now  func() time.Time
}

// Open opens (creating if needed) the database at path and applies migrations.
func Open(path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("tracker: creating folder for %s: %w", path, err)
	}
	dsn := "file:" + path + "?_journal_mode=WAL&_busy_timeout=10000&_foreign_keys=on&_txlock=immediate&_synchronous=NORMAL"
	sdb, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("tracker: opening %s: %w", path, err)
	}
	// One connection per process: writes serialise here instead of
	// contending for SQLite's lock.
	sdb.SetMaxOpenConns(1)
	d := &DB{db: sdb, path: path, now: time.Now}
	if err := d.migrate(); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("tracker: %s: %w", path, err)
	}
	return d, nil
}

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// Path returns the database file.
func (d *DB) Path() string { return d.path }

func (d *DB) migrate() error {
	names, err := migrations.ReadDir("migrations")
	if err != nil {
		return err
	}
	sort.Slice(names, func(i, j int) bool { return names[i].Name() < names[j].Name() })
	tx, err := d.db.Begin() // immediate: only one process migrates at a time
	if err != nil {
		return fmt.Errorf("not a usable SQLite database: %w", err)
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRow("PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("not a usable SQLite database: %w", err)
	}
	for i, n := range names {
		if i < version {
			continue
		}
		src, err := migrations.ReadFile("migrations/" + n.Name())
		if err != nil {
			return err
		}
		if _, err := tx.Exec(string(src)); err != nil {
			return fmt.Errorf("migration %s: %w", n.Name(), err)
		}
		if _, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", i+1)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func (d *DB) stamp() string { return d.now().UTC().Format(time.RFC3339Nano) }

// RunSpec is what a new run records about itself.
type RunSpec struct {
	Experiment string
	Name       string
	Config     string // the resolved YAML
	Seed       uint64
	GitCommit  string
	Command    string
	Params     map[string]string
}

// Run is a run being recorded. Metric points are buffered and written in
// batches; Flush, Finish and Fail write what is buffered.
type Run struct {
	ID  int64
	db  *DB
	mu  sync.Mutex
	buf []point
}

type point struct {
	key   string
	step  int
	value float64
	wall  string
}

// StartRun creates a run in state running.
func (d *DB) StartRun(ctx context.Context, s RunSpec) (*Run, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("tracker: %w", err)
	}
	defer tx.Rollback()
	now := d.stamp()
	if _, err := tx.Exec("INSERT OR IGNORE INTO experiments(name, created_at) VALUES (?, ?)", s.Experiment, now); err != nil {
		return nil, fmt.Errorf("tracker: recording experiment: %w", err)
	}
	res, err := tx.Exec(`INSERT INTO runs(experiment_id, name, status, started_at, config, seed, git_commit, command)
		VALUES ((SELECT id FROM experiments WHERE name = ?), ?, ?, ?, ?, ?, ?, ?)`,
		s.Experiment, s.Name, Running, now, s.Config, int64(s.Seed), s.GitCommit, s.Command)
	if err != nil {
		return nil, fmt.Errorf("tracker: recording run: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(s.Params))
	for k := range s.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, err := tx.Exec("INSERT INTO params(run_id, key, value) VALUES (?, ?, ?)", id, k, s.Params[k]); err != nil {
			return nil, fmt.Errorf("tracker: recording param %s: %w", k, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("tracker: %w", err)
	}
	return &Run{ID: id, db: d}, nil
}

// flushEvery is the number of buffered points that triggers a write.
const flushEvery = 512

// Log buffers a metric point. SQLite cannot store NaN (it becomes NULL), so
// Flush stores non-finite values as math.MaxFloat64 rather than drop them.
func (r *Run) Log(key string, step int, value float64) {
	r.mu.Lock()
	r.buf = append(r.buf, point{key, step, value, r.db.stamp()})
	full := len(r.buf) >= flushEvery
	r.mu.Unlock()
	if full {
		// A failed background flush keeps the points; the next one retries.
		_ = r.Flush()
	}
}

// Flush writes buffered metric points in one transaction.
func (r *Run) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.buf) == 0 {
		return nil
	}
	tx, err := r.db.db.Begin()
	if err != nil {
		return fmt.Errorf("tracker: writing metrics of run %d: %w", r.ID, err)
	}
	defer tx.Rollback()
	st, err := tx.Prepare("INSERT INTO metrics(run_id, key, step, value, wall_time) VALUES (?, ?, ?, ?, ?)")
	if err != nil {
		return fmt.Errorf("tracker: %w", err)
	}
	defer st.Close()
	for _, p := range r.buf {
		v := p.value
		if math.IsNaN(v) || math.IsInf(v, 0) {
			v = math.MaxFloat64
		}
		if _, err := st.Exec(r.ID, p.key, p.step, v, p.wall); err != nil {
			return fmt.Errorf("tracker: writing metric %s: %w", p.key, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("tracker: writing metrics of run %d: %w", r.ID, err)
	}
	r.buf = r.buf[:0]
	return nil
}

// Artifact records a file the run produced, with its SHA-256.
func (r *Run) Artifact(path, kind string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("tracker: artifact %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("tracker: hashing %s: %w", path, err)
	}
	_, err = r.db.db.Exec(`INSERT INTO artifacts(run_id, path, kind, sha256, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT(run_id, path) DO UPDATE SET kind = excluded.kind, sha256 = excluded.sha256, created_at = excluded.created_at`,
		r.ID, path, kind, hex.EncodeToString(h.Sum(nil)), r.db.stamp())
	if err != nil {
		return fmt.Errorf("tracker: recording artifact %s: %w", path, err)
	}
	return nil
}

// Finish flushes and marks the run finished.
func (r *Run) Finish() error { return r.end(Finished, "") }

// Fail flushes and marks the run failed (or killed, for a cancelled
// context) with the error that ended it.
func (r *Run) Fail(cause error) error {
	status := Failed
	if errors.Is(cause, context.Canceled) {
		status = Killed
	}
	return r.end(status, cause.Error())
}

func (r *Run) end(status, msg string) error {
	ferr := r.Flush()
	_, err := r.db.db.Exec("UPDATE runs SET status = ?, ended_at = ?, error = NULLIF(?, '') WHERE id = ?",
		status, r.db.stamp(), msg, r.ID)
	if err != nil {
		return fmt.Errorf("tracker: ending run %d: %w", r.ID, err)
	}
	return ferr
}

// RunInfo is a run as stored.
type RunInfo struct {
	ID               int64
	Experiment, Name string
	Status           string
	Started, Ended   string
	Config, Command  string
	Seed             uint64
	GitCommit, Error string
	Params           map[string]string
	Metrics          map[string]float64 // last value of each key
	Artifacts        []Artifact
}

// Artifact is a stored artifact row.
type Artifact struct{ Path, Kind, SHA256 string }

// Runs lists runs, newest first, optionally of one experiment.
func (d *DB) Runs(experiment string) ([]RunInfo, error) {
	q := `SELECT r.id, e.name, r.name, r.status, r.started_at, COALESCE(r.ended_at, ''), r.seed, r.git_commit, COALESCE(r.error, '')
		FROM runs r JOIN experiments e ON e.id = r.experiment_id`
	var args []any
	if experiment != "" {
		q += " WHERE e.name = ?"
		args = append(args, experiment)
	}
	rows, err := d.db.Query(q+" ORDER BY r.id DESC", args...)
	if err != nil {
		return nil, fmt.Errorf("tracker: listing runs in %s: %w", d.path, err)
	}
	defer rows.Close()
	var out []RunInfo
	for rows.Next() {
		var ri RunInfo
		var seed int64
		if err := rows.Scan(&ri.ID, &ri.Experiment, &ri.Name, &ri.Status, &ri.Started, &ri.Ended, &seed, &ri.GitCommit, &ri.Error); err != nil {
			return nil, err
		}
		ri.Seed = uint64(seed)
		out = append(out, ri)
	}
	return out, rows.Err()
}

// Get returns one run with its config, params, last metric values and artifacts.
func (d *DB) Get(id int64) (RunInfo, error) {
	var ri RunInfo
	var seed int64
	err := d.db.QueryRow(`SELECT r.id, e.name, r.name, r.status, r.started_at, COALESCE(r.ended_at, ''), r.config, r.command, r.seed, r.git_commit, COALESCE(r.error, '')
		FROM runs r JOIN experiments e ON e.id = r.experiment_id WHERE r.id = ?`, id).
		Scan(&ri.ID, &ri.Experiment, &ri.Name, &ri.Status, &ri.Started, &ri.Ended, &ri.Config, &ri.Command, &seed, &ri.GitCommit, &ri.Error)
	if errors.Is(err, sql.ErrNoRows) {
		return ri, fmt.Errorf("tracker: no run %d in %s (see `vaebm runs`)", id, d.path)
	}
	if err != nil {
		return ri, fmt.Errorf("tracker: reading run %d: %w", id, err)
	}
	ri.Seed = uint64(seed)
	ri.Params = map[string]string{}
	rows, err := d.db.Query("SELECT key, value FROM params WHERE run_id = ?", id)
	if err != nil {
		return ri, err
	}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return ri, err
		}
		ri.Params[k] = v
	}
	rows.Close()
	ri.Metrics = map[string]float64{}
	rows, err = d.db.Query(`SELECT m.key, m.value FROM metrics m
		JOIN (SELECT key, MAX(step) AS s FROM metrics WHERE run_id = ? GROUP BY key) last
		ON m.key = last.key AND m.step = last.s WHERE m.run_id = ?`, id, id)
	if err != nil {
		return ri, err
	}
	for rows.Next() {
		var k string
		var v float64
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return ri, err
		}
		ri.Metrics[k] = v
	}
	rows.Close()
	rows, err = d.db.Query("SELECT path, kind, sha256 FROM artifacts WHERE run_id = ? ORDER BY path", id)
	if err != nil {
		return ri, err
	}
	defer rows.Close()
	for rows.Next() {
		var a Artifact
		if err := rows.Scan(&a.Path, &a.Kind, &a.SHA256); err != nil {
			return ri, err
		}
		ri.Artifacts = append(ri.Artifacts, a)
	}
	return ri, rows.Err()
}

// Series returns every point of one metric of a run, in step order.
func (d *DB) Series(id int64, key string) (steps []int, values []float64, err error) {
	rows, err := d.db.Query("SELECT step, value FROM metrics WHERE run_id = ? AND key = ? ORDER BY step", id, key)
	if err != nil {
		return nil, nil, fmt.Errorf("tracker: reading %s of run %d: %w", key, id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var s int
		var v float64
		if err := rows.Scan(&s, &v); err != nil {
			return nil, nil, err
		}
		steps, values = append(steps, s), append(values, v)
	}
	return steps, values, rows.Err()
}

// LatestFinished returns the newest finished run of an experiment.
func (d *DB) LatestFinished(experiment string) (RunInfo, error) {
	runs, err := d.Runs(experiment)
	if err != nil {
		return RunInfo{}, err
	}
	for _, r := range runs {
		if r.Status == Finished {
			return d.Get(r.ID)
		}
	}
	return RunInfo{}, fmt.Errorf("tracker: no finished run of %q in %s", experiment, d.path)
}
