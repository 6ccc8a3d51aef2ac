package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vaebm/vaebm/internal/servertest"
	"github.com/vaebm/vaebm/tracker"
)

// TestSharedStages: two jobs started together on one output folder and one
// database, needing the same VAE and energy, train each stage once: one
// trains it, the other waits for it and reuses it. On SQLite and, when a
// server is there, on PostgreSQL.
func TestSharedStages(t *testing.T) {
	backends := map[string]func(t *testing.T, out string) string{
		"sqlite":   func(_ *testing.T, out string) string { return filepath.Join(out, "vaebm.db") },
		"postgres": func(t *testing.T, _ string) string { return servertest.PostgresDB(t) },
	}
	for name, target := range backends {
		t.Run(name, func(t *testing.T) {
			out := t.TempDir()
			db := target(t, out)
			// A VAE stage of about 2 s, so that the second job starts while
			// the first trains it, whatever the machine's start-up times.
			args := []string{"--out", out, "--db", db, "run", "../../experiments/toy-25gaussians.yaml", "scale=smoke", "vae.steps=3000"}
			var cmds []*exec.Cmd
			var logs []*bytes.Buffer
			for range 2 {
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(), childArgs+"="+strings.Join(args, "\n"))
				var log bytes.Buffer
				cmd.Stdout, cmd.Stderr = &log, &log
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				cmds, logs = append(cmds, cmd), append(logs, &log)
			}
			for i, cmd := range cmds {
				if err := cmd.Wait(); err != nil {
					t.Fatalf("job %d: %v\n%s", i, err, logs[i])
				}
			}
			d, err := tracker.Open(db)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			runs, err := d.Query(tracker.Filter{Experiment: "toy-25gaussians", Status: tracker.Finished})
			if err != nil || len(runs) != 2 {
				t.Fatalf("finished runs: %d, %v", len(runs), err)
			}
			for _, stage := range []string{"vae", "ebm"} {
				trained := 0
				for _, r := range runs {
					full, err := d.Get(r.ID)
					if err != nil {
						t.Fatal(err)
					}
					cached, ok := full.Metrics["stage/"+stage+"_cached"]
					if !ok {
						t.Fatalf("run %d has no stage/%s_cached", r.ID, stage)
					}
					if cached == 0 {
						trained++
					}
				}
				if trained != 1 {
					t.Errorf("stage %s trained by %d of the two jobs, want 1\njob 0:\n%s\njob 1:\n%s", stage, trained, logs[0], logs[1])
				}
			}
			if !strings.Contains(logs[0].String()+logs[1].String(), "waiting for it") {
				t.Errorf("neither job said it waited for the other's stage")
			}
		})
	}
}
