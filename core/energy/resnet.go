package energy

import (
	"fmt"
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
	n := x.Shape()[0]
	if x.Dims() != 4 {
		var err error
		if x, err = G.Reshape(x, []int{n, r.C, r.H, r.W}); err != nil {
			return nil, fmt.Errorf("energy: input %v is not %d×%d×%d images: %w", x.Shape(), r.C, r.H, r.W, err)
		}
	}
	h, err := r.Stem.ForwardSwish(b, x, lipSwish)
	if err != nil {
		return nil, err
	}
	for _, blk := range r.Blocks {
		if h, err = blk.Forward(b, h); err != nil {
			return nil, err
		}
	}
	if h, err = nn.SumSpatial(h); err != nil {
		return nil, err
	}
	return r.Head.Forward(b, h)
}

// Forward applies the block.
func (blk *ResBlock) Forward(b *nn.Builder, x *G.Node) (*G.Node, error) {
	h, err := blk.C1.ForwardSwish(b, x, lipSwish)
	if err != nil {
		return nil, err
	}
	if h, err = blk.C2.Forward(b, h); err != nil {
		return nil, err
	}
	skip := x
	if blk.Skip != nil {
		if skip, err = blk.Skip.Forward(b, x); err != nil {
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
	return append(ps, r.Head.Params()...)
}
