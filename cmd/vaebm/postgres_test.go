package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vaebm/vaebm/internal/servertest"
	"github.com/vaebm/vaebm/tracker"
)

// TestPostgresBackend: with --db naming a PostgreSQL database, a run is
// recorded there (nothing in the output folder's SQLite file), a SIGKILLed
// run reads as crashed and resumes, and runs, table, check and the viewer
// read it as they read SQLite.
func TestPostgresBackend(t *testing.T) {
	dbURL := servertest.PostgresDB(t)
	out := t.TempDir()
	overrides := []string{"scale=smoke", "ebm.steps=800", "ebm.checkpoint_every=25", "ebm.log_every=5"}
	exp := append([]string{"--out", out, "--db", dbURL, "run", "../../experiments/toy-25gaussians.yaml"}, overrides...)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childArgs+"="+strings.Join(exp, "\n"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(out, "runs", "1", "ebm.state")
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(2 * time.Millisecond) {
		if _, err := os.Stat(state); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no EBM checkpoint %s after 2 minutes", state)
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	if _, err := os.Stat(filepath.Join(out, "vaebm.db")); err == nil {
		t.Error("a run with --db postgres://… wrote out/vaebm.db too")
	}

	db, err := tracker.Open(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	r, err := db.Get(1)
	db.Close()
	if err != nil || r.Status != tracker.Crashed {
		t.Fatalf("killed run on PostgreSQL: status %q, %v; want %q", r.Status, err, tracker.Crashed)
	}
	if code := run(context.Background(), []string{"--out", out, "--db", dbURL, "run", "--resume", "1"}); code != exitOK {
		t.Fatalf("resume exited %d", code)
	}

	// The same URL from $VAEBM_DB.
	t.Setenv("VAEBM_DB", dbURL)
	listedJSON := stdout(t, func() {
		if code := run(context.Background(), []string{"--out", out, "runs", "--format", "json"}); code != exitOK {
			t.Errorf("runs exited %d", code)
		}
	})
	var listed []struct {
		ID      int64
		Status  string
		Metrics map[string]float64
	}
	if err := json.Unmarshal([]byte(listedJSON), &listed); err != nil {
		t.Fatalf("runs --format json: %v\n%s", err, listedJSON)
	}
	if len(listed) != 1 || listed[0].Status != tracker.Finished || listed[0].Metrics["eval/vaebm_ll"] == 0 {
		t.Fatalf("runs --format json on PostgreSQL: %s", listedJSON)
	}

	table := stdout(t, func() {
		if code := run(context.Background(), append([]string{"--out", out, "table", "toy-25gaussians"}, overrides...)); code != exitOK {
			t.Errorf("table exited %d", code)
		}
	})
	if ll := fmt.Sprintf("%.2f", listed[0].Metrics["eval/vaebm_ll"]); !strings.Contains(table, ll) {
		t.Errorf("the toy table does not show the run's VAEBM log-likelihood %s:\n%s", ll, table)
	}
	// check exits 1 when a smoke run misses the paper's targets: what
	// matters here is that it read the run (no "missing" cell for VAEBM).
	checked := stdout(t, func() {
		if code := run(context.Background(), append([]string{"--out", out, "check", "toy-25gaussians"}, overrides...)); code > exitFailure {
			t.Errorf("check exited %d", code)
		}
	})
	if !strings.Contains(checked, "VAEBM") || strings.Contains(checked, "VAEBM: missing") {
		t.Errorf("check on PostgreSQL:\n%s", checked)
	}

	s, vdb, err := newViewer(globals{out: out, dbPath: dbURL}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer vdb.Close()
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/run/1", nil))
	if body := rec.Body.String(); rec.Code != 200 || !strings.Contains(body, "toy-25gaussians") {
		t.Fatalf("viewer /run/1 on PostgreSQL: %d\n%.500s", rec.Code, body)
	}
}

// TestPostgresBadURL: a wrong database URL ends in one message that says
// so, exit 1, and no stack trace.
func TestPostgresBadURL(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"postgres://nobody@/none?host=/nonexistent-vaebm-dir&connect_timeout=2", "cannot reach the PostgreSQL database"},
		{"postgres://u@[::1/db", "not a usable PostgreSQL URL"},
	} {
		stderr := captureStderr(t, func() {
			if code := run(context.Background(), []string{"--db", tc.url, "runs"}); code != exitFailure {
				t.Errorf("%s: exit %d, want %d", tc.url, code, exitFailure)
			}
		})
		if !strings.Contains(stderr, tc.want) || strings.Contains(stderr, "goroutine") {
			t.Errorf("%s: stderr %q, want one message with %q", tc.url, stderr, tc.want)
		}
	}
}
