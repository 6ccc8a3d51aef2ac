package tracker

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"time"
)

// heartbeat touches one row's heartbeat_at every interval until stopped,
// which is how other processes tell a live run or stage claim from one
// whose process died.
type heartbeat struct{ stop, done chan struct{} }

func (d *DB) startBeat(table string, where string, arg any) *heartbeat {
	h := &heartbeat{make(chan struct{}), make(chan struct{})}
	q := d.q("UPDATE " + table + " SET heartbeat_at = ? WHERE " + where)
	every := d.HeartbeatEvery
	go func() {
		defer close(h.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-h.stop:
				return
			case <-t.C:
				// A missed beat is harmless; the next one retries.
				_, _ = d.db.Exec(q, d.stamp(), arg)
			}
		}
	}()
	return h
}

// end stops the beats; it may be called more than once, or on nil.
func (h *heartbeat) end() {
	if h == nil || h.stop == nil {
		return
	}
	close(h.stop)
	<-h.done
	h.stop = nil
}

func (r *Run) startHeartbeat() { r.beat = r.db.startBeat("runs", "id = ?", r.ID) }

func (r *Run) stopHeartbeat() { r.beat.end() }

// Resume reopens a crashed, killed or failed run so that this process
// continues it: the same ID, its metric points kept, its resume count
// raised. A finished run, or one whose process is still alive, is refused.
func (d *DB) Resume(ctx context.Context, id int64) (*Run, RunInfo, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, RunInfo{}, fmt.Errorf("tracker: %w", err)
	}
	defer tx.Rollback()
	ri, err := d.scanRun(tx.QueryRow(d.q("SELECT "+runColumns+" WHERE r.id = ?"), id))
	if err == sql.ErrNoRows {
		return nil, ri, fmt.Errorf("tracker: no run %d in %s (see `vaebm runs`)", id, d.path)
	}
	if err != nil {
		return nil, ri, fmt.Errorf("tracker: reading run %d in %s: %w", id, d.path, err)
	}
	switch ri.Status {
	case Finished:
		return nil, ri, fmt.Errorf("tracker: run %d already finished; nothing to resume", id)
	case Running:
		return nil, ri, fmt.Errorf("tracker: run %d is still running (pid %d on %s, heartbeat %s)", id, ri.PID, ri.Host, ri.Heartbeat)
	}
	now := d.stamp()
	// Only if nobody resumed it since we read it: two processes that both
	// see a crashed run must not both continue it.
	res, err := tx.Exec(d.q(`UPDATE runs SET status = ?, ended_at = NULL, error = NULL, error_step = NULL,
		host = ?, pid = ?, heartbeat_at = ?, resumes = resumes + 1 WHERE id = ? AND resumes = ?`),
		Running, d.host, os.Getpid(), now, id, ri.Resumes)
	if err != nil {
		return nil, ri, fmt.Errorf("tracker: resuming run %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return nil, ri, fmt.Errorf("tracker: run %d was resumed by another process meanwhile", id)
	}
	if err := tx.Commit(); err != nil {
		return nil, ri, fmt.Errorf("tracker: resuming run %d: %w", id, err)
	}
	ri.Status, ri.Resumes = Running, ri.Resumes+1
	r := &Run{ID: id, db: d}
	r.startHeartbeat()
	return r, ri, nil
}

// DeleteMetrics removes this run's points whose key starts with prefix and
// whose step is after `after`, first writing what is buffered. A resumed
// stage calls it with its checkpoint's step, so the points it logs again are
// stored once.
func (r *Run) DeleteMetrics(prefix string, after int) error {
	if err := r.Flush(); err != nil {
		return err
	}
	_, err := r.db.db.Exec(r.db.q("DELETE FROM metrics WHERE run_id = ? AND substr(key, 1, ?) = ? AND step > ?"),
		r.ID, len(prefix), prefix, after)
	if err != nil {
		return fmt.Errorf("tracker: deleting %s* after step %d of run %d: %w", prefix, after, r.ID, err)
	}
	return nil
}

// SetDatasetDigest records the digest of the data the run trains on.
func (r *Run) SetDatasetDigest(digest string) error {
	if _, err := r.db.db.Exec(r.db.q("UPDATE runs SET dataset_digest = ? WHERE id = ?"), digest, r.ID); err != nil {
		return fmt.Errorf("tracker: recording dataset digest of run %d: %w", r.ID, err)
	}
	return nil
}

// StageEntry is a cached stage output: a file any later run may reuse
// when its key (a digest of everything the stage depends on) matches.
type StageEntry struct {
	Key, Stage, Path string
	RunID            int64  // the run that computed it
	Inputs           string // what the key was computed from, for people
}

// LookupStage returns the cached stage with this key, if any.
func (d *DB) LookupStage(key string) (StageEntry, bool, error) {
	e := StageEntry{Key: key}
	err := d.db.QueryRow(d.q("SELECT stage, path, run_id, inputs FROM stage_cache WHERE key = ?"), key).
		Scan(&e.Stage, &e.Path, &e.RunID, &e.Inputs)
	if err == sql.ErrNoRows {
		return e, false, nil
	}
	if err != nil {
		return e, false, fmt.Errorf("tracker: stage cache in %s: %w", d.path, err)
	}
	return e, true, nil
}

// RecordStage stores (or replaces) a cached stage.
func (d *DB) RecordStage(e StageEntry) error {
	_, err := d.db.Exec(d.q(`INSERT INTO stage_cache(key, stage, path, run_id, inputs, created_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT(key) DO UPDATE SET stage = excluded.stage, path = excluded.path, run_id = excluded.run_id,
		inputs = excluded.inputs, created_at = excluded.created_at`), e.Key, e.Stage, e.Path, e.RunID, e.Inputs, d.stamp())
	if err != nil {
		return fmt.Errorf("tracker: recording stage %s in %s: %w", e.Stage, d.path, err)
	}
	return nil
}

// StageClaim is a claim on computing one stage-cache entry. The process
// that holds it computes the stage, records it (RecordStage) and releases
// the claim; others that need the entry wait (ClaimStage tells them who
// holds it) and take the claim over if its process dies.
type StageClaim struct {
	Key, Stage string
	RunID      int64 // the run computing it
	Host       string
	PID        int
	Heartbeat  string

	db   *DB
	beat *heartbeat
}

// ClaimStage tries to claim stage key for run. It returns the claim when
// this process now holds it: it was free, or its holder's process is gone.
// Otherwise it returns nil and the live holder.
func (d *DB) ClaimStage(key, stage string, runID int64) (*StageClaim, StageClaim, error) {
	wrap := func(err error) error {
		return fmt.Errorf("tracker: claiming stage %s (%.12s) in %s: %w", stage, key, d.path, err)
	}
	now := d.stamp()
	mine := StageClaim{Key: key, Stage: stage, RunID: runID, Host: d.host, PID: os.Getpid(), Heartbeat: now, db: d}
	res, err := d.db.Exec(d.q(`INSERT INTO stage_claims(key, stage, run_id, host, pid, heartbeat_at, claimed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO NOTHING`), key, stage, runID, d.host, os.Getpid(), now, now)
	if err != nil {
		return nil, StageClaim{}, wrap(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, StageClaim{}, wrap(err)
	} else if n == 1 {
		mine.beat = d.startBeat("stage_claims", "key = ?", key)
		return &mine, StageClaim{}, nil
	}
	var h StageClaim
	err = d.db.QueryRow(d.q("SELECT stage, run_id, host, pid, heartbeat_at FROM stage_claims WHERE key = ?"), key).
		Scan(&h.Stage, &h.RunID, &h.Host, &h.PID, &h.Heartbeat)
	if errors.Is(err, sql.ErrNoRows) {
		return d.ClaimStage(key, stage, runID) // released meanwhile: try again
	}
	if err != nil {
		return nil, StageClaim{}, wrap(err)
	}
	h.Key = key
	if d.live(h.Host, h.PID, h.Heartbeat) {
		return nil, h, nil
	}
	// Its process is gone: take it over, unless another waiter just did.
	res, err = d.db.Exec(d.q(`UPDATE stage_claims SET run_id = ?, host = ?, pid = ?, heartbeat_at = ?, claimed_at = ?
		WHERE key = ? AND host = ? AND pid = ? AND heartbeat_at = ?`),
		runID, d.host, os.Getpid(), now, now, key, h.Host, h.PID, h.Heartbeat)
	if err != nil {
		return nil, StageClaim{}, wrap(err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return d.ClaimStage(key, stage, runID)
	}
	mine.beat = d.startBeat("stage_claims", "key = ?", key)
	return &mine, StageClaim{}, nil
}

// Release gives the claim up, computed or not; it may be called more
// than once.
func (c *StageClaim) Release() error {
	if c == nil || c.db == nil {
		return nil
	}
	c.beat.end()
	d := c.db
	c.db = nil
	if _, err := d.db.Exec(d.q("DELETE FROM stage_claims WHERE key = ? AND host = ? AND pid = ?"), c.Key, d.host, os.Getpid()); err != nil {
		return fmt.Errorf("tracker: releasing the claim on stage %s (%.12s) in %s: %w", c.Stage, c.Key, d.path, err)
	}
	return nil
}

// SetSlurmJob records the Slurm job a resumed run now runs in.
func (r *Run) SetSlurmJob(job string) error {
	if _, err := r.db.db.Exec(r.db.q("UPDATE runs SET slurm_job = ? WHERE id = ?"), job, r.ID); err != nil {
		return fmt.Errorf("tracker: recording the Slurm job of run %d: %w", r.ID, err)
	}
	return nil
}
