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

	G "gorgonia.org/gorgonia"

	"github.com/vaebm/vaebm/core/nn"
	"github.com/vaebm/vaebm/core/sampler"
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

// fillNormal writes standard normal noise into every group of eps.
func fillNormal(rng *RNG, eps [][]float32) {
	for _, e := range eps {
		for i := range e {
			e[i] = float32(rng.NormFloat64())
		}
	}
}

// cosineRate is a learning rate that decays from lr to 0 on a half cosine
// over steps (App. F's schedule for the WGAN generator and App. C's decoder).
func cosineRate(lr float64, step, steps int) float64 {
	return lr * 0.5 * (1 + math.Cos(math.Pi*float64(step-1)/float64(steps)))
}

// generatorInput adds batch noise inputs for gen to b (named prefix_epsK)
// and x = T(ε); it returns x and the inputs' buffers.
func generatorInput(b *nn.Builder, gen sampler.Generator, batch int, prefix string) (*G.Node, [][]float32, error) {
	var nodes []*G.Node
	var bufs [][]float32
	for i, d := range gen.EpsDims() {
		n, t := b.Input(fmt.Sprintf("%s_eps%d", prefix, i), batch, d)
		nodes = append(nodes, n)
		bufs = append(bufs, t.Data().([]float32))
	}
	x, _, err := gen.Transform(b, nodes)
	return x, bufs, err
}

// advanceSpectralNorms takes one power-iteration step of every spectral
// normalisation in net, if it has any.
func advanceSpectralNorms(net any) {
	if sn, ok := net.(SpectralNormed); ok {
		for _, s := range sn.SpectralNorms() {
			s.Iterate(1)
		}
	}
}

// GeneratorParams returns those of all that gen's T_θ reads, buffers
// excepted: the decoder's parameters of a VAE, which App. C's decoder copy
// and the WGAN generator train.
func GeneratorParams(gen sampler.Generator, all []*nn.Param) ([]*nn.Param, error) {
	b := nn.NewBuilder()
	if _, _, err := generatorInput(b, gen, 1, "uses"); err != nil {
		return nil, err
	}
	var out []*nn.Param
	for _, p := range all {
		if b.Uses(p) && !p.Buffer {
			out = append(out, p)
		}
	}
	return out, nil
}
