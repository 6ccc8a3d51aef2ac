-- Shared stages: while a job computes a stage-cache entry it holds a claim
-- on its key, so that a second job needing the same entry (the same VAE, a
-- classifier) waits for it instead of computing it too. A claim whose
-- process is gone (no heartbeat, or a dead pid on this host) is taken over.
CREATE TABLE stage_claims (
	key TEXT PRIMARY KEY,
	stage TEXT NOT NULL,
	run_id BIGINT NOT NULL,
	host TEXT NOT NULL,
	pid BIGINT NOT NULL,
	heartbeat_at TEXT NOT NULL,
	claimed_at TEXT NOT NULL
);
-- The Slurm job a run ran in ('' outside Slurm): JOBID, or ARRAYJOB_TASK
-- for a task of a job array.
ALTER TABLE runs ADD COLUMN slurm_job TEXT NOT NULL DEFAULT '';
