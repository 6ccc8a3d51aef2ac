package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/pipeline"
)

// cmdRun runs an experiment file, or with --resume continues a crashed run.
// Flags may come before the file; key=value overrides follow it.
func cmdRun(ctx context.Context, g globals, args []string) error {
	var force bool
	var resume int64
	var rest []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--force":
			force = true
		case a == "--resume" || strings.HasPrefix(a, "--resume="):
			v, ok := strings.CutPrefix(a, "--resume=")
			if !ok {
				if i+1 == len(args) {
					return usageError{fmt.Errorf("--resume needs a run ID")}
				}
				i++
				v = args[i]
			}
			id, err := parseRunID(v)
			if err != nil {
				return usageError{fmt.Errorf("--resume: %v", err)}
			}
			resume = id
		case strings.HasPrefix(a, "-"):
			return usageError{fmt.Errorf("run: unknown flag %q", a)}
		default:
			rest = append(rest, a)
		}
	}
	db, err := g.openDB()
	if err != nil {
		return err
	}
	defer db.Close()
	opts := g.options(db, "vaebm run "+strings.Join(args, " "))
	opts.Force = force
	if resume != 0 {
		if len(rest) > 0 {
			return usageError{fmt.Errorf("--resume continues a recorded run with its stored config; drop %v", rest)}
		}
		if err := pipeline.Resume(ctx, resume, opts); err != nil {
			return fmt.Errorf("%w\n(what was recorded is kept: vaebm runs show %d)", err, resume)
		}
		fmt.Fprintf(os.Stderr, "run %d finished: vaebm runs show %d\n", resume, resume)
		// The table takes the overrides of the command that started the
		// run, as it did after that command, so that its rows resolve to
		// the resumed run's config.
		if ri, err := db.Get(resume); err == nil {
			if exp, err := config.Parse([]byte(ri.Config), "stored config"); err == nil && exp.Table != "" {
				return writeExperimentTable(g, exp.Table, recordedOverrides(ri.Command))
			}
		}
		return nil
	}
	if len(rest) < 1 {
		return usageError{fmt.Errorf("run needs an experiment file (or --resume RUN_ID)")}
	}
	exp, err := pipeline.Load(rest[0], rest[1:])
	if err != nil {
		return err
	}
	ids, err := pipeline.Run(ctx, exp, opts)
	if err != nil {
		if len(ids) > 0 {
			return fmt.Errorf("%w\n(what was recorded is kept: vaebm runs show %d)", err, ids[len(ids)-1])
		}
		return err
	}
	for _, id := range ids {
		fmt.Fprintf(os.Stderr, "run %d finished: vaebm runs show %d\n", id, id)
	}
	if exp.Table != "" {
		return writeExperimentTable(g, exp.Table, rest[1:])
	}
	return nil
}

// recordedOverrides returns the key=value overrides of a run's recorded
// command ("vaebm run [flags] FILE key=value …", as cmdRun records it), or
// nil for a run another command started (ablate's cells have their table).
func recordedOverrides(command string) []string {
	f := strings.Fields(command)
	if len(f) < 3 || f[0] != "vaebm" || f[1] != "run" {
		return nil
	}
	var out []string
	file := false
	for _, a := range f[2:] {
		switch {
		case strings.HasPrefix(a, "-"): // --force
		case !file:
			file = true
		case strings.Contains(a, "="):
			out = append(out, a)
		}
	}
	return out
}
