package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/pipeline"
)

func cmdRun(ctx context.Context, g globals, args []string) error {
	if len(args) < 1 || strings.HasPrefix(args[0], "-") {
		return usageError{fmt.Errorf("run needs an experiment file")}
	}
	exp, err := config.Load(args[0], args[1:])
	if err != nil {
		return err
	}
	db, err := g.openDB()
	if err != nil {
		return err
	}
	defer db.Close()
	id, err := pipeline.Run(ctx, exp, pipeline.Options{
		OutDir: g.out, DB: db, Log: os.Stderr, Command: "vaebm run " + strings.Join(args, " "),
	})
	if err != nil {
		if id != 0 {
			return fmt.Errorf("%w\n(what was recorded is kept: vaebm runs show %d)", err, id)
		}
		return err
	}
	fmt.Fprintf(os.Stderr, "run %d finished: vaebm runs show %d\n", id, id)
	return nil
}
