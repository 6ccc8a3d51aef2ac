-- Written in the SQL that SQLite and PostgreSQL share; {{serial}} is each
-- one's auto-numbered 64-bit key (tracker/backend.go).
CREATE TABLE experiments (
	id {{serial}},
	name TEXT NOT NULL UNIQUE,
	created_at TEXT NOT NULL
);
CREATE TABLE runs (
	id {{serial}},
	experiment_id BIGINT NOT NULL REFERENCES experiments(id),
	name TEXT NOT NULL,
	status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'failed', 'killed')),
	started_at TEXT NOT NULL,
	ended_at TEXT,
	config TEXT NOT NULL,
	seed BIGINT NOT NULL,
	git_commit TEXT NOT NULL,
	command TEXT NOT NULL,
	error TEXT
);
CREATE TABLE params (
	run_id BIGINT NOT NULL REFERENCES runs(id),
	key TEXT NOT NULL,
	value TEXT NOT NULL,
	PRIMARY KEY (run_id, key)
);
CREATE TABLE metrics (
	run_id BIGINT NOT NULL REFERENCES runs(id),
	key TEXT NOT NULL,
	step BIGINT NOT NULL,
	value DOUBLE PRECISION NOT NULL,
	wall_time TEXT NOT NULL
);
CREATE INDEX metrics_run_key_step ON metrics(run_id, key, step);
CREATE TABLE artifacts (
	run_id BIGINT NOT NULL REFERENCES runs(id),
	path TEXT NOT NULL,
	kind TEXT NOT NULL,
	sha256 TEXT NOT NULL,
	created_at TEXT NOT NULL,
	PRIMARY KEY (run_id, path)
);
