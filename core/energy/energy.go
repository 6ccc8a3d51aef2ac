// Package energy holds the energy networks E_ψ(x) of the EBM component.
package energy

import (
	"math/rand/v2"

	G "gorgonia.org/gorgonia"

	"github.com/vaebm/vaebm/core/nn"
)

// MLP is the toy energy function of Sec. 5.4: fully connected layers ending
// in a scalar per sample.
type MLP struct {
	Net *nn.MLP
	// InputScale multiplies x before the first layer (1 when 0). The toy's
	// modes are 0.084 wide in a square 4 wide; with PyTorch's default
	// initialisation the first layer's features vary on a scale of about 2,
	// and Adam needs many thousands of steps to grow them to the modes' scale.
	InputScale float64
}

// NewMLP builds an energy with `layers` fully connected layers of `hidden` units.
func NewMLP(rng *rand.Rand, xdim, hidden, layers int, act string, inputScale float64) *MLP {
	w := []int{xdim}
	for i := 0; i < layers-1; i++ {
		w = append(w, hidden)
	}
	return &MLP{Net: nn.NewMLP(rng, "energy", append(w, 1), act), InputScale: inputScale}
}

// Forward returns E_ψ(x) as a (batch, 1) node.
func (m *MLP) Forward(b *nn.Builder, x *G.Node) (*G.Node, error) {
	if m.InputScale != 0 && m.InputScale != 1 {
		var err error
		if x, err = G.Mul(x, b.Scalar(m.InputScale)); err != nil {
			return nil, err
		}
	}
	return m.Net.Forward(b, x)
}

// Params returns ψ.
func (m *MLP) Params() []*nn.Param { return m.Net.Params() }

// SpectralNormalize puts every layer under spectral normalisation (the
// toy's WGAN critic); rng starts the power iterations.
func (m *MLP) SpectralNormalize(rng *rand.Rand) {
	for _, l := range m.Net.Layers {
		l.SpectralNormalize(rng)
	}
}

// SpectralNorms returns the layers' spectral normalisations, for the
// trainers to advance; none without them.
func (m *MLP) SpectralNorms() []*nn.SpectralNorm {
	var out []*nn.SpectralNorm
	for _, l := range m.Net.Layers {
		if l.Spectral != nil {
			out = append(out, l.Spectral)
		}
	}
	return out
}
