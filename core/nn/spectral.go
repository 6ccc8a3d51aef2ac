package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// SpectralRegularizer adds Coef · Σ_l σ_max(W_l) to a loss, the spectral
// regularisation that NVAE and VAEBM (App. E, coefficient 0.2) apply to
// every layer of the energy. σ_max and its gradient u vᵀ come from power
// iteration whose vectors persist across steps, so one iteration per step
// tracks the slowly changing weights.
type SpectralRegularizer struct {
	Coef float64

	weights []*Param
	u, v    [][]float64
}

// NewSpectralRegularizer covers every 2-D weight among ps (biases are skipped).
func NewSpectralRegularizer(coef float64, ps []*Param, rng *rand.Rand) *SpectralRegularizer {
	s := &SpectralRegularizer{Coef: coef}
	for _, p := range ps {
		if !p.Weight || p.T.Dims() != 2 {
			continue
		}
		rows, cols := p.T.Shape()[0], p.T.Shape()[1]
		u, v := make([]float64, rows), make([]float64, cols)
		for i := range u {
			u[i] = rng.NormFloat64()
		}
		normalize(u)
		s.weights, s.u, s.v = append(s.weights, p), append(s.u, u), append(s.v, v)
	}
	return s
}

// AddGrad runs `iters` power iterations per weight, adds Coef·u vᵀ to the
// weight's gradient (grads is aligned with ps as given to the optimiser,
// looked up by param), and returns the penalty Coef·Σσ.
func (s *SpectralRegularizer) AddGrad(ps []*Param, grads [][]float32, iters int) float64 {
	index := make(map[*Param]int, len(ps))
	for i, p := range ps {
		index[p] = i
	}
	var total float64
	for k, p := range s.weights {
		w := p.Data()
		rows, cols := p.T.Shape()[0], p.T.Shape()[1]
		u, v := s.u[k], s.v[k]
		var sigma float64
		for it := 0; it < max(iters, 1); it++ {
			// v = Wᵀu / ‖Wᵀu‖, u = Wv / ‖Wv‖, σ = uᵀWv = ‖Wv‖.
			clear(v)
			for r := 0; r < rows; r++ {
				ur := u[r]
				row := w[r*cols : (r+1)*cols]
				for c, x := range row {
					v[c] += ur * float64(x)
				}
			}
			normalize(v)
			for r := 0; r < rows; r++ {
				var dot float64
				for c, x := range w[r*cols : (r+1)*cols] {
					dot += float64(x) * v[c]
				}
				u[r] = dot
			}
			sigma = normalize(u)
		}
		total += sigma
		if i, ok := index[p]; ok {
			g := grads[i]
			for r := 0; r < rows; r++ {
				cu := s.Coef * u[r]
				for c := 0; c < cols; c++ {
					g[r*cols+c] += float32(cu * v[c])
				}
			}
		}
	}
	return s.Coef * total
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
