package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// SpectralRegularizer adds Coef · Σ_l σ_max(W_l) to a loss, the spectral
// regularisation that NVAE and VAEBM (App. E, coefficient 0.2) apply to
// every layer of the energy. A weight of any rank is read as a matrix of
// its first axis by the rest (a conv kernel (O, C, K, K) as O × C·K·K). For a
// weight-normalised layer (a direction W with a gain W.Name+".g") the
// penalty is on the effective weight g·W/‖W‖ and its gradient goes to both.
// σ_max and its gradient u vᵀ come from power iteration whose vectors
// persist across steps, so one iteration per step tracks the slowly
// changing weights.
type SpectralRegularizer struct {
	Coef float64

	weights []*Param
	gains   []*Param // nil where the layer is not weight-normalised
	u, v    [][]float64
	// Scratch reused across steps: the effective weight and its gradient,
	// and for weight-normalised layers the direction, gain and their gradients.
	w, dw, dir, gain, dv, dg []float64
}

// NewSpectralRegularizer covers every weight among ps (biases and gains are skipped).
func NewSpectralRegularizer(coef float64, ps []*Param, rng *rand.Rand) *SpectralRegularizer {
	s := &SpectralRegularizer{Coef: coef}
	byName := make(map[string]*Param, len(ps))
	for _, p := range ps {
		byName[p.Name] = p
	}
	for _, p := range ps {
		if !p.Weight || p.T.Dims() < 2 {
			continue
		}
		rows, cols := matrixShape(p)
		u, v := make([]float64, rows), make([]float64, cols)
		for i := range u {
			u[i] = rng.NormFloat64()
		}
		normalize(u)
		s.weights, s.u, s.v = append(s.weights, p), append(s.u, u), append(s.v, v)
		s.gains = append(s.gains, byName[p.Name+".g"])
	}
	return s
}

func matrixShape(p *Param) (rows, cols int) {
	rows = p.T.Shape()[0]
	return rows, p.T.Shape().TotalSize() / rows
}

// AddGrad runs `iters` power iterations per weight, adds Coef·∂σ/∂(params)
// to the gradients (grads is aligned with ps as given to the optimiser,
// looked up by param), and returns the penalty Coef·Σσ.
func (s *SpectralRegularizer) AddGrad(ps []*Param, grads [][]float32, iters int) float64 {
	index := make(map[*Param]int, len(ps))
	for i, p := range ps {
		index[p] = i
	}
	var total float64
	for k, p := range s.weights {
		rows, cols := matrixShape(p)
		w := grow(&s.w, rows*cols)
		gain := s.gains[k]
		var dir, g []float64
		if gain == nil {
			toF64(w, p.Data())
		} else {
			dir, g = toF64(grow(&s.dir, rows*cols), p.Data()), toF64(grow(&s.gain, rows), gain.Data())
			weightNorm(dir, g, w, rows, cols)
		}
		u, v := s.u[k], s.v[k]
		total += powerIterate(w, u, v, rows, cols, max(iters, 1))
		// ∂σ/∂W = u vᵀ, then through the weight normalisation if any.
		dw := grow(&s.dw, rows*cols)
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				dw[r*cols+c] = s.Coef * u[r] * v[c]
			}
		}
		if gain == nil {
			addTo(grads, index, p, dw)
			continue
		}
		dv, dg := grow(&s.dv, rows*cols), grow(&s.dg, rows)
		weightNormGrad(dir, g, dw, dv, rows, cols, false)
		weightNormGrad(dir, g, dw, dg, rows, cols, true)
		addTo(grads, index, p, dv)
		addTo(grads, index, gain, dg)
	}
	return s.Coef * total
}

// toF64 converts x into dst (of the same length) and returns dst.
func toF64(dst []float64, x []float32) []float64 {
	for i, v := range x {
		dst[i] = float64(v)
	}
	return dst
}

func addTo(grads [][]float32, index map[*Param]int, p *Param, d []float64) {
	i, ok := index[p]
	if !ok {
		return
	}
	g := grads[i]
	for j, x := range d {
		g[j] += float32(x)
	}
}

// powerIterate runs n ≥ 1 steps of power iteration on the rows×cols
// matrix w from u: v ← Wᵀu/‖Wᵀu‖, u ← Wv/‖Wv‖. It returns σ = uᵀWv = ‖Wv‖
// of the last step, the estimate of w's largest singular value.
func powerIterate(w, u, v []float64, rows, cols, n int) (sigma float64) {
	for it := 0; it < n; it++ {
		clear(v)
		for r := 0; r < rows; r++ {
			ur := u[r]
			for c, x := range w[r*cols : (r+1)*cols] {
				v[c] += ur * x
			}
		}
		normalize(v)
		for r := 0; r < rows; r++ {
			var dot float64
			for c, x := range w[r*cols : (r+1)*cols] {
				dot += x * v[c]
			}
			u[r] = dot
		}
		sigma = normalize(u)
	}
	return sigma
}

func normalize(x []float64) float64 {
	var n float64
	for _, v := range x {
		n += v * v
	}
	n = math.Sqrt(n)
	if n == 0 {
		return 0
	}
	for i := range x {
		x[i] /= n
	}
	return n
}

// State returns the power-iteration vectors u (v is recomputed from u each step).
func (s *SpectralRegularizer) State() [][]float64 {
	out := make([][]float64, len(s.u))
	for i, u := range s.u {
		out[i] = append([]float64(nil), u...)
	}
	return out
}

// SetState restores vectors saved by State.
func (s *SpectralRegularizer) SetState(us [][]float64) error {
	if len(us) != len(s.u) {
		return fmt.Errorf("spectral state holds %d vectors, want %d", len(us), len(s.u))
	}
	for i := range us {
		if len(us[i]) != len(s.u[i]) {
			return fmt.Errorf("spectral state vector %d has %d elements, want %d", i, len(us[i]), len(s.u[i]))
		}
		copy(s.u[i], us[i])
	}
	return nil
}
