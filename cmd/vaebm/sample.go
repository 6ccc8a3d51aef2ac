package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"

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
	var so pipeline.SampleOptions
	n := fs.Int("n", 1000, "number of samples")
	model := fs.String("model", "", "a model the run's method reports: vae, vaebm, ebm_x, wgan_nvae or vaebm_kl (default: the method's own, its last)")
	out := fs.String("out", "", "output file, or folder for --format png (default OUT/samples/runID-MODEL-N.csv for 2-D data, "+
		"runID-MODEL-N.idx|.npy or runID-MODEL-N/ for images)")
	fs.StringVar(&so.Format, "format", "", "images: idx (big-endian float32 IDX, N×C×H×W, the default), npy (NumPy float32 N×C×H×W in [0, 1]) "+
		"or png (a folder of 8-bit RGB PNGs, one per sample, for pytorch-fid and TTUR)")
	fs.IntVar(&so.Steps, "steps", 0, "Langevin steps per chain (default: the run's langevin.test_steps)")
	fs.Float64Var(&so.StepSize, "step-size", 0, "Langevin step size (default: the run's langevin.step_size)")
	fs.Float64Var(&so.Temperature, "temperature", 0, "scale of ε_z at each VAE sample and chain start (default: the run's eval.temperature)")
	fs.StringVar(&so.Correction, "correction", "", "none or mala: the test chains' Metropolis correction (default: the run's langevin.correction); "+
		"mala prints its acceptance rate")
	fs.StringVar(&so.PNG, "png", "", "also draw the samples in this PNG file: a scatter plot for 2-D data; "+
		"for images a grid of the first 400 (images always get one, default: the output file with .png)")
	score := fs.Bool("score", false, "images: also print the run's evaluation of the samples with the judges it was evaluated with "+
		"(StackedMNIST: modes and KL; Fashion-MNIST, CIFAR-10: classifier-FID and IS)")
	modes := fs.Bool("modes", false, "the same as --score (StackedMNIST's mode count and KL)")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{err}
	}
	if *n < 1 {
		return usageError{fmt.Errorf("--n must be ≥ 1")}
	}
	if so.Format != "" && !slices.Contains(pipeline.SampleFormats, so.Format) {
		return usageError{fmt.Errorf("--format %q: want one of %v", so.Format, pipeline.SampleFormats)}
	}
	db, err := g.openDB()
	if err != nil {
		return err
	}
	defer db.Close()
	if *modes || *score {
		so.Score = os.Stdout
	}
	path, err := pipeline.Sample(ctx, db, g.out, id, *n, *model, *out, so)
	if err != nil {
		return err
	}
	what := "samples"
	if *model != "" {
		what = *model + " samples"
	}
	fmt.Fprintf(os.Stderr, "wrote %d %s to %s\n", *n, what, path)
	return nil
}
