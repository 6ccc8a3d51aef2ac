-- Liveness: a running run whose process died shows as crashed (derived on
-- read from the heartbeat, host and pid; never stored).
ALTER TABLE runs ADD COLUMN heartbeat_at TEXT;
ALTER TABLE runs ADD COLUMN host TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN pid BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN error_step BIGINT;
ALTER TABLE runs ADD COLUMN resumes BIGINT NOT NULL DEFAULT 0;
-- Provenance beyond config, seed, commit and command.
ALTER TABLE runs ADD COLUMN git_dirty BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN go_version TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN modules TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN dataset_digest TEXT NOT NULL DEFAULT '';
-- Content-addressed stages (a trained VAE, a classifier) that later runs reuse.
CREATE TABLE stage_cache (
	key TEXT PRIMARY KEY,
	stage TEXT NOT NULL,
	path TEXT NOT NULL,
	run_id BIGINT NOT NULL REFERENCES runs(id),
	inputs TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE INDEX runs_status ON runs(status);
