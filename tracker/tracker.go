// Package tracker records experiments, runs, parameters, metric points and
// artifacts in one database, so that every number in a table can be traced
// to the run, config and code that produced it: a SQLite file (WAL mode) by
// default, or a PostgreSQL server when many jobs on a cluster share one
// record.
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
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3" // also registers the "sqlite3" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// Status of a run.
const (
	Running  = "running"
	Finished = "finished"
	Failed   = "failed"
	Killed   = "killed"
	// Crashed is never stored: it is how a run still marked running shows
	// once its process is gone (no heartbeat, or its pid is dead on this host).
	Crashed = "crashed"
)

// DB is an open tracking database.
type DB struct {
	db      *sql.DB
	path    string // the file, or the server URL without its password
	backend backend
	now     func() time.Time
	// HeartbeatEvery is how often a live run touches its row; a running
	// run whose heartbeat is older than StaleAfter shows as crashed.
	HeartbeatEvery, StaleAfter time.Duration
	host                       string
}

// Open opens the tracker database at target and applies migrations:
// a SQLite file, created if needed, or a PostgreSQL URL (IsServerURL) of a
// database that exists. A database migrated by a newer vaebm is refused
// (ErrNewerSchema) and left as it is.
func Open(target string) (*DB, error) {
	if IsServerURL(target) {
		return openPostgres(target, false)
	}
	path := target
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("tracker: creating folder for %s: %w", path, err)
	}
	dsn := "file:" + path + "?_busy_timeout=10000&_foreign_keys=on&_txlock=immediate&_synchronous=NORMAL"
	sdb, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("tracker: opening %s: %w", path, err)
	}
	// One connection per process: writes serialise here instead of
	// contending for SQLite's lock.
	sdb.SetMaxOpenConns(1)
	if err := enableWAL(sdb); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("tracker: %s: %w", path, usable(err))
	}
	host, _ := os.Hostname()
	d := &DB{db: sdb, path: path, now: time.Now, HeartbeatEvery: 10 * time.Second, StaleAfter: time.Minute, host: host}
	if err := d.migrate(); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("tracker: %s: %w", path, err)
	}
	return d, nil
}

// enableWAL switches the file to write-ahead logging. When several
// processes create the same database at once, the switch can fail with
// SQLITE_BUSY at once, without waiting out the busy timeout, so it retries.
func enableWAL(sdb *sql.DB) error {
	deadline := time.Now().Add(10 * time.Second)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		var mode string
		err := sdb.QueryRow("PRAGMA journal_mode=WAL").Scan(&mode)
		if err == nil || !busy(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(wait)
	}
}

func busy(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked)
}

// usable labels errors that mean the file is not a database we can use,
// leaving others (busy, permissions) as SQLite words them.
func usable(err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) && (se.Code == sqlite3.ErrCorrupt || se.Code == sqlite3.ErrNotADB) {
		return fmt.Errorf("not a usable SQLite database: %w", err)
	}
	return err
}

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// Path returns the database file.
func (d *DB) Path() string { return d.path }

// migrationNames are the embedded migrations in the order they apply.
func migrationNames() []string {
	ents, err := migrations.ReadDir("migrations")
	if err != nil {
		panic(err) // embedded at build time
	}
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
	}
	sort.Strings(names)
	return names
}

// migrate applies the migrations the database lacks, in one transaction
// that only one process at a time holds.
func (d *DB) migrate() error {
	names := migrationNames()
	tx, err := d.db.Begin() // SQLite: immediate, so only one process migrates at a time
	if err != nil {
		return usable(err)
	}
	defer tx.Rollback()
	if err := d.lockSchema(tx); err != nil {
		return err
	}
	version, err := d.schemaVersion(tx)
	if err != nil {
		return usable(err)
	}
	if err := knownSchema(version); err != nil {
		return err
	}
	if version == len(names) {
		return nil
	}
	for _, n := range names[version:] {
		src, err := migrations.ReadFile("migrations/" + n)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(d.renderMigration(string(src))); err != nil {
			return fmt.Errorf("migration %s: %w", n, err)
		}
	}
	if err := d.setSchemaVersion(tx, len(names)); err != nil {
		return err
	}
	return tx.Commit()
}

// boolInt stores a flag as 0 or 1, the one way both databases' integer
// columns take it.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (d *DB) stamp() string { return d.now().UTC().Format(time.RFC3339Nano) }

// RunSpec is what a new run records about itself: with the resolved
// config, enough to repeat it. Host and pid are filled in by StartRun.
type RunSpec struct {
	Experiment string
	Name       string
	Config     string // the resolved YAML
	Seed       uint64
	GitCommit  string
	GitDirty   bool
	GoVersion  string
	Modules    string // module path, version and sum per line
	Command    string
	Params     map[string]string
	SlurmJob   string // JOBID, or ARRAYJOB_TASK for an array task; "" outside Slurm
}

// Run is a run being recorded. Metric points are buffered and written in
// batches; Flush, Finish and Fail write what is buffered.
type Run struct {
	ID  int64
	db  *DB
	mu  sync.Mutex
	buf []point

	beat *heartbeat
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
	if _, err := tx.Exec(d.q("INSERT INTO experiments(name, created_at) VALUES (?, ?) ON CONFLICT(name) DO NOTHING"), s.Experiment, now); err != nil {
		return nil, fmt.Errorf("tracker: recording experiment: %w", err)
	}
	var id int64
	err = tx.QueryRow(d.q(`INSERT INTO runs(experiment_id, name, status, started_at, config, seed, git_commit, command,
			git_dirty, go_version, modules, host, pid, heartbeat_at, slurm_job)
		VALUES ((SELECT id FROM experiments WHERE name = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		s.Experiment, s.Name, Running, now, s.Config, int64(s.Seed), s.GitCommit, s.Command,
		boolInt(s.GitDirty), s.GoVersion, s.Modules, d.host, os.Getpid(), now, s.SlurmJob).Scan(&id)
	if err != nil {
		return nil, fmt.Errorf("tracker: recording run: %w", err)
	}
	keys := make([]string, 0, len(s.Params))
	for k := range s.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, err := tx.Exec(d.q("INSERT INTO params(run_id, key, value) VALUES (?, ?, ?)"), id, k, s.Params[k]); err != nil {
			return nil, fmt.Errorf("tracker: recording param %s: %w", k, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("tracker: %w", err)
	}
	r := &Run{ID: id, db: d}
	r.startHeartbeat()
	return r, nil
}

// flushEvery is the number of buffered points that triggers a write;
// insertBatch the points per INSERT (5 values each, well under both
// databases' limits on parameters).
const (
	flushEvery  = 512
	insertBatch = 128
)

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
	// Many rows per statement: one round trip per batch, not per point,
	// which a server over a socket notices most.
	for rest := r.buf; len(rest) > 0; {
		n := min(len(rest), insertBatch)
		var q strings.Builder
		q.WriteString("INSERT INTO metrics(run_id, key, step, value, wall_time) VALUES ")
		args := make([]any, 0, 5*n)
		for i, p := range rest[:n] {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?)")
			v := p.value
			if math.IsNaN(v) || math.IsInf(v, 0) {
				v = math.MaxFloat64
			}
			args = append(args, r.ID, p.key, p.step, v, p.wall)
		}
		if _, err := tx.Exec(r.db.q(q.String()), args...); err != nil {
			return fmt.Errorf("tracker: writing metrics of run %d: %w", r.ID, err)
		}
		rest = rest[n:]
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
	_, err = r.db.db.Exec(r.db.q(`INSERT INTO artifacts(run_id, path, kind, sha256, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT(run_id, path) DO UPDATE SET kind = excluded.kind, sha256 = excluded.sha256, created_at = excluded.created_at`),
		r.ID, path, kind, hex.EncodeToString(h.Sum(nil)), r.db.stamp())
	if err != nil {
		return fmt.Errorf("tracker: recording artifact %s: %w", path, err)
	}
	return nil
}

// Finish flushes and marks the run finished.
func (r *Run) Finish() error { return r.end(Finished, "", sql.NullInt64{}) }

// StepError is an error that knows the training step it happened at.
type StepError interface {
	error
	FailedStep() int
}

// Fail flushes and marks the run failed (or killed, for a cancelled
// context) with the error that ended it and, when the error knows it, the step.
func (r *Run) Fail(cause error) error {
	status := Failed
	if errors.Is(cause, context.Canceled) {
		status = Killed
	}
	var step sql.NullInt64
	var se StepError
	if errors.As(cause, &se) {
		step = sql.NullInt64{Int64: int64(se.FailedStep()), Valid: true}
	}
	return r.end(status, cause.Error(), step)
}

func (r *Run) end(status, msg string, step sql.NullInt64) error {
	r.stopHeartbeat()
	ferr := r.Flush()
	_, err := r.db.db.Exec(r.db.q("UPDATE runs SET status = ?, ended_at = ?, error = NULLIF(?, ''), error_step = ? WHERE id = ?"),
		status, r.db.stamp(), msg, step, r.ID)
	if err != nil {
		return fmt.Errorf("tracker: ending run %d: %w", r.ID, err)
	}
	return ferr
}

// Series returns every point of one metric of a run, in step order.
func (d *DB) Series(id int64, key string) (steps []int, values []float64, err error) {
	rows, err := d.db.Query(d.q("SELECT step, value FROM metrics WHERE run_id = ? AND key = ? ORDER BY step"), id, key)
	if err != nil {
		return nil, nil, fmt.Errorf("tracker: reading %s of run %d: %w", key, id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var s int
		var v float64
		if err := rows.Scan(&s, &v); err != nil {
			return nil, nil, fmt.Errorf("tracker: reading %s of run %d in %s: %w", key, id, d.path, err)
		}
		steps, values = append(steps, s), append(values, v)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("tracker: reading %s of run %d in %s: %w", key, id, d.path, err)
	}
	return steps, values, nil
}
