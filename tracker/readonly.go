package tracker

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"time"
)

// OpenReadOnly opens an existing database for reading only, as a viewer
// does beside runs that write to it: it creates nothing, migrates nothing,
// and refuses a missing file or one that is not a tracker database with
// an error naming the path. A PostgreSQL URL opens a session whose
// transactions are read-only.
func OpenReadOnly(target string) (*DB, error) {
	if IsServerURL(target) {
		return openPostgres(target, true)
	}
	path := target
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("tracker: no database at %s (run an experiment first, or pass --out)", path)
		}
		return nil, fmt.Errorf("tracker: %w", err)
	}
	sdb, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=10000")
	if err != nil {
		return nil, fmt.Errorf("tracker: opening %s: %w", path, err)
	}
	var version int
	if err := sdb.QueryRow("PRAGMA user_version").Scan(&version); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("tracker: %s: %w", path, usable(err))
	}
	var n int
	if err := sdb.QueryRow("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('runs', 'metrics', 'experiments')").Scan(&n); err != nil || n != 3 || version == 0 {
		sdb.Close()
		if err != nil {
			return nil, fmt.Errorf("tracker: %s: %w", path, usable(err))
		}
		return nil, fmt.Errorf("tracker: %s is not a vaebm tracker database", path)
	}
	if err := knownSchema(version); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("tracker: %s: %w", path, err)
	}
	host, _ := os.Hostname()
	return &DB{db: sdb, path: path, now: time.Now, HeartbeatEvery: 10 * time.Second, StaleAfter: time.Minute, host: host}, nil
}
