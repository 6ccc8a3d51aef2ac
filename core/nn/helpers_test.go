package nn

import (
	"testing"

	G "gorgonia.org/gorgonia"
)

// forwardValues builds f on an input of the given shape holding x, runs
// the graph once and returns f's output values.
func forwardValues(t *testing.T, f func(b *Builder, x *G.Node) (*G.Node, error), x []float32, shape ...int) []float32 {
	t.Helper()
	b := NewBuilder()
	xn, xt := b.Input("x", shape...)
	copy(xt.Data().([]float32), x)
	y, err := f(b, xn)
	if err != nil {
		t.Fatal(err)
	}
	out := b.Read(y)
	p, err := Compile(b, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Run(); err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), out.Values()...)
}
