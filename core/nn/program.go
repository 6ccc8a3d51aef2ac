package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Program is a compiled graph with fixed shapes. Inputs are tensors bound at
// build time: fill them in place, call Run, then read output values and
// gradients until the next Run.
type Program struct {
	B   *Builder
	vm  G.VM
	wrt G.Nodes
}

// Compile differentiates cost with respect to wrt (which may be nil for a
// forward-only program) and compiles the graph.
func Compile(b *Builder, cost *G.Node, wrt G.Nodes) (*Program, error) {
	if cost != nil && len(wrt) > 0 {
		if _, err := G.Grad(cost, wrt...); err != nil {
			return nil, fmt.Errorf("differentiating graph: %w", err)
		}
	}
	opts := []G.VMOpt{}
	if len(wrt) > 0 {
		opts = append(opts, G.BindDualValues(wrt...))
	}
	return &Program{B: b, vm: G.NewTapeMachine(b.G, opts...), wrt: wrt}, nil
}

// Run executes the program once.
func (p *Program) Run() error {
	defer p.vm.Reset()
	// The tape machine adds into gradient buffers and never clears them
	// (gorgonia's solvers do that), so clear them before each run.
	for _, n := range p.wrt {
		if g, err := n.Grad(); err == nil {
			if z, ok := g.(interface{ Zero() }); ok {
				z.Zero()
			}
		}
	}
	if err := p.vm.RunAll(); err != nil {
		return fmt.Errorf("running graph: %w", err)
	}
	return nil
}

// Close releases the machine.
func (p *Program) Close() error { return p.vm.Close() }

// Grad returns the gradient of the cost with respect to n after Run.
func Grad(n *G.Node) ([]float32, error) {
	gv, err := n.Grad()
	if err != nil {
		return nil, fmt.Errorf("gradient of %s: %w", n.Name(), err)
	}
	return gv.Data().([]float32), nil
}

// Grads returns the gradients of ps's nodes in b.
func Grads(b *Builder, ps []*Param) ([][]float32, error) {
	out := make([][]float32, len(ps))
	for i, p := range ps {
		g, err := Grad(b.Node(p))
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
