package energy

import (
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"

	"github.com/vaebm/vaebm/core/nn"
)

// ResNet is a convolutional energy in the style of the paper's Table 7: a
// 3×3 stem, residual blocks of two 3×3 convolutions with LipSwish (x·σ(x)/1.1),
// 2×2 average pooling where a block downsamples, a global sum over space
// and a linear head to one energy per image.
type ResNet struct {
	C, H, W int // image shape
	Stem    *nn.Conv
	Blocks  []*ResBlock
	Head    *nn.Linear
	// Norms, when set (BatchNormalize), batch-normalises the output of
	// each convolution but the skips, always by the batch's statistics:
	// for App. F's WGAN critic, which is only evaluated in training.
	Norms map[*nn.Conv]*nn.BatchNorm
}

// lipSwish is the scale of LipSwish, x·σ(x)/1.1 (App. E).
const lipSwish = 1 / 1.1

// ResBlock is one residual block: conv, LipSwish, conv, plus the input
// (through a 1×1 convolution when the width changes), then 2×2 average
// pooling if Down, then LipSwish.
type ResBlock struct {
	C1, C2 *nn.Conv
	Skip   *nn.Conv // nil when input and output widths match
	Down   bool
}

// BlockSpec declares one block: its output width and whether it downsamples.
type BlockSpec struct {
	Out  int
	Down bool
}

// NewResNet builds the energy for c×h×w images with a stem of `width`
// channels followed by the given blocks.
func NewResNet(rng *rand.Rand, c, h, w, width int, blocks []BlockSpec) *ResNet {
	r := &ResNet{C: c, H: h, W: w, Stem: nn.NewConv(rng, "energy.stem", c, width, 3, 1, 1, true)}
	in := width
	for i, bs := range blocks {
		name := fmt.Sprintf("energy.block%d", i)
		blk := &ResBlock{
			C1:   nn.NewConv(rng, name+".c1", in, bs.Out, 3, 1, 1, true),
			C2:   nn.NewConv(rng, name+".c2", bs.Out, bs.Out, 3, 1, 1, true),
			Down: bs.Down,
		}
		if in != bs.Out {
			blk.Skip = nn.NewConv(rng, name+".skip", in, bs.Out, 1, 1, 0, false)
		}
		r.Blocks = append(r.Blocks, blk)
		in = bs.Out
	}
	r.Head = nn.NewLinear(rng, "energy.head", in, 1)
	return r
}

// Forward returns E_ψ(x) as a (batch, 1) node for x of shape (batch, C·H·W)
// or (batch, C, H, W).
func (r *ResNet) Forward(b *nn.Builder, x *G.Node) (*G.Node, error) {
	return r.forward(b, x, nil)
}

// convAct applies c then LipSwish: fused, or, when taps is not nil or c
// is batch-normalised, as separate ops with the convolution's output
// recorded in taps.
func (r *ResNet) convAct(b *nn.Builder, c *nn.Conv, x *G.Node, taps map[*nn.Conv]*G.Node) (*G.Node, error) {
	if taps == nil && r.Norms[c] == nil {
		return c.ForwardSwish(b, x, lipSwish)
	}
	z, err := r.tapped(b, c, x, taps)
	if err != nil {
		return nil, err
	}
	return nn.Activate(b, "lipswish", z)
}

// tapped applies c and its batch normalisation, if any, recording the
// convolution's output in taps when not nil.
func (r *ResNet) tapped(b *nn.Builder, c *nn.Conv, x *G.Node, taps map[*nn.Conv]*G.Node) (*G.Node, error) {
	z, err := c.Forward(b, x)
	if err != nil {
		return nil, err
	}
	if taps != nil {
		taps[c] = z
	}
	if bn := r.Norms[c]; bn != nil {
		return bn.Forward(b, z, true)
	}
	return z, nil
}

func (r *ResNet) forward(b *nn.Builder, x *G.Node, taps map[*nn.Conv]*G.Node) (*G.Node, error) {
	n := x.Shape()[0]
	if x.Dims() != 4 {
		var err error
		if x, err = G.Reshape(x, []int{n, r.C, r.H, r.W}); err != nil {
			return nil, fmt.Errorf("energy: input %v is not %d×%d×%d images: %w", x.Shape(), r.C, r.H, r.W, err)
		}
	}
	h, err := r.convAct(b, r.Stem, x, taps)
	if err != nil {
		return nil, err
	}
	for _, blk := range r.Blocks {
		if h, err = r.block(b, blk, h, taps); err != nil {
			return nil, err
		}
	}
	if h, err = nn.SumSpatial(h); err != nil {
		return nil, err
	}
	return r.Head.Forward(b, h)
}

// block applies one residual block.
func (r *ResNet) block(b *nn.Builder, blk *ResBlock, x *G.Node, taps map[*nn.Conv]*G.Node) (*G.Node, error) {
	h, err := r.convAct(b, blk.C1, x, taps)
	if err != nil {
		return nil, err
	}
	if h, err = r.tapped(b, blk.C2, h, taps); err != nil {
		return nil, err
	}
	skip := x
	if blk.Skip != nil {
		if skip, err = r.tapped(b, blk.Skip, x, taps); err != nil {
			return nil, err
		}
	}
	if h, err = G.Add(h, skip); err != nil {
		return nil, err
	}
	if blk.Down {
		if h, err = nn.AvgPool2D(h, 2); err != nil {
			return nil, err
		}
	}
	return nn.Activate(b, "lipswish", h)
}

// Params returns ψ in a fixed order.
func (r *ResNet) Params() []*nn.Param {
	ps := r.Stem.Params()
	for _, blk := range r.Blocks {
		ps = append(ps, blk.C1.Params()...)
		ps = append(ps, blk.C2.Params()...)
		if blk.Skip != nil {
			ps = append(ps, blk.Skip.Params()...)
		}
	}
	ps = append(ps, r.Head.Params()...)
	for _, c := range r.convs() {
		if bn := r.Norms[c]; bn != nil {
			ps = append(ps, bn.Params()...)
		}
	}
	return ps
}

// convs lists the convolutions in the order data flows through them.
func (r *ResNet) convs() []*nn.Conv {
	out := []*nn.Conv{r.Stem}
	for _, blk := range r.Blocks {
		out = append(out, blk.C1, blk.C2)
		if blk.Skip != nil {
			out = append(out, blk.Skip)
		}
	}
	return out
}

// WeightNormalize puts every convolution under weight normalisation.
func (r *ResNet) WeightNormalize() {
	for _, c := range r.convs() {
		c.WeightNormalize()
	}
}

// BatchNormalize batch-normalises the output of every convolution but the
// skips (see Norms).
func (r *ResNet) BatchNormalize() {
	r.Norms = map[*nn.Conv]*nn.BatchNorm{}
	for _, c := range r.convs() {
		skip := false
		for _, blk := range r.Blocks {
			skip = skip || c == blk.Skip
		}
		if !skip {
			r.Norms[c] = nn.NewBatchNorm(c.W.Name+".bn", c.W.T.Shape()[0])
		}
	}
}

// SpectralNormalize puts every convolution and the head under spectral
// normalisation (IGEBM's energies and App. F's WGAN critic); rng starts
// the power iterations.
func (r *ResNet) SpectralNormalize(rng *rand.Rand) {
	for _, c := range r.convs() {
		c.SpectralNormalize(rng)
	}
	r.Head.SpectralNormalize(rng)
}

// SpectralNorms returns the spectral normalisations of the layers, for the
// trainers to advance their power iterations; none without them.
func (r *ResNet) SpectralNorms() []*nn.SpectralNorm {
	var out []*nn.SpectralNorm
	for _, c := range r.convs() {
		if c.Spectral != nil {
			out = append(out, c.Spectral)
		}
	}
	if r.Head.Spectral != nil {
		out = append(out, r.Head.Spectral)
	}
	return out
}

// DataInit is the data-dependent initialisation of weight normalisation
// (Salimans & Kingma 2016): layer by layer in data order, the gain and bias
// are set so that the convolution's outputs on the batch x (n images) have
// zero mean and unit variance per channel.
func (r *ResNet) DataInit(x []float32, n int) error {
	for _, c := range r.convs() {
		if c.Gain == nil {
			return fmt.Errorf("energy: data-dependent initialisation needs weight normalisation (%s has none)", c.W.Name)
		}
		g := c.Gain.Data()
		for i := range g {
			g[i] = 1
		}
		if c.B != nil {
			clear(c.B.Data())
		}
		b := nn.NewBuilder()
		in, it := b.Input("x", n, r.C*r.H*r.W)
		copy(it.Data().([]float32), x)
		taps := map[*nn.Conv]*G.Node{}
		if _, err := r.forward(b, in, taps); err != nil {
			return err
		}
		out := b.Read(taps[c])
		prog, err := nn.Compile(b, nil, nil)
		if err != nil {
			return err
		}
		if err := prog.Run(); err != nil {
			return err
		}
		z := out.Values()
		shape := taps[c].Shape()
		ch, hw := shape[1], shape[2]*shape[3]
		for o := 0; o < ch; o++ {
			var s, ss float64
			for i := 0; i < n; i++ {
				for _, v := range z[(i*ch+o)*hw : (i*ch+o+1)*hw] {
					s += float64(v)
					ss += float64(v) * float64(v)
				}
			}
			cnt := float64(n * hw)
			mean := s / cnt
			std := math.Sqrt(math.Max(ss/cnt-mean*mean, 0)) + 1e-6
			g[o] = float32(1 / std)
			if c.B != nil {
				c.B.Data()[o] = float32(-mean / std)
			}
		}
		prog.Close()
	}
	return nil
}
