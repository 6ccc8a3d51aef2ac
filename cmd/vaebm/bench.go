package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/vaebm/vaebm/bench"
)

// cmdBench times the reference workloads and prints one JSON line each.
func cmdBench(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	steps := fs.Int("steps", 0, "timed steps (0: the workload's default)")
	warmup := fs.Int("warmup", 3, "untimed steps first")
	seed := fs.Uint64("seed", 0, "seed of weights and inputs")
	// Workload names may come before, between or after the flags.
	var flags, names []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			names = append(names, a)
			continue
		}
		flags = append(flags, a)
		if !strings.Contains(a, "=") && i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	if err := fs.Parse(flags); err != nil {
		return usageError{fmt.Errorf("bench: %w", err)}
	}
	if len(names) == 0 || (len(names) == 1 && names[0] == "all") {
		names = nil
		for _, w := range bench.Workloads {
			names = append(names, w.Name)
		}
	}
	for _, n := range names {
		w, err := bench.Lookup(n)
		if err != nil {
			return usageError{err}
		}
		r, err := bench.Run(w, *steps, *warmup, *seed)
		if err != nil {
			return err
		}
		if err := r.Print(os.Stdout); err != nil {
			return err
		}
	}
	return nil
}
