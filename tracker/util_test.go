package tracker

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// postgresEnv holds the URL of a PostgreSQL server (scripts/postgres.sh
// start prints one). With it set, the tests that take their database from
// testTarget run against a fresh database on that server instead of a
// SQLite file: `make test` runs this package once each way.
const postgresEnv = "VAEBM_TEST_POSTGRES"

var testDBs atomic.Int64

// testTarget returns where a test's tracker lives: a SQLite file in a
// temporary folder, or a new, empty database on the server of
// $VAEBM_TEST_POSTGRES, dropped when the test ends.
func testTarget(t *testing.T) string {
	t.Helper()
	base := os.Getenv(postgresEnv)
	if base == "" {
		return filepath.Join(t.TempDir(), "runs.db")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("%s=%s: %v", postgresEnv, base, err)
	}
	defer admin.Close()
	name := fmt.Sprintf("vaebm_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1_000_000, testDBs.Add(1))
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("creating database %s on %s: %v", name, base, err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer admin.Close()
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("dropping database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s=%s: %v", postgresEnv, base, err)
	}
	u.Path = "/" + name
	return u.String()
}

// sqliteOnly skips a test about SQLite files in the PostgreSQL pass, which
// the SQLite pass of the same suite runs.
func sqliteOnly(t *testing.T) {
	t.Helper()
	if os.Getenv(postgresEnv) != "" {
		t.Skipf("a test of SQLite files; %s is set, so this pass is PostgreSQL's", postgresEnv)
	}
}
