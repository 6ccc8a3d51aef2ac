package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/vaebm/vaebm/pipeline"
)

func osStdout() *os.File { return os.Stdout }

func cmdSample(ctx context.Context, g globals, args []string) error {
	if len(args) < 1 {
		return usageError{fmt.Errorf("sample needs a run ID")}
	}
	id, err := parseRunID(args[0])
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("sample", flag.ContinueOnError)
	n := fs.Int("n", 1000, "number of samples")
	model := fs.String("model", "vaebm", "vaebm or vae")
	out := fs.String("out", "", "output file (default OUT/samples/runID-MODEL-N.csv for 2-D data, .idx for images: "+
		"big-endian float32 IDX of shape N×3×28×28, see the README)")
	var so pipeline.SampleOptions
	fs.IntVar(&so.Steps, "steps", 0, "Langevin steps per chain (default: the run's langevin.test_steps)")
	fs.Float64Var(&so.StepSize, "step-size", 0, "Langevin step size (default: the run's langevin.step_size)")
	fs.Float64Var(&so.Temperature, "temperature", 0, "scale of ε_z at each VAE sample and chain start (default: the run's eval.temperature)")
	fs.StringVar(&so.PNG, "png", "", "also draw the samples in this PNG file: a scatter plot for 2-D data; "+
		"for images a grid of the first 400 (images always get one, default: the output file with .png)")
	modes := fs.Bool("modes", false, "images: also print the mode count and KL of the samples (PacGAN protocol, the run's classifier)")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{err}
	}
	if *n < 1 {
		return usageError{fmt.Errorf("--n must be ≥ 1")}
	}
	db, err := g.openDB()
	if err != nil {
		return err
	}
	defer db.Close()
	if *modes {
		so.Modes = os.Stdout
	}
	path, err := pipeline.Sample(ctx, db, g.out, id, *n, *model, *out, so)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %d %s samples to %s\n", *n, *model, path)
	return nil
}
