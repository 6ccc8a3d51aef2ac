package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
)

// BatchFn evaluates a forward-only graph over any number of rows by running
// a fixed-batch program over chunks, padding the last one.
type BatchFn struct {
	prog  *Program
	in    []float32
	outs  []*Output
	batch int
	inDim int
}

// NewBatchFn compiles build for inputs of shape (batch, inDim). Each output
// build returns must have one row per input row.
func NewBatchFn(batch, inDim int, build func(b *Builder, x *G.Node) ([]*G.Node, error)) (*BatchFn, error) {
	b := NewBuilder()
	x, xt := b.Input("x", batch, inDim)
	nodes, err := build(b, x)
	if err != nil {
		return nil, err
	}
	outs := make([]*Output, len(nodes))
	for i, n := range nodes {
		outs[i] = b.Read(n)
	}
	p, err := Compile(b, nil, nil)
	if err != nil {
		return nil, err
	}
	return &BatchFn{prog: p, in: xt.Data().([]float32), outs: outs, batch: batch, inDim: inDim}, nil
}

// Apply evaluates the graph on x (n rows of inDim) and returns each output's
// n rows, flattened.
func (f *BatchFn) Apply(x []float32) ([][]float32, error) {
	if len(x)%f.inDim != 0 {
		return nil, fmt.Errorf("batch function: %d inputs is not a multiple of %d", len(x), f.inDim)
	}
	n := len(x) / f.inDim
	res := make([][]float32, len(f.outs))
	for lo := 0; lo < n; lo += f.batch {
		hi := min(lo+f.batch, n)
		copy(f.in, x[lo*f.inDim:hi*f.inDim])
		clear(f.in[(hi-lo)*f.inDim:])
		if err := f.prog.Run(); err != nil {
			return nil, err
		}
		for i, o := range f.outs {
			v := o.Values()
			w := len(v) / f.batch
			res[i] = append(res[i], v[:(hi-lo)*w]...)
		}
	}
	return res, nil
}
