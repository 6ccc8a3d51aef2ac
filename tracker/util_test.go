package tracker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vaebm/vaebm/internal/servertest"
)

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// testTarget returns where a test's tracker lives: a SQLite file in a
// temporary folder or, when the PostgreSQL server of `make test` is there
// ($VAEBM_TEST_POSTGRES), a new database on it. `make test` runs this
// package once each way.
func testTarget(t *testing.T) string {
	t.Helper()
	if !servertest.HavePostgres() {
		return filepath.Join(t.TempDir(), "runs.db")
	}
	return servertest.PostgresDB(t)
}

// sqliteOnly skips a test about SQLite files in the PostgreSQL pass, which
// the SQLite pass of the same suite runs.
func sqliteOnly(t *testing.T) {
	t.Helper()
	if servertest.HavePostgres() {
		t.Skipf("a test of SQLite files; %s is set, so this pass is PostgreSQL's", servertest.PostgresEnv)
	}
}
