package nn

import (
	"fmt"
	"time"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Program is a compiled graph with fixed shapes. Inputs are tensors bound at
// build time: fill them in place, call Run, then read outputs and gradients
// until the next Run.
//
// gorgonia builds and differentiates the graph; Program executes it. The
// tape machine clears every register after each run, so every op allocated
// its output afresh on every step (1–3 GB per conv training step); here
// each node keeps the buffer of its previous run and ops that implement
// UsePreallocDo write into it, which makes a steady-state step allocate
// almost nothing. Only the nodes that outputs, gradients or the cost
// depend on are executed, so an input gradient does not pay for weight gradients.
type Program struct {
	B     *Builder
	steps []step
	vals  []G.Value
	index map[*G.Node]int
	grads map[*G.Node]int // wrt node → position of its gradient
}

type step struct {
	node  *G.Node
	op    G.Op
	in    []int
	reuse bool // the op may write into last run's output buffer
	// inPlace: the op has no UsePreallocDo but can compute in place over
	// its first input, so it runs over a copy of that input in its own buffer.
	inPlace bool
}

// Compile differentiates cost with respect to wrt (which may be nil for a
// forward-only program) and compiles the graph.
func Compile(b *Builder, cost *G.Node, wrt G.Nodes) (*Program, error) {
	var gradNodes G.Nodes
	if cost != nil && len(wrt) > 0 {
		var err error
		if gradNodes, err = G.Grad(cost, wrt...); err != nil {
			return nil, fmt.Errorf("differentiating graph: %w", err)
		}
	}
	sorted, err := G.Sort(b.G)
	if err != nil {
		return nil, fmt.Errorf("sorting graph: %w", err)
	}
	// Roots: read outputs, the cost and the gradients.
	needed := map[*G.Node]bool{}
	var mark func(n *G.Node)
	mark = func(n *G.Node) {
		if needed[n] {
			return
		}
		needed[n] = true
		for it := b.G.From(n.ID()); it.Next(); {
			mark(it.Node().(*G.Node))
		}
	}
	for _, o := range b.outputs {
		mark(o.node)
	}
	if cost != nil {
		mark(cost)
	}
	for _, n := range gradNodes {
		mark(n)
	}
	p := &Program{B: b, index: map[*G.Node]int{}, grads: map[*G.Node]int{}}
	// G.Sort lists outputs first.
	for i := len(sorted) - 1; i >= 0; i-- {
		n := sorted[i]
		if !needed[n] {
			continue
		}
		st := step{node: n, op: n.Op()}
		var kids []*G.Node
		for it := b.G.From(n.ID()); it.Next(); {
			c := it.Node().(*G.Node)
			j, ok := p.index[c]
			if !ok {
				return nil, fmt.Errorf("compiling graph: %v needs %v, not yet computed", n, c)
			}
			st.in, kids = append(st.in, j), append(kids, c)
		}
		if st.op != nil {
			if f := fastOp(st.op, kids); f != nil {
				st.op = f
			}
			_, pd := st.op.(G.UsePreallocDoer)
			_, ud := st.op.(G.UnsafeDoer)
			st.reuse = pd
			st.inPlace = !pd && ud && st.op.OverwritesInput() == 0 && len(st.in) == 1
		}
		p.index[n] = len(p.steps)
		p.steps = append(p.steps, st)
	}
	p.vals = make([]G.Value, len(p.steps))
	for i, w := range wrt {
		if i < len(gradNodes) {
			p.grads[w] = p.index[gradNodes[i]]
		}
	}
	return p, nil
}

// Run executes the program once.
func (p *Program) Run() error {
	var in []G.Value
	prof := opProfile.Load()
	var t0 time.Time
	for i := range p.steps {
		st := &p.steps[i]
		if st.op == nil {
			p.vals[i] = st.node.Value()
			continue
		}
		in = in[:0]
		for _, j := range st.in {
			in = append(in, p.vals[j])
		}
		var v G.Value
		var err error
		prev := p.vals[i]
		if prof != nil {
			t0 = time.Now()
		}
		switch {
		case st.reuse && prev != nil:
			if v, err = st.op.(G.UsePreallocDoer).UsePreallocDo(prev, in...); err != nil {
				st.reuse, v = false, nil // shapes or kinds it cannot reuse: allocate from now on
			}
		case st.inPlace && prev != nil:
			if v, err = inPlace(st.op, prev, in[0]); err != nil {
				st.inPlace, v = false, nil
			}
		}
		if v == nil {
			if v, err = st.op.Do(in...); err != nil {
				return fmt.Errorf("running graph: %v: %w", st.op, err)
			}
			if aliases(v, in) {
				st.reuse, st.inPlace = false, false
			}
		}
		if prof != nil {
			prof.add(st.op, in, time.Since(t0))
		}
		p.vals[i] = v
	}
	for _, o := range p.B.outputs {
		if i, ok := p.index[o.node]; ok {
			o.v = p.vals[i]
		}
	}
	return nil
}

// inPlace runs a unary op over a copy of x held in buf (last run's output).
func inPlace(op G.Op, buf, x G.Value) (G.Value, error) {
	bt, ok1 := buf.(*tensor.Dense)
	xt, ok2 := x.(*tensor.Dense)
	if !ok1 || !ok2 || !bt.Shape().Eq(xt.Shape()) || bt.Dtype() != xt.Dtype() {
		return nil, fmt.Errorf("in place: shapes differ")
	}
	if err := tensor.Copy(bt, xt); err != nil {
		return nil, err
	}
	return op.(G.UnsafeDoer).UnsafeDo(bt)
}

// aliases reports whether v shares memory with one of in: such an output
// must never be written into on the next run.
func aliases(v G.Value, in []G.Value) bool {
	t, ok := v.(tensor.Tensor)
	if !ok {
		return false
	}
	for _, x := range in {
		if u, ok := x.(tensor.Tensor); ok && u.Uintptr() == t.Uintptr() {
			return true
		}
	}
	return false
}

// Close releases the program's buffers.
func (p *Program) Close() error {
	clear(p.vals)
	return nil
}

// Value returns n's value after Run (n must be one the program computes).
func (p *Program) Value(n *G.Node) (G.Value, error) {
	i, ok := p.index[n]
	if !ok {
		return nil, fmt.Errorf("node %s is not computed by this program", n.Name())
	}
	return p.vals[i], nil
}

// GradValue returns the gradient of the cost with respect to n after Run,
// whatever its element type.
func (p *Program) GradValue(n *G.Node) (G.Value, error) {
	i, ok := p.grads[n]
	if !ok {
		return nil, fmt.Errorf("no gradient with respect to %s in this program", n.Name())
	}
	return p.vals[i], nil
}

// Grad returns the float32 gradient of the cost with respect to n after Run.
func (p *Program) Grad(n *G.Node) ([]float32, error) {
	v, err := p.GradValue(n)
	if err != nil {
		return nil, err
	}
	switch d := v.Data().(type) {
	case []float32:
		return d, nil
	case float32:
		return []float32{d}, nil
	}
	return nil, fmt.Errorf("gradient of %s has type %T", n.Name(), v.Data())
}

// Grads returns the gradients with respect to ps's nodes.
func (p *Program) Grads(ps []*Param) ([][]float32, error) {
	out := make([][]float32, len(ps))
	for i, q := range ps {
		g, err := p.Grad(p.B.Node(q))
		if err != nil {
			return nil, err
		}
		out[i] = g
	}
	return out, nil
}

// Fill copies src into t's storage.
func Fill(t *tensor.Dense, src []float32) {
	d := t.Data().([]float32)
	if len(d) != len(src) {
		panic(fmt.Sprintf("nn: fill %v with %d values", t.Shape(), len(src)))
	}
	copy(d, src)
}
