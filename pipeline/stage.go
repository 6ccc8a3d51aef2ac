package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path/filepath"

	"github.com/vaebm/vaebm/core/nn"
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
	return opts.DB.StartRun(ctx, spec)
}
