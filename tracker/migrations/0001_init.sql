CREATE TABLE experiments (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	created_at TEXT NOT NULL
);
CREATE TABLE runs (
	id INTEGER PRIMARY KEY,
	experiment_id INTEGER NOT NULL REFERENCES experiments(id),
	name TEXT NOT NULL,
	status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'failed', 'killed')),
	started_at TEXT NOT NULL,
	ended_at TEXT,
	config TEXT NOT NULL,
	seed INTEGER NOT NULL,
	git_commit TEXT NOT NULL,
	command TEXT NOT NULL,
	error TEXT
);
CREATE TABLE params (
	run_id INTEGER NOT NULL REFERENCES runs(id),
	key TEXT NOT NULL,
	value TEXT NOT NULL,
	PRIMARY KEY (run_id, key)
);
CREATE TABLE metrics (
	run_id INTEGER NOT NULL REFERENCES runs(id),
	key TEXT NOT NULL,
	step INTEGER NOT NULL,
	value REAL NOT NULL,
	wall_time TEXT NOT NULL
);
CREATE INDEX metrics_run_key_step ON metrics(run_id, key, step);
CREATE TABLE artifacts (
	run_id INTEGER NOT NULL REFERENCES runs(id),
	path TEXT NOT NULL,
	kind TEXT NOT NULL,
	sha256 TEXT NOT NULL,
	created_at TEXT NOT NULL,
	PRIMARY KEY (run_id, path)
);
