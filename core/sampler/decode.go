package sampler

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"github.com/vaebm/vaebm/core/nn"
)

// Decoder evaluates x = T_θ(ε) alone (Eq. 8), without the gradients a
// Langevin step needs: ancestral sampling from the VAE.
type Decoder struct {
	prog   *nn.Program
	epsBuf [][]float32
	x      *nn.Output
	dims   []int
	batch  int
}

// NewDecoder compiles T_θ for batches of `batch` noise draws.
func NewDecoder(gen Generator, batch int) (*Decoder, error) {
	b := nn.NewBuilder()
	d := &Decoder{dims: gen.EpsDims(), batch: batch}
	eps := make([]*G.Node, len(d.dims))
	for i, dim := range d.dims {
		n, t := b.Input(fmt.Sprintf("eps%d", i), batch, dim)
		eps[i] = n
		d.epsBuf = append(d.epsBuf, t.Data().([]float32))
	}
	x, _, err := gen.Transform(b, eps)
	if err != nil {
		return nil, err
	}
	d.x = b.Read(x)
	if d.prog, err = nn.Compile(b, nil, nil); err != nil {
		return nil, err
	}
	return d, nil
}

// Decode returns T_θ(ε) for one batch of noise (batch·dim values per group).
func (d *Decoder) Decode(eps [][]float32) ([]float32, error) {
	if len(eps) != len(d.dims) {
		return nil, fmt.Errorf("decoder: %d noise groups, want %d", len(eps), len(d.dims))
	}
	for i := range eps {
		if len(eps[i]) != len(d.epsBuf[i]) {
			return nil, fmt.Errorf("decoder: group %d has %d values, want %d", i, len(eps[i]), len(d.epsBuf[i]))
		}
		copy(d.epsBuf[i], eps[i])
	}
	if err := d.prog.Run(); err != nil {
		return nil, err
	}
	return append([]float32(nil), d.x.Values()...), nil
}

// Close releases the compiled program.
func (d *Decoder) Close() { d.prog.Close() }

// NewMeanDecoder compiles μ(z), T_θ with ε_x silenced (MeanOf), for
// batches of `batch` noise states; the ε_x it is given is ignored. NVlabs
// reports μ(z) as the sample (sample_VAEBM.py) and, with --use_mu_cd,
// contrasts it with the data in the EBM loss.
func NewMeanDecoder(gen Generator, batch int) (*Decoder, error) {
	return NewDecoder(MeanOf{Generator: gen}, batch)
}

// MeanOf is T_θ with ε_x silenced: x = μ(z), the decoder mean. Chains on
// it descend E_ψ(μ(z)) + ½‖ε‖². ε_x stays in the state, moved by its prior
// term alone, so that noise layouts and the replay buffer are unchanged.
type MeanOf struct{ Generator }

// Transform returns T_θ(ε_z, 0·ε_x).
func (m MeanOf) Transform(b *nn.Builder, eps []*G.Node) (x, sumLogStd *G.Node, err error) {
	if len(eps) == 0 {
		return nil, nil, fmt.Errorf("decoder mean: no noise groups")
	}
	last := len(eps) - 1
	e := append([]*G.Node(nil), eps...)
	if e[last], err = G.Mul(eps[last], b.Scalar(0)); err != nil {
		return nil, nil, err
	}
	return m.Generator.Transform(b, e)
}
