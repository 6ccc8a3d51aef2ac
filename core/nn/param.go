package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Dtype is the float type of every parameter and activation in the core.
var Dtype = tensor.Float32

// Param is a named learnable tensor shared by all graphs built from its module.
type Param struct {
	Name string
	T    *tensor.Dense
	// Weight marks a layer's weight matrix (not a bias), the kind that
	// spectral regularisation covers.
	Weight bool
	// Buffer marks state saved and loaded with the parameters but not
	// trained (batch normalisation's running averages; see Trainable).
	Buffer bool
}

// Data returns the parameter's values.
func (p *Param) Data() []float32 { return p.T.Data().([]float32) }

// NewParam allocates a zero parameter of the given shape.
func NewParam(name string, shape ...int) *Param {
	return &Param{Name: name, T: tensor.New(tensor.WithShape(shape...), tensor.Of(Dtype))}
}

// InitUniform fills p with U(-a, a), the PyTorch default for linear layers
// when a = 1/sqrt(fanIn).
func (p *Param) InitUniform(rng *rand.Rand, a float64) {
	d := p.Data()
	for i := range d {
		d[i] = float32((2*rng.Float64() - 1) * a)
	}
}

// Builder adds modules to one graph, binding each Param to exactly one node.
type Builder struct {
	G       *G.ExprGraph
	nodes   map[*Param]*G.Node
	consts  int
	outputs []*Output
}

// NewBuilder starts a new graph.
func NewBuilder() *Builder {
	return &Builder{G: G.NewGraph(), nodes: map[*Param]*G.Node{}}
}

// Node returns the graph node bound to p, creating it on first use.
func (b *Builder) Node(p *Param) *G.Node {
	if n, ok := b.nodes[p]; ok {
		return n
	}
	n := G.NewTensor(b.G, Dtype, p.T.Dims(), G.WithShape(p.T.Shape()...), G.WithValue(p.T), G.WithName(p.Name))
	b.nodes[p] = n
	return n
}

// Uses reports whether the graph built so far reads p.
func (b *Builder) Uses(p *Param) bool {
	_, ok := b.nodes[p]
	return ok
}

// Input adds a graph input of the given shape, bound to a fresh tensor the
// caller fills before each run.
func (b *Builder) Input(name string, shape ...int) (*G.Node, *tensor.Dense) {
	t := tensor.New(tensor.WithShape(shape...), tensor.Of(Dtype))
	n := G.NewTensor(b.G, Dtype, len(shape), G.WithShape(shape...), G.WithValue(t), G.WithName(name))
	return n, t
}

// ParamNodes returns the nodes of the given params, in that order.
func (b *Builder) ParamNodes(ps []*Param) G.Nodes {
	out := make(G.Nodes, len(ps))
	for i, p := range ps {
		out[i] = b.Node(p)
	}
	return out
}

// Scalar returns a constant scalar node usable in any op (constants built
// with NewConstant fail under reshape, see the README). Each gets a unique
// name: gorgonia merges unnamed input nodes of the same type, so two
// unnamed scalars would silently share one value.
func (b *Builder) Scalar(v float64) *G.Node {
	b.consts++
	return G.NewScalar(b.G, Dtype, G.WithValue(float32(v)), G.WithName(fmt.Sprintf("const%d", b.consts)))
}

// Output is a node whose value the program hands out after each Run.
type Output struct {
	node *G.Node
	v    G.Value
}

// Read returns an Output that holds n's value after each Run. The values
// live in the program's buffers: copy what must outlive the next Run.
func (b *Builder) Read(n *G.Node) *Output {
	o := &Output{node: n}
	b.outputs = append(b.outputs, o)
	return o
}

// Values returns the float32 data of the last value read.
func (o *Output) Values() []float32 {
	switch d := o.v.Data().(type) {
	case []float32:
		return d
	case float32:
		return []float32{d}
	}
	panic(fmt.Sprintf("nn: output of type %T is not float32", o.v.Data()))
}

// Scalar returns the first element of the last value read.
func (o *Output) Scalar() float64 { return float64(o.Values()[0]) }

// CheckFinite returns an error naming the first parameter holding NaN or Inf.
func CheckFinite(ps []*Param) error {
	for _, p := range ps {
		for i, v := range p.Data() {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("parameter %s[%d] is %v", p.Name, i, v)
			}
		}
	}
	return nil
}
