// Package servertest hands tests the throwaway servers that scripts/test.sh
// starts for `make test`: a PostgreSQL server ($VAEBM_TEST_POSTGRES, the
// URL scripts/postgres.sh prints) and a one-node Slurm cluster
// ($SLURM_CONF, from scripts/slurm.sh). Without them a test that needs one
// is skipped, unless $VAEBM_REQUIRE_SERVERS says they must be there (as
// `make test` does), when it fails.
package servertest

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// PostgresEnv holds the URL of the PostgreSQL server tests may use.
const PostgresEnv = "VAEBM_TEST_POSTGRES"

// HavePostgres says whether a PostgreSQL server is there for tests.
func HavePostgres() bool { return os.Getenv(PostgresEnv) != "" }

func need(t testing.TB, env, what, how string) {
	t.Helper()
	if os.Getenv(env) != "" {
		return
	}
	if os.Getenv("VAEBM_REQUIRE_SERVERS") != "" {
		t.Fatalf("VAEBM_REQUIRE_SERVERS is set but %s is not", env)
	}
	t.Skipf("no %s: set %s (%s prints one)", what, env, how)
}

var databases atomic.Int64

// PostgresDB returns the URL of a new, empty database on the server of
// $VAEBM_TEST_POSTGRES, dropped when the test ends.
func PostgresDB(t testing.TB) string {
	t.Helper()
	need(t, PostgresEnv, "PostgreSQL server", "scripts/postgres.sh start DIR")
	base := os.Getenv(PostgresEnv)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("%s=%s: %v", PostgresEnv, base, err)
	}
	defer admin.Close()
	name := fmt.Sprintf("vaebm_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1_000_000, databases.Add(1))
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
		t.Fatalf("%s=%s: %v", PostgresEnv, base, err)
	}
	u.Path = "/" + name
	return u.String()
}

// NeedSlurm returns when $SLURM_CONF names a cluster for the test.
func NeedSlurm(t testing.TB) {
	t.Helper()
	need(t, "SLURM_CONF", "Slurm cluster", "scripts/slurm.sh start DIR")
}
