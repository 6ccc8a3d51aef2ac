package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
)

// Linear is a fully connected layer y = xW + b.
type Linear struct {
	W, B *Param
	// Spectral, when set, divides W by its largest singular value.
	Spectral *SpectralNorm
}

// SpectralNormalize puts l's weight under spectral normalisation.
func (l *Linear) SpectralNormalize(rng *rand.Rand) { l.Spectral = NewSpectralNorm(rng, l.W) }

// NewLinear creates a linear layer with PyTorch's default initialisation.
func NewLinear(rng *rand.Rand, name string, in, out int) *Linear {
	l := &Linear{W: NewParam(name+".w", in, out), B: NewParam(name+".b", 1, out)}
	l.W.Weight = true
	a := 1 / math.Sqrt(float64(in))
	l.W.InitUniform(rng, a)
	l.B.InitUniform(rng, a)
	return l
}

// Forward applies the layer to a (batch, in) node.
func (l *Linear) Forward(b *Builder, x *G.Node) (*G.Node, error) {
	w := b.Node(l.W)
	if l.Spectral != nil {
		var err error
		if w, err = l.Spectral.Node(b); err != nil {
			return nil, fmt.Errorf("%s: %w", l.W.Name, err)
		}
	}
	xw, err := G.Mul(x, w)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", l.W.Name, err)
	}
	return G.BroadcastAdd(xw, b.Node(l.B), nil, []byte{0})
}

// Params returns W and B, then the buffers of spectral normalisation.
func (l *Linear) Params() []*Param {
	if l.Spectral != nil {
		return []*Param{l.W, l.B, l.Spectral.U, l.Spectral.V}
	}
	return []*Param{l.W, l.B}
}

// Activation names accepted by Activate.
var Activations = []string{"swish", "lipswish", "relu", "tanh", "softplus", "linear"}

// Activate applies the named nonlinearity. Swish is x·σ(x) and LipSwish is
// Swish/1.1 (VAEBM App. E); gorgonia has neither (see swish.go).
func Activate(b *Builder, name string, x *G.Node) (*G.Node, error) {
	switch name {
	case "swish":
		return Swish(x, 1)
	case "lipswish":
		return Swish(x, 1/1.1)
	case "relu":
		return G.Rectify(x)
	case "tanh":
		return G.Tanh(x)
	case "softplus":
		return Softplus(x)
	case "linear":
		return x, nil
	}
	return nil, fmt.Errorf("unknown activation %q (want one of %v)", name, Activations)
}

// MLP is a stack of linear layers with one activation between them.
type MLP struct {
	Layers []*Linear
	Act    string
	// ActLast also applies the activation after the last layer, for trunks
	// that feed several heads.
	ActLast bool
}

// NewMLP builds an MLP with the given layer widths, e.g. [2, 256, 256, 256, 40]
// is four fully connected layers.
func NewMLP(rng *rand.Rand, name string, widths []int, act string) *MLP {
	m := &MLP{Act: act}
	for i := 0; i+1 < len(widths); i++ {
		m.Layers = append(m.Layers, NewLinear(rng, fmt.Sprintf("%s.%d", name, i), widths[i], widths[i+1]))
	}
	return m
}

// Forward applies the MLP to a (batch, widths[0]) node.
func (m *MLP) Forward(b *Builder, x *G.Node) (*G.Node, error) {
	h := x
	for i, l := range m.Layers {
		var err error
		if h, err = l.Forward(b, h); err != nil {
			return nil, err
		}
		if i+1 < len(m.Layers) || m.ActLast {
			if h, err = Activate(b, m.Act, h); err != nil {
				return nil, err
			}
		}
	}
	return h, nil
}

// Params returns all layer parameters in order.
func (m *MLP) Params() []*Param {
	var ps []*Param
	for _, l := range m.Layers {
		ps = append(ps, l.Params()...)
	}
	return ps
}

// Conv is a 2-D convolution layer with a square kernel.
type Conv struct {
	W, B        *Param // B is nil for a convolution without bias
	Stride, Pad int
	// Gain, when set, weight-normalises the layer: the kernel is
	// Gain · W/‖W‖ per output channel, W being the direction.
	Gain *Param
	// Spectral, when set, divides the kernel by its largest singular value
	// (the kernel viewed as output channels × the rest).
	Spectral *SpectralNorm
}

// SpectralNormalize puts c's kernel under spectral normalisation.
func (c *Conv) SpectralNormalize(rng *rand.Rand) { c.Spectral = NewSpectralNorm(rng, c.W) }

// WeightNormalize switches c to weight normalisation with unit gains.
func (c *Conv) WeightNormalize() {
	c.Gain = NewParam(c.W.Name+".g", c.W.T.Shape()[0])
	for i := range c.Gain.Data() {
		c.Gain.Data()[i] = 1
	}
}

// kernel returns the node of the convolution's effective weight.
func (c *Conv) kernel(b *Builder) (*G.Node, error) {
	switch {
	case c.Gain != nil && c.Spectral != nil:
		return nil, fmt.Errorf("weight and spectral normalisation together")
	case c.Gain != nil:
		return WeightNorm(b.Node(c.W), b.Node(c.Gain))
	case c.Spectral != nil:
		return c.Spectral.Node(b)
	}
	return b.Node(c.W), nil
}

// NewConv creates a k×k convolution from cin to cout channels with
// PyTorch's default initialisation, U(±1/√fan_in) for weight and bias.
func NewConv(rng *rand.Rand, name string, cin, cout, k, stride, pad int, bias bool) *Conv {
	c := &Conv{W: NewParam(name+".w", cout, cin, k, k), Stride: stride, Pad: pad}
	c.W.Weight = true
	a := 1 / math.Sqrt(float64(cin*k*k))
	c.W.InitUniform(rng, a)
	if bias {
		c.B = NewParam(name+".b", cout)
		c.B.InitUniform(rng, a)
	}
	return c
}

// Forward applies the convolution to an (N, C, H, W) node.
func (c *Conv) Forward(b *Builder, x *G.Node) (*G.Node, error) {
	var bias *G.Node
	if c.B != nil {
		bias = b.Node(c.B)
	}
	k, err := c.kernel(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.W.Name, err)
	}
	y, err := Conv2D(x, k, bias, c.Stride, c.Pad)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.W.Name, err)
	}
	return y, nil
}

// ForwardShared applies convolutions that read the same input x as one:
// their kernels (and biases) are joined along the output channels, one
// convolution runs, and its output is cut back into one map per layer.
// The result is each layer's Forward(b, x), but x is unfolded once, not
// once per layer, and the GEMM has all their output rows: the
// hierarchical VAE's four 32→2 prior and posterior convolutions of one
// decoder state cost nearly what one does. The layers keep their own
// parameters (and checkpoints their names); they must agree in input
// channels, kernel size, stride, padding and in having a bias.
func ForwardShared(b *Builder, x *G.Node, convs ...*Conv) ([]*G.Node, error) {
	if len(convs) == 0 {
		return nil, fmt.Errorf("ForwardShared: no convolutions")
	}
	if len(convs) == 1 {
		y, err := convs[0].Forward(b, x)
		return []*G.Node{y}, err
	}
	first := convs[0]
	var ks, bs []*G.Node
	for _, c := range convs {
		if ws, w0 := c.W.T.Shape(), first.W.T.Shape(); ws[1] != w0[1] || ws[2] != w0[2] || ws[3] != w0[3] ||
			c.Stride != first.Stride || c.Pad != first.Pad || (c.B == nil) != (first.B == nil) {
			return nil, fmt.Errorf("%s and %s cannot run as one convolution (kernels %v and %v, stride %d and %d, padding %d and %d, bias %v and %v)",
				first.W.Name, c.W.Name, w0, ws, first.Stride, c.Stride, first.Pad, c.Pad, first.B != nil, c.B != nil)
		}
		k, err := c.kernel(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.W.Name, err)
		}
		ks = append(ks, k)
		if c.B != nil {
			bs = append(bs, b.Node(c.B))
		}
	}
	k, err := ConcatAxis(0, ks...)
	if err != nil {
		return nil, fmt.Errorf("%s…: %w", first.W.Name, err)
	}
	var bias *G.Node
	if len(bs) > 0 {
		if bias, err = ConcatAxis(0, bs...); err != nil {
			return nil, fmt.Errorf("%s…: %w", first.W.Name, err)
		}
	}
	y, err := Conv2D(x, k, bias, first.Stride, first.Pad)
	if err != nil {
		return nil, fmt.Errorf("%s…: %w", first.W.Name, err)
	}
	out := make([]*G.Node, len(convs))
	lo := 0
	for i, c := range convs {
		o := c.W.T.Shape()[0]
		if out[i], err = SliceAxis(y, 1, lo, lo+o); err != nil {
			return nil, fmt.Errorf("%s: %w", c.W.Name, err)
		}
		lo += o
	}
	return out, nil
}

// Params returns W and, if present, B, the gain and the buffers of
// spectral normalisation.
func (c *Conv) Params() []*Param {
	ps := []*Param{c.W}
	if c.B != nil {
		ps = append(ps, c.B)
	}
	if c.Gain != nil {
		ps = append(ps, c.Gain)
	}
	if c.Spectral != nil {
		ps = append(ps, c.Spectral.U, c.Spectral.V)
	}
	return ps
}

// ForwardSwish applies the convolution followed by Swish with the given
// scale (1/1.1 for LipSwish) as one fused op.
func (c *Conv) ForwardSwish(b *Builder, x *G.Node, scale float64) (*G.Node, error) {
	var bias *G.Node
	if c.B != nil {
		bias = b.Node(c.B)
	}
	k, err := c.kernel(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.W.Name, err)
	}
	y, err := Conv2DSwish(x, k, bias, c.Stride, c.Pad, scale)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.W.Name, err)
	}
	return y, nil
}
