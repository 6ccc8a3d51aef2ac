package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
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
	export := fs.String("export", "", "write each twin workload's check case (weights, inputs, our outputs) to this folder instead of timing")
	profile := fs.Bool("profile", false, "print where each step's time goes, op by op, instead of the JSON line")
	// Workload names may come before, between or after the flags.
	var flags, names []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			names = append(names, a)
			continue
		}
		flags = append(flags, a)
		if f := fs.Lookup(strings.TrimLeft(a, "-")); f != nil {
			if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
				continue
			}
		}
		if !strings.Contains(a, "=") && i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	if err := fs.Parse(flags); err != nil {
		return usageError{fmt.Errorf("bench: %w", err)}
	}
	if len(names) == 1 && names[0] == "peak" {
		raw, err := json.Marshal(bench.MeasurePeak(5))
		if err != nil {
			return err
		}
		_, err = fmt.Println(string(raw))
		return err
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
		switch {
		case *export != "":
			if w.Twin == nil {
				continue // torch_ref.py's workloads need no case
			}
			c, err := w.Twin(rand.New(rand.NewPCG(*seed, 1)))
			if err != nil {
				return fmt.Errorf("bench %s: %w", n, err)
			}
			if err := c.Write(*export); err != nil {
				return fmt.Errorf("bench %s: writing the twin case: %w", n, err)
			}
			continue
		case *profile:
			if err := bench.Profile(os.Stdout, w, *steps, *warmup, *seed); err != nil {
				return err
			}
			continue
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
