package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/vaebm/vaebm/pipeline"
)

// cmdClassifier trains (or finds in the stage cache) a judge: the MNIST
// mode classifier, or with --data one of a stand-in's feature nets.
func cmdClassifier(ctx context.Context, g globals, args []string) error {
	fs := flag.NewFlagSet("classifier", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	set := fs.String("data", "mnist", "mnist (the StackedMNIST mode classifier), fashion-mnist or cifar10 (a feature net)")
	second := fs.Bool("second", false, "the second judge (another architecture and seed): a stand-in's second feature net, or StackedMNIST's second mode classifier")
	steps := fs.Int("steps", 0, "training steps")
	batch := fs.Int("batch", 0, "batch size")
	lr := fs.Float64("lr", 0, "Adam learning rate")
	seed := fs.Uint64("seed", 0, "seed")
	dir := fs.String("dir", "", "the dataset's folder (default: where the experiments look)")
	force := fs.Bool("force", false, "retrain even if a cached classifier exists")
	if err := fs.Parse(args); err != nil {
		return usageError{fmt.Errorf("classifier: %w", err)}
	}
	cfg := pipeline.DefaultClassifier
	switch nets, ok := pipeline.FeatureNets[*set]; {
	case ok:
		cfg = nets[0]
		if *second {
			cfg = nets[1]
		}
	case *set != "mnist":
		return usageError{fmt.Errorf("classifier: --data %q: want mnist, fashion-mnist or cifar10", *set)}
	case *second:
		cfg = pipeline.ModeClassifiers[1]
	}
	// Flags given override the judge's declared settings.
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "steps":
			cfg.Steps = *steps
		case "batch":
			cfg.BatchSize = *batch
		case "lr":
			cfg.LR = *lr
		case "seed":
			cfg.Seed = *seed
		}
	})
	if cfg.Steps < 1 || cfg.BatchSize < 1 || !(cfg.LR > 0) {
		return usageError{fmt.Errorf("classifier: --steps, --batch and --lr must be > 0")}
	}
	cfg.Dir = *dir
	db, err := g.openDB()
	if err != nil {
		return err
	}
	defer db.Close()
	opts := g.options(db, "vaebm classifier "+strings.Join(args, " "))
	opts.Force = *force
	_, acc, id, err := pipeline.Classifier(ctx, opts, cfg)
	if err != nil {
		return err
	}
	fmt.Printf("%s classifier %s, seed %d (run %d): test accuracy %.4f\n", cfg.Data, cfg.Arch, cfg.Seed, id, acc)
	return nil
}
