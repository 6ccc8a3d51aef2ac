package tracker

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
)

func TestPlaceholders(t *testing.T) {
	pg := &DB{backend: postgresBackend}
	lite := &DB{backend: sqliteBackend}
	for _, tc := range []struct{ in, pg string }{
		{"SELECT 1", "SELECT 1"},
		{"UPDATE runs SET a = ?, b = ? WHERE id = ?", "UPDATE runs SET a = $1, b = $2 WHERE id = $3"},
		{"substr(key, 1, ?) = ?", "substr(key, 1, $1) = $2"},
	} {
		if got := pg.q(tc.in); got != tc.pg {
			t.Errorf("postgres %q: %q, want %q", tc.in, got, tc.pg)
		}
		if got := lite.q(tc.in); got != tc.in {
			t.Errorf("sqlite %q: %q, want it unchanged", tc.in, got)
		}
	}
}

// TestNewerSchemaRefused: a database migrated by a newer vaebm is refused
// by Open and OpenReadOnly with ErrNewerSchema, and its runs are kept.
func TestNewerSchemaRefused(t *testing.T) {
	target := testTarget(t)
	db, err := Open(target)
	if err != nil {
		t.Fatal(err)
	}
	r, err := db.StartRun(context.Background(), RunSpec{Experiment: "toy", Name: "kept", Config: "{}"})
	if err != nil {
		t.Fatal(err)
	}
	r.Log("loss", 1, 2.5)
	if err := r.Finish(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	setSchemaVersionRaw(t, target, len(migrationNames())+1)
	for name, open := range map[string]func(string) (*DB, error){"Open": Open, "OpenReadOnly": OpenReadOnly} {
		_, err := open(target)
		if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), "newer vaebm") {
			t.Errorf("%s of a newer schema: %v, want ErrNewerSchema", name, err)
		}
	}
	// Put the version back: the run is all there.
	setSchemaVersionRaw(t, target, len(migrationNames()))
	db, err = Open(target)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.Get(r.ID)
	if err != nil || got.Name != "kept" || got.Metrics["loss"] != 2.5 {
		t.Fatalf("after the refusal: %+v, %v", got, err)
	}
}

// setSchemaVersionRaw stamps a schema version on a database without
// opening it as a tracker, as a newer vaebm would have.
func setSchemaVersionRaw(t *testing.T, target string, v int) {
	t.Helper()
	d := &DB{backend: sqliteBackend}
	driver, dsn := "sqlite3", target
	if IsServerURL(target) {
		d.backend, driver = postgresBackend, "pgx"
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	d.db = raw
	tx, err := raw.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.setSchemaVersion(tx, v); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// TestPostgresBadInput: a malformed URL and an unreachable server each
// give one message saying which, naming the server but not the password.
func TestPostgresBadInput(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"postgres://u:secret@[::1:5432/db", "not a usable PostgreSQL URL"},
		{"postgres://u:secret@/db?host=/nonexistent-vaebm-socket-dir&connect_timeout=2", "cannot reach the PostgreSQL database postgres://u@/nonexistent-vaebm-socket-dir:5432/db"},
	} {
		for name, open := range map[string]func(string) (*DB, error){"Open": Open, "OpenReadOnly": OpenReadOnly} {
			_, err := open(tc.url)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s(%q): %v, want an error with %q", name, tc.url, err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("%s(%q): the message shows the password: %v", name, tc.url, err)
			}
		}
	}
}
