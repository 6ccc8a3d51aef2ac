package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/vaebm/vaebm/pipeline"
)

// cmdClassifier trains (or finds in the stage cache) the MNIST mode classifier.
func cmdClassifier(ctx context.Context, g globals, args []string) error {
	fs := flag.NewFlagSet("classifier", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg := pipeline.DefaultClassifier
	fs.IntVar(&cfg.Steps, "steps", cfg.Steps, "training steps")
	fs.IntVar(&cfg.BatchSize, "batch", cfg.BatchSize, "batch size")
	fs.Float64Var(&cfg.LR, "lr", cfg.LR, "Adam learning rate")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed")
	force := fs.Bool("force", false, "retrain even if a cached classifier exists")
	if err := fs.Parse(args); err != nil {
		return usageError{fmt.Errorf("classifier: %w", err)}
	}
	db, err := g.openDB()
	if err != nil {
		return err
	}
	defer db.Close()
	_, acc, id, err := pipeline.Classifier(ctx, pipeline.Options{OutDir: g.out, DB: db, Log: os.Stderr, Force: *force,
		Command: "vaebm classifier " + strings.Join(args, " ")}, cfg)
	if err != nil {
		return err
	}
	fmt.Printf("MNIST classifier (run %d): test accuracy %.4f\n", id, acc)
	return nil
}
