package vae

import (
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"

	"github.com/vaebm/vaebm/core/data"
	"github.com/vaebm/vaebm/core/nn"
)

// evalBatch is the row count of the forward-only evaluation programs.
const evalBatch = 4096

// Evaluator runs the encoder and decoder forward on arbitrary numbers of rows.
type Evaluator struct {
	v        *GaussianVAE
	enc, dec *nn.BatchFn
}

// NewEvaluator compiles forward-only encoder and decoder programs.
func (v *GaussianVAE) NewEvaluator() (*Evaluator, error) {
	enc, err := nn.NewBatchFn(evalBatch, v.XDim, func(b *nn.Builder, x *G.Node) ([]*G.Node, error) {
		m, ls, err := v.Encode(b, x)
		return []*G.Node{m, ls}, err
	})
	if err != nil {
		return nil, err
	}
	dec, err := nn.NewBatchFn(evalBatch, v.ZDim, func(b *nn.Builder, z *G.Node) ([]*G.Node, error) {
		m, ls, err := v.Decode(b, z)
		return []*G.Node{m, ls}, err
	})
	if err != nil {
		return nil, err
	}
	return &Evaluator{v: v, enc: enc, dec: dec}, nil
}

// Decode returns p(x|z)'s means and log standard deviations for rows of z.
func (e *Evaluator) Decode(z []float32) (mu, logStd []float32, err error) {
	out, err := e.dec.Apply(z)
	if err != nil {
		return nil, nil, err
	}
	return out[0], out[1], nil
}

// IWAE estimates log p(x) for each point with the importance-weighted bound
// of Burda et al. (2015), log (1/K) Σ_k p(x, z_k)/q(z_k|x) with z_k ~ q(z|x).
// It also returns the same bound from only the first K/10 samples, whose gap
// to the full bound shows how far the estimate is from converged in K.
func (e *Evaluator) IWAE(rng *rand.Rand, x []float32, k int) (full, tenth []float64, err error) {
	v := e.v
	if k < 1 {
		return nil, nil, fmt.Errorf("iwae: K = %d samples", k)
	}
	n := len(x) / v.XDim
	qo, err := e.enc.Apply(x)
	if err != nil {
		return nil, nil, err
	}
	qm, qls := qo[0], qo[1]
	full, tenth = make([]float64, n), make([]float64, n)
	k10 := max(1, k/10)
	chunk := max(1, evalBatch*4/k)
	logw := make([]float64, chunk*k)
	z := make([]float32, chunk*k*v.ZDim)
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		rows := (hi - lo) * k
		for p := lo; p < hi; p++ {
			for s := 0; s < k; s++ {
				r := (p-lo)*k + s
				var lq, lp float64
				for d := 0; d < v.ZDim; d++ {
					m, ls := float64(qm[p*v.ZDim+d]), float64(qls[p*v.ZDim+d])
					eps := rng.NormFloat64()
					zz := m + math.Exp(ls)*eps
					z[r*v.ZDim+d] = float32(zz)
					lq += -halfLog2Pi - ls - 0.5*eps*eps
					lp += -halfLog2Pi - 0.5*zz*zz
				}
				logw[r] = lp - lq
			}
		}
		mu, ls, err := e.Decode(z[:rows*v.ZDim])
		if err != nil {
			return nil, nil, err
		}
		for r := 0; r < rows; r++ {
			p := lo + r/k
			for d := 0; d < v.XDim; d++ {
				logw[r] += LogNormal(float64(x[p*v.XDim+d]), float64(mu[r*v.XDim+d]), float64(ls[r*v.XDim+d]))
			}
		}
		for p := lo; p < hi; p++ {
			w := logw[(p-lo)*k : (p-lo+1)*k]
			full[p] = data.LogSumExp(w) - math.Log(float64(k))
			tenth[p] = data.LogSumExp(w[:k10]) - math.Log(float64(k10))
		}
	}
	return full, tenth, nil
}
