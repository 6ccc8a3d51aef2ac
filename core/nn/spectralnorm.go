package nn

import (
	"fmt"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
)

// SpectralNorm divides a weight by its largest singular value (Miyato et
// al. 2018), which IGEBM's energies and the WGAN critic of App. F use. The
// weight is viewed as a matrix of its first axis by the rest; σ is
// estimated as uᵀ W v from vectors u, v that Iterate refines by power
// iteration between training steps. The graph holds u and v fixed, so the
// gradient goes through σ(W) = uᵀ W v as in PyTorch's spectral_norm.
type SpectralNorm struct {
	W    *Param
	U, V *Param // buffers: saved with the parameters, not trained

	w, u, v []float64 // scratch for the power iteration, which runs in float64
}

// NewSpectralNorm puts w under spectral normalisation, starting the power
// iteration from a random u and running it once.
func NewSpectralNorm(rng *rand.Rand, w *Param) *SpectralNorm {
	rows, cols := matrixShape(w)
	s := &SpectralNorm{W: w, U: NewParam(w.Name+".sn_u", rows), V: NewParam(w.Name+".sn_v", cols)}
	s.U.Buffer, s.V.Buffer = true, true
	u := s.U.Data()
	for i := range u {
		u[i] = float32(rng.NormFloat64())
	}
	s.Iterate(1)
	return s
}

// Iterate runs n steps of power iteration on the current weight (the
// spectral regulariser's, in float64, from the stored u) and stores u and
// v. It returns the estimate uᵀWv of σ(W) from the stored vectors, which
// is what the graph divides by.
func (s *SpectralNorm) Iterate(n int) float64 {
	rows, cols := matrixShape(s.W)
	w, u, v := toF64(grow(&s.w, rows*cols), s.W.Data()), toF64(grow(&s.u, rows), s.U.Data()), grow(&s.v, cols)
	if n > 0 {
		powerIterate(w, u, v, rows, cols, n)
		// Round to what is stored, so that σ below is the graph's.
		toF64(u, toF32(s.U.Data(), u))
		toF64(v, toF32(s.V.Data(), v))
	} else {
		toF64(v, s.V.Data())
	}
	var sigma float64
	for r := 0; r < rows; r++ {
		var dot float64
		for c, x := range w[r*cols : (r+1)*cols] {
			dot += x * v[c]
		}
		sigma += u[r] * dot
	}
	return sigma
}

// toF32 writes x into dst as float32 and returns dst.
func toF32(dst []float32, x []float64) []float32 {
	for i, v := range x {
		dst[i] = float32(v)
	}
	return dst
}

// Apply returns the node of W/σ(W) for w, the node of s.W (or, in tests,
// any node of its shape), with u and v the nodes of s.U and s.V.
func (s *SpectralNorm) Apply(w, u, v *G.Node) (*G.Node, error) {
	sh := w.Shape()
	if len(sh) < 2 || u.Shape().TotalSize() != sh[0] || v.Shape().TotalSize() != sh.TotalSize()/sh[0] {
		return nil, fmt.Errorf("spectral norm: weight %v does not fit u %v and v %v", sh, u.Shape(), v.Shape())
	}
	m := w
	if len(sh) > 2 {
		var err error
		if m, err = G.Reshape(w, []int{sh[0], sh.TotalSize() / sh[0]}); err != nil {
			return nil, err
		}
	}
	wv, err := G.Mul(m, v)
	if err != nil {
		return nil, err
	}
	sigma, err := G.Mul(u, wv)
	if err != nil {
		return nil, err
	}
	return G.Div(w, sigma)
}

// Node adds W/σ(W) to b's graph.
func (s *SpectralNorm) Node(b *Builder) (*G.Node, error) {
	return s.Apply(b.Node(s.W), b.Node(s.U), b.Node(s.V))
}
