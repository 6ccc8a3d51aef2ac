// Package train holds the trainers: stage 1 fits the VAE on the ELBO (Eq. 3);
// stage 2 fits only the energy on Eq. 7 with negatives drawn by Langevin
// dynamics in (ε_x, ε_z) space (Eq. 9). Trainers are plain functions over the
// sampler's Generator and Energy interfaces, so toy MLPs and conv nets share them.
// Both, the WGAN baseline's critic and generator, and the classifiers of
// core/classifier run their steps through one Loop of one or more parts
// (prepare, run, finite check, spectral penalty, optimiser step), which
// also logs and checkpoints.
package train

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Logger records a metric point; the tracker implements it.
type Logger interface {
	Log(key string, step int, value float64)
}

// Progress is told how far a stage has come; msg is a short status.
type Progress func(stage string, step, total int, msg string)

// NonFiniteError reports a loss or parameter that became NaN or infinite.
type NonFiniteError struct {
	Stage, What string
	Step        int
}

func (e *NonFiniteError) Error() string {
	return fmt.Sprintf("%s: %s became non-finite (NaN or Inf) at step %d; lower the learning rate or step size", e.Stage, e.What, e.Step)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// minibatch copies n random rows of dim values from src into dst.
func minibatch(rng *rand.Rand, src, dst []float32, dim int) {
	rows := len(src) / dim
	for i := 0; i < len(dst)/dim; i++ {
		r := rng.IntN(rows)
		copy(dst[i*dim:(i+1)*dim], src[r*dim:(r+1)*dim])
	}
}

// FailedStep makes the step available to the tracker, which stores it with the failed run.
func (e *NonFiniteError) FailedStep() int { return e.Step }
