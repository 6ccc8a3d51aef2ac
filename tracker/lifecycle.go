package tracker

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"time"
)

func (r *Run) startHeartbeat() {
	r.stopBeat, r.beatDone = make(chan struct{}), make(chan struct{})
	every := r.db.HeartbeatEvery
	go func() {
		defer close(r.beatDone)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-r.stopBeat:
				return
			case <-t.C:
				// A missed beat is harmless; the next one retries.
				_, _ = r.db.db.Exec(r.db.q("UPDATE runs SET heartbeat_at = ? WHERE id = ?"), r.db.stamp(), r.ID)
			}
		}
	}()
}

func (r *Run) stopHeartbeat() {
	if r.stopBeat == nil {
		return
	}
	close(r.stopBeat)
	<-r.beatDone
	r.stopBeat = nil
}

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
