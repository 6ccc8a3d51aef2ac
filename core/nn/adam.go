package nn

import (
	"fmt"
	"math"

	"github.com/vaebm/vaebm/core/nn/internal/vec"
)

// Adam is the Adam optimiser (Kingma & Ba 2015) with decoupled-from-nothing L2
// weight decay added to the gradient, as torch.optim.Adam does, and optional
// per-element clipping of gradients to ClipStd standard deviations of Adam's
// second-moment estimate (Du & Mordatch 2019; VAEBM App. E).
type Adam struct {
	LR, Beta1, Beta2, Eps float64
	WeightDecay           float64
	// ClipStd, when > 0, clips each gradient element to ±ClipStd·sqrt(v̂),
	// where v̂ is the bias-corrected second moment before this step.
	ClipStd float64

	params []*Param
	m, v   [][]float32
	t      int
	chunks []adamChunk
	total  int // elements of all parameters
}

// NewAdam creates an optimiser for ps with betas (0.9, 0.999) and eps 1e-8.
func NewAdam(ps []*Param, lr float64) *Adam {
	a := &Adam{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, params: ps}
	for _, p := range ps {
		n := len(p.Data())
		a.m = append(a.m, make([]float32, n))
		a.v = append(a.v, make([]float32, n))
		for lo := 0; lo < n; lo += adamChunkSize {
			a.chunks = append(a.chunks, adamChunk{len(a.m) - 1, lo, min(lo+adamChunkSize, n), a.total + lo})
		}
		a.total += n
	}
	return a
}

// Step applies one update given one gradient slice per parameter.
func (a *Adam) Step(grads [][]float32) error {
	if len(grads) != len(a.params) {
		return fmt.Errorf("adam: %d gradients for %d parameters", len(grads), len(a.params))
	}
	for i, p := range a.params {
		if len(grads[i]) != len(p.Data()) {
			return fmt.Errorf("adam: gradient of %s has %d elements, want %d", p.Name, len(grads[i]), len(p.Data()))
		}
	}
	a.t++
	b1, b2 := a.Beta1, a.Beta2
	c1 := 1 - math.Pow(b1, float64(a.t))
	c2 := 1 - math.Pow(b2, float64(a.t))
	c2prev := 1 - math.Pow(b2, float64(a.t-1))
	// Every element's update is independent: each core takes a run of
	// chunks holding about its share of the elements (the same arithmetic
	// in any split, so the same result).
	var k *vec.AdamConsts
	if useSIMD() {
		k = &vec.AdamConsts{}
		for _, f := range []struct {
			lanes *[4]float64
			v     float64
		}{{&k.WeightDecay, a.WeightDecay}, {&k.ClipStd, a.ClipStd}, {&k.Beta1, b1}, {&k.OneMinusBeta1, 1 - b1},
			{&k.Beta2, b2}, {&k.OneMinusBeta2, 1 - b2}, {&k.C1, c1}, {&k.C2, c2}, {&k.C2Prev, c2prev}, {&k.LR, a.LR}, {&k.Eps, a.Eps}} {
			*f.lanes = [4]float64{f.v, f.v, f.v, f.v}
		}
		if a.ClipStd > 0 && a.t > 1 {
			k.Clip = 1
		}
	}
	forWorkers(a.total, func(_, lo, hi int) {
		for _, ch := range a.chunks {
			if ch.start < lo || ch.start >= hi {
				continue
			}
			a.update(ch, grads, b1, b2, c1, c2, c2prev, k)
		}
	})
	return nil
}

// update applies the step to one chunk: with k, all but its last n mod 4
// elements in the assembly kernel (the same arithmetic, four at a time:
// its float64 divisions and square roots were 15% of the MLP workload's
// CPU time one at a time), and the rest in the loop below.
func (a *Adam) update(ch adamChunk, grads [][]float32, b1, b2, c1, c2, c2prev float64, k *vec.AdamConsts) {
	w, g, m, v := a.params[ch.p].Data()[ch.lo:ch.hi], grads[ch.p][ch.lo:ch.hi], a.m[ch.p][ch.lo:ch.hi], a.v[ch.p][ch.lo:ch.hi]
	if n := len(w) &^ 3; k != nil && n > 0 {
		// The kernel trusts the lengths: g, m and v have w's (checked in Step).
		vec.Adam(&w[0], &g[0], &m[0], &v[0], n, k)
		w, g, m, v = w[n:], g[n:], m[n:], v[n:]
	}
	for j := range w {
		gj := float64(g[j]) + a.WeightDecay*float64(w[j])
		if a.ClipStd > 0 && a.t > 1 {
			lim := a.ClipStd * math.Sqrt(float64(v[j])/c2prev)
			gj = math.Max(-lim, math.Min(lim, gj))
		}
		mj := b1*float64(m[j]) + (1-b1)*gj
		vj := b2*float64(v[j]) + (1-b2)*gj*gj
		m[j], v[j] = float32(mj), float32(vj)
		w[j] -= float32(a.LR * (mj / c1) / (math.Sqrt(vj/c2) + a.Eps))
	}
}

// adamChunk is a range [lo, hi) of parameter p's elements, which start at
// element start of all the parameters together.
type adamChunk struct{ p, lo, hi, start int }

// adamChunkSize is the elements per chunk: large enough that handing a
// chunk to a core costs little, small enough that the cores' shares even out.
const adamChunkSize = 1 << 14

// AdamState is what a resumed run needs of an optimiser: its moments and step count.
type AdamState struct {
	M, V [][]float32
	T    int
}

// State returns a copy of the optimiser's moments and step count.
func (a *Adam) State() AdamState {
	s := AdamState{T: a.t}
	for i := range a.m {
		s.M = append(s.M, append([]float32(nil), a.m[i]...))
		s.V = append(s.V, append([]float32(nil), a.v[i]...))
	}
	return s
}

// SetState restores moments saved by State, checking they fit the parameters.
func (a *Adam) SetState(s AdamState) error {
	if len(s.M) != len(a.m) || len(s.V) != len(a.v) {
		return fmt.Errorf("adam state holds %d moments, the optimiser has %d parameters", len(s.M), len(a.m))
	}
	for i := range a.m {
		if len(s.M[i]) != len(a.m[i]) || len(s.V[i]) != len(a.v[i]) {
			return fmt.Errorf("adam state of %s has %d elements, want %d", a.params[i].Name, len(s.M[i]), len(a.m[i]))
		}
	}
	for i := range a.m {
		copy(a.m[i], s.M[i])
		copy(a.v[i], s.V[i])
	}
	a.t = s.T
	return nil
}
