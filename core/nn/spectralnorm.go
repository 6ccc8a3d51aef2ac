package nn

import (
	"fmt"
	"math"
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
}

// NewSpectralNorm puts w under spectral normalisation, starting the power
// iteration from a random u and running it once.
func NewSpectralNorm(rng *rand.Rand, w *Param) *SpectralNorm {
	rows, cols := spectralShape(w)
	s := &SpectralNorm{W: w, U: NewParam(w.Name+".sn_u", rows), V: NewParam(w.Name+".sn_v", cols)}
	s.U.Buffer, s.V.Buffer = true, true
	u := s.U.Data()
	for i := range u {
		u[i] = float32(rng.NormFloat64())
	}
	normalize32(u)
	s.Iterate(1)
	return s
}

func spectralShape(w *Param) (rows, cols int) {
	sh := w.T.Shape()
	return sh[0], sh.TotalSize() / sh[0]
}

// Iterate runs n steps of power iteration on the current weight:
// v ← Wᵀu/‖Wᵀu‖, u ← Wv/‖Wv‖. It returns the estimate uᵀWv of σ(W).
func (s *SpectralNorm) Iterate(n int) float64 {
	rows, cols := spectralShape(s.W)
	w, u, v := s.W.Data(), s.U.Data(), s.V.Data()
	for it := 0; it < n; it++ {
		for j := range v {
			v[j] = 0
		}
		for i := 0; i < rows; i++ {
			ui := u[i]
			for j, wij := range w[i*cols : (i+1)*cols] {
				v[j] += wij * ui
			}
		}
		normalize32(v)
		for i := 0; i < rows; i++ {
			u[i] = dot32(w[i*cols:(i+1)*cols], v)
		}
		normalize32(u)
	}
	sigma := 0.0
	for i := 0; i < rows; i++ {
		sigma += float64(u[i]) * float64(dot32(w[i*cols:(i+1)*cols], v))
	}
	return sigma
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

func dot32(a, b []float32) float32 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return float32(s)
}

// normalize32 scales x to unit length (PyTorch's eps of 1e-12 guards zero).
func normalize32(x []float32) {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	n := math.Max(math.Sqrt(s), 1e-12)
	for i := range x {
		x[i] = float32(float64(x[i]) / n)
	}
}
