package nn

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// OpProfile accumulates, per kind of op, how often every Program ran it,
// for how long and how many floating-point operations it did: where a
// step's time goes, and at what rate the arithmetic runs. Collect it with
// StartOpProfile and StopOpProfile around the steps of interest.
type OpProfile struct {
	mu    sync.Mutex
	kinds map[string]*OpStat
}

// OpStat is one kind of op's share of a profile.
type OpStat struct {
	Kind  string
	Calls int
	Time  time.Duration
	FLOPs float64 // multiply-adds counted as 2; element-wise ops count 0
}

var opProfile atomic.Pointer[OpProfile]

// StartOpProfile makes every Program's Run time its ops into a new profile
// until StopOpProfile. Programs running concurrently all record into it.
func StartOpProfile() { opProfile.Store(&OpProfile{kinds: map[string]*OpStat{}}) }

// StopOpProfile ends profiling and returns what it recorded (nil if it was
// not started).
func StopOpProfile() *OpProfile { return opProfile.Swap(nil) }

func (p *OpProfile) add(op G.Op, in []G.Value, d time.Duration) {
	k := OpKind(op)
	f := OpFLOPs(op, in)
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.kinds[k]
	if s == nil {
		s = &OpStat{Kind: k}
		p.kinds[k] = s
	}
	s.Calls++
	s.Time += d
	s.FLOPs += f
}

// Stats returns the kinds, the longest total time first.
func (p *OpProfile) Stats() []OpStat {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]OpStat, 0, len(p.kinds))
	for _, s := range p.kinds {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Time != out[j].Time {
			return out[i].Time > out[j].Time
		}
		return out[i].Kind < out[j].Kind
	})
	return out
}

// Total sums the stats.
func (p *OpProfile) Total() OpStat {
	t := OpStat{Kind: "all ops"}
	for _, s := range p.Stats() {
		t.Calls += s.Calls
		t.Time += s.Time
		t.FLOPs += s.FLOPs
	}
	return t
}

// OpKind names an op without its shapes: "Conv2D", "Conv2DGradWeight",
// "A × B", "+", "exp"...
func OpKind(op G.Op) string {
	s := op.String()
	if i := strings.IndexAny(s, "{("); i > 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// OpFLOPs counts the floating-point operations of the ops whose arithmetic
// is multiply-adds (convolutions, their two gradients and gorgonia's matrix
// products), 2 per multiply-add, as the FLOP counts of papers and vendors'
// peaks do; other ops count 0, so a rate computed from these is a lower
// bound on the arithmetic a step does.
func OpFLOPs(op G.Op, in []G.Value) float64 {
	conv := func(g convGeom) float64 {
		return 2 * float64(g.N) * float64(g.O) * float64(g.C*g.KH*g.KW) * float64(g.Ho*g.Wo)
	}
	switch o := op.(type) {
	case *conv2dOp:
		return conv(o.g)
	case *convGradInputOp:
		return conv(o.g)
	case *convGradWeightOp:
		return conv(o.g)
	case *matMulOp:
		return 2 * float64(o.m) * float64(o.n) * float64(o.k)
	}
	if len(in) != 2 || !strings.HasPrefix(fmt.Sprintf("%T", op), "gorgonia.linAlgBinOp") {
		return 0
	}
	a, b := shapeOf(in[0]), shapeOf(in[1])
	switch s := OpKind(op); {
	case len(a) == 2 && len(b) == 2: // (m×k)(k×n), either side transposed
		m, k := a[0], a[1]
		if strings.Contains(s, "Aᵀ") {
			m, k = k, m
		}
		n := b[1]
		if strings.HasSuffix(s, "ᵀ") {
			n = b[0]
		}
		return 2 * float64(m) * float64(k) * float64(n)
	case len(a) == 2 && len(b) == 1: // matrix × vector
		return 2 * float64(a[0]) * float64(a[1])
	case len(a) == 1 && len(b) == 1: // dot or outer product
		if strings.Contains(s, "⊗") {
			return float64(a[0]) * float64(b[0])
		}
		return 2 * float64(a[0])
	}
	return 0
}

func shapeOf(v G.Value) tensor.Shape {
	if v == nil {
		return nil
	}
	return v.Shape()
}
