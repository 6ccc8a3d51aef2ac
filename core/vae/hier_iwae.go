package vae

import (
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"

	"github.com/vaebm/vaebm/core/data"
	"github.com/vaebm/vaebm/core/nn"
)

// LogWeight builds, for rows of x (n, C·H·W) and of the standard-normal
// noise of every latent group (eps[l] (n, EpsDims()[l]), the last, ε_x,
// excluded), the importance log-weight of each row,
//
//	log p(x|z) + Σ_l [log p(z_l | z_<l) − log q(z_l | x, z_<l)],
//
// with z_l = μ_q + σ_q·ε_l drawn from the posterior: one term of the IWAE
// bound. Since (z_l − μ_q)/σ_q is ε_l itself, log q needs no subtraction.
func (v *HierVAE) LogWeight(b *nn.Builder, x *G.Node, eps []*G.Node) (*G.Node, error) {
	n := x.Shape()[0]
	must := G.Must
	img, half, quarter, err := v.encode(b, x)
	if err != nil {
		return nil, err
	}
	mu, ls, terms, err := v.topDown(b, n, eps, half, quarter)
	if err != nil {
		return nil, err
	}
	rowSum := func(x *G.Node) *G.Node { return must(G.Sum(flat(x), 1)) }
	// log p(x|z) = −Σ ½log2π + log σ + ½((x−μ)/σ)²
	lw := must(G.Neg(gaussianNLL(b, rowSum, ls, standardized(img, mu, ls))))
	consts := -halfLog2Pi * float64(v.XDim())
	for l, t := range terms {
		e := must(G.Reshape(eps[l], t.z.Shape()))
		// log q = Σ −½log2π − log σ_q − ½ε²
		lq := must(G.Neg(gaussianNLL(b, rowSum, t.qLogSd, e)))
		// log p = Σ −½log2π − log σ_p − ½((z−μ_p)/σ_p)², against N(0, I) without a prior net
		var nll *G.Node
		if t.pMu == nil {
			nll = gaussianNLL(b, rowSum, nil, t.z)
		} else {
			nll = gaussianNLL(b, rowSum, t.pLogSd, standardized(t.z, t.pMu, t.pLogSd))
		}
		lp := must(G.Neg(nll))
		lw = must(G.Add(lw, must(G.Sub(lp, lq)))) // the ½log2π of p and q cancel
	}
	return must(G.Add(lw, b.Scalar(consts))), nil
}

// HierEvaluator runs LogWeight forward on batches.
type HierEvaluator struct {
	v     *HierVAE
	fn    *nn.BatchFn
	dims  []int // the groups' noise sizes
	width int   // of an input row: the image, then each group's noise
}

// hierEvalBatch is the row count of the compiled program.
const hierEvalBatch = 256

// NewEvaluator compiles the importance log-weight for batches of rows.
func (v *HierVAE) NewEvaluator() (*HierEvaluator, error) {
	dims := v.EpsDims()
	dims = dims[:len(dims)-1]
	width := v.XDim()
	for _, d := range dims {
		width += d
	}
	fn, err := nn.NewBatchFn(hierEvalBatch, width, func(b *nn.Builder, in *G.Node) ([]*G.Node, error) {
		x, err := G.Slice(in, nil, G.S(0, v.XDim()))
		if err != nil {
			return nil, err
		}
		var eps []*G.Node
		off := v.XDim()
		for _, d := range dims {
			e, err := G.Slice(in, nil, G.S(off, off+d))
			if err != nil {
				return nil, err
			}
			eps = append(eps, e)
			off += d
		}
		lw, err := v.LogWeight(b, x, eps)
		if err != nil {
			return nil, err
		}
		return []*G.Node{lw}, nil
	})
	if err != nil {
		return nil, err
	}
	return &HierEvaluator{v: v, fn: fn, dims: dims, width: width}, nil
}

// IWAE estimates log p(x) of each image (rows of x) by the importance-
// weighted bound with k posterior samples, log (1/k) Σ_j w_j, drawing the
// noise from rng; progress, if not nil, sees the images done.
func (e *HierEvaluator) IWAE(rng *rand.Rand, x []float32, k int, progress func(done, total int)) ([]float64, error) {
	if k < 1 {
		return nil, fmt.Errorf("iwae: K = %d samples", k)
	}
	xd := e.v.XDim()
	if len(x)%xd != 0 {
		return nil, fmt.Errorf("iwae: %d values is not a multiple of the image size %d", len(x), xd)
	}
	n := len(x) / xd
	chunk := max(1, hierEvalBatch/k) // images per program run
	rows := make([]float32, chunk*k*e.width)
	out := make([]float64, n)
	lw := make([]float64, k)
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		rows = rows[:(hi-lo)*k*e.width]
		for i := lo; i < hi; i++ {
			for j := 0; j < k; j++ {
				r := rows[((i-lo)*k+j)*e.width:][:e.width]
				copy(r, x[i*xd:(i+1)*xd])
				for p := xd; p < e.width; p++ {
					r[p] = float32(rng.NormFloat64())
				}
			}
		}
		res, err := e.fn.Apply(rows)
		if err != nil {
			return nil, err
		}
		for i := lo; i < hi; i++ {
			for j := 0; j < k; j++ {
				lw[j] = float64(res[0][(i-lo)*k+j])
			}
			out[i] = data.LogSumExp(lw) - math.Log(float64(k))
			if math.IsNaN(out[i]) || math.IsInf(out[i], 0) {
				return nil, fmt.Errorf("iwae: image %d: a non-finite log-likelihood (%v)", i, out[i])
			}
		}
		if progress != nil {
			progress(hi, n)
		}
	}
	return out, nil
}
