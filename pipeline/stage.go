package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vaebm/vaebm/core/method"
	"github.com/vaebm/vaebm/core/nn"
	"github.com/vaebm/vaebm/core/train"
	"github.com/vaebm/vaebm/tracker"
)

// stageKey content-addresses a stage: the SHA-256 of the JSON of everything
// its result depends on (which the caller passes, code version included).
// It returns the key and that JSON, stored with the cache entry for people.
func stageKey(inputs any) (key, raw string, err error) {
	b, err := json.Marshal(inputs)
	if err != nil {
		return "", "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), string(b), nil
}

// reuseStage loads the cached stage with this key into ps. It reports false
// when there is none or it cannot be loaded (then the caller trains).
func reuseStage(opts Options, bar *Bar, stage, key string, ps []*nn.Param) (tracker.StageEntry, bool, error) {
	e, ok, err := opts.DB.LookupStage(key)
	if err != nil || !ok {
		return e, false, err
	}
	if err := nn.LoadParams(e.Path, ps); err != nil {
		bar.Say("%s: cached stage unusable, training instead: %v", stage, err)
		return e, false, nil
	}
	return e, true, nil
}

// stagePoll is how often a run waiting for another job's stage looks again.
var stagePoll = 2 * time.Second

// awaitStage makes sure a stage is computed once among all the jobs that
// share this database and output folder. It loads the cached entry for key
// into ps when there is one (reused true). Otherwise it returns this
// process's claim on computing it, which the caller releases after
// cacheStage; while another live job holds the claim, it waits for that
// job's entry, up to opts.StageWait, and takes the claim over if that job
// dies or fails.
func awaitStage(ctx context.Context, opts Options, bar *Bar, stage, key string, runID int64, ps []*nn.Param) (e tracker.StageEntry, reused bool, claim *tracker.StageClaim, err error) {
	wait := opts.StageWait
	if wait <= 0 {
		wait = DefaultStageWait
	}
	deadline := time.Now().Add(wait)
	said := false
	for {
		if e, ok, err := reuseStage(opts, bar, stage, key, ps); err != nil || ok {
			return e, ok, nil, err
		}
		claim, holder, err := opts.DB.ClaimStage(key, stage, runID)
		if err != nil {
			return e, false, nil, err
		}
		if claim != nil {
			// The holder may have recorded the entry and released its
			// claim between our look and our claim.
			if e, ok, err := reuseStage(opts, bar, stage, key, ps); err != nil || ok {
				claim.Release()
				return e, ok, nil, err
			}
			return e, false, claim, nil
		}
		who := fmt.Sprintf("pid %d on %s", holder.PID, holder.Host)
		if holder.RunID > 0 {
			who = fmt.Sprintf("run %d (%s)", holder.RunID, who)
		}
		if time.Now().After(deadline) {
			return e, false, nil, fmt.Errorf("%s: waited %s for %s to compute this stage (stage cache %.12s), and it is still at it: "+
				"let it finish and run again, or wait longer (VAEBM_STAGE_WAIT=48h)", stage, wait, who, key)
		}
		if !said {
			bar.Say("%s: %s is computing this stage (stage cache %.12s); waiting for it (up to %s)", stage, who, key, wait)
			said = true
		}
		select {
		case <-ctx.Done():
			return e, false, nil, ctx.Err()
		case <-time.After(min(stagePoll, time.Until(deadline)+time.Millisecond)):
		}
	}
}

// cacheStage stores ps as stage key, computed by run, under out/cache/STAGE/,
// and returns the file written.
func cacheStage(opts Options, run *tracker.Run, stage, key, inputs string, ps []*nn.Param) (string, error) {
	path := filepath.Join(opts.OutDir, "cache", stage, key+".ckpt")
	if err := nn.SaveParams(path, ps); err != nil {
		return "", err
	}
	return path, opts.DB.RecordStage(tracker.StageEntry{Key: key, Stage: stage, Path: path, RunID: run.ID, Inputs: inputs})
}

// startRun records a new run with the code's provenance filled in.
func startRun(ctx context.Context, opts Options, spec tracker.RunSpec) (*tracker.Run, error) {
	prov := CurrentProvenance()
	spec.GitCommit, spec.GitDirty, spec.GoVersion, spec.Modules = prov.GitCommit, prov.GitDirty, prov.GoVersion, prov.Modules
	spec.Command = opts.Command
	spec.SlurmJob = SlurmJob()
	return opts.DB.StartRun(ctx, spec)
}

// SlurmJob is the Slurm job this process runs in, as Slurm's tools name
// it: ARRAYJOB_TASK for a task of a job array, else JOBID; "" outside Slurm.
func SlurmJob() string {
	if a, t := os.Getenv("SLURM_ARRAY_JOB_ID"), os.Getenv("SLURM_ARRAY_TASK_ID"); a != "" && t != "" {
		return a + "_" + t
	}
	return os.Getenv("SLURM_JOB_ID")
}

// stageFiles are where a run keeps stage name's trained parameters and
// its training state while it trains.
func stageFiles(dir, name string) (final, state string) {
	return filepath.Join(dir, name+".ckpt"), filepath.Join(dir, name+".state")
}

// trainedStage gives s.Params their trained values: from this run's final
// checkpoint when resuming after the stage finished, else from the stage
// cache when an earlier run trained the same stage on the same inputs
// (key, which hashes inputs) with the same code, else by training
// (resuming from this run's state file if any), after which the result
// enters the cache. The run records stage/NAME_cached (1 when reused) and
// stage/NAME_source_run.
func trainedStage(ctx context.Context, opts Options, run *tracker.Run, bar *Bar, s method.Stage, key, inputs string, resuming bool) error {
	final, statePath := stageFiles(RunDir(opts.OutDir, run.ID), s.Name)
	if resuming && exists(final) {
		bar.Say("%s: finished before; loading %s", s.Name, final)
		return nn.LoadParams(final, s.Params)
	}
	if !opts.Force && !exists(statePath) {
		e, ok, claim, err := awaitStage(ctx, opts, bar, s.Name, key, run.ID, s.Params)
		if err != nil {
			return err
		}
		defer claim.Release()
		if ok {
			bar.Say("%s: reusing the %s trained by run %d (stage cache %.12s; --force retrains)", s.Name, s.What, e.RunID, key)
			run.Log("stage/"+s.Name+"_cached", 0, 1)
			run.Log("stage/"+s.Name+"_source_run", 0, float64(e.RunID))
			return saveCheckpoint(run, final, s.Params)
		}
	}
	ck := stageCheckpoint(run, statePath, s.CheckpointEvery, s.Name+"/", bar)
	if err := s.Train(ctx, ck, run, bar.Update); err != nil {
		return err
	}
	if err := saveCheckpoint(run, final, s.Params); err != nil {
		return err
	}
	if _, err := cacheStage(opts, run, s.Name, key, inputs, s.Params); err != nil {
		return err
	}
	run.Log("stage/"+s.Name+"_cached", 0, 0)
	run.Log("stage/"+s.Name+"_source_run", 0, float64(run.ID))
	return removeState(statePath)
}

// timedStage runs f and records its wall time as time/KEY_s (replacing
// the time of an interrupted attempt).
func timedStage(run *tracker.Run, key string, f func() error) error {
	t0 := time.Now()
	if err := f(); err != nil {
		return err
	}
	if err := run.DeleteMetrics("time/"+key+"_s", -1); err != nil {
		return err
	}
	run.Log("time/"+key+"_s", 0, time.Since(t0).Seconds())
	return nil
}

// stageCheckpoint makes a stage resumable into run: metric points logged
// after the saved step are deleted before the stage logs them again.
func stageCheckpoint(run *tracker.Run, path string, every int, prefix string, bar *Bar) *train.Checkpoint {
	return &train.Checkpoint{Path: path, Every: every, Flush: run.Flush, Resume: func(after int) error {
		if after > 0 {
			bar.Say("%s resuming after step %d from %s", strings.TrimSuffix(prefix, "/"), after, path)
		}
		return run.DeleteMetrics(prefix, after)
	}}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// removeState deletes a finished stage's training state: the final
// checkpoint supersedes it.
func removeState(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func saveCheckpoint(run *tracker.Run, path string, ps []*nn.Param) error {
	if err := nn.SaveParams(path, ps); err != nil {
		return err
	}
	return run.Artifact(path, "checkpoint")
}
