package metrics

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// FeatureStats are the mean and covariance of a set of feature vectors: the
// Gaussian that the Fréchet distance (Heusel et al. 2017) fits to each set.
type FeatureStats struct {
	N    int       // vectors summarised
	Mean []float64 // D
	// Cov is the D×D sample covariance, row-major, normalised by N − 1 as
	// numpy.cov (and so pytorch-fid and TTUR) do.
	Cov []float64
}

// Dim is the feature dimension.
func (s FeatureStats) Dim() int { return len(s.Mean) }

// NewFeatureStats summarises n = len(features)/d vectors of d values,
// accumulating in float64. It needs n ≥ 2 and finite values.
func NewFeatureStats(features []float32, d int) (FeatureStats, error) {
	if d < 1 || len(features)%d != 0 {
		return FeatureStats{}, fmt.Errorf("feature stats: %d values is not a whole number of %d-vectors", len(features), d)
	}
	n := len(features) / d
	if n < 2 {
		return FeatureStats{}, fmt.Errorf("feature stats: %d vectors, need at least 2 for a covariance", n)
	}
	mean := make([]float64, d)
	for i, v := range features {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return FeatureStats{}, fmt.Errorf("feature stats: value %d of vector %d is %v", i%d, i/d, v)
		}
		mean[i%d] += float64(v)
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	centred := make([]float64, len(features))
	for i, v := range features {
		centred[i] = float64(v) - mean[i%d]
	}
	// Cov = Xcᵀ Xc / (n − 1), the upper triangle by one rank-k update.
	cov := blas64.Symmetric{Uplo: blas.Upper, N: d, Stride: d, Data: make([]float64, d*d)}
	blas64.Syrk(blas.Trans, 1/float64(n-1), blas64.General{Rows: n, Cols: d, Stride: d, Data: centred}, 0, cov)
	for i := 0; i < d; i++ {
		for j := 0; j < i; j++ {
			cov.Data[i*d+j] = cov.Data[j*d+i]
		}
	}
	return FeatureStats{N: n, Mean: mean, Cov: cov.Data}, nil
}

// FrechetDistance is the squared Fréchet (2-Wasserstein) distance between
// the Gaussians N(μ₁, Σ₁) and N(μ₂, Σ₂):
//
//	‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁^½ Σ₂ Σ₁^½)^½,
//
// the FID formula. (Σ₁Σ₂)^½ of the usual statement has the same trace as
// the symmetric form used here, whose square roots are taken through
// eigendecompositions of symmetric matrices, with the eigenvalues that
// rounding leaves slightly negative set to 0. This stays accurate for
// singular or near-singular covariances, where scipy's sqrtm of the
// non-symmetric product can return complex values.
func FrechetDistance(a, b FeatureStats) (float64, error) {
	d := a.Dim()
	if d == 0 || b.Dim() != d || len(a.Cov) != d*d || len(b.Cov) != d*d {
		return 0, fmt.Errorf("fréchet distance: feature sizes %d and %d (covariances %d and %d values)", d, b.Dim(), len(a.Cov), len(b.Cov))
	}
	var dist float64
	for i := range a.Mean {
		dm := a.Mean[i] - b.Mean[i]
		dist += dm * dm
	}
	s1, s2 := mat.NewSymDense(d, a.Cov), mat.NewSymDense(d, b.Cov)
	root1, err := sqrtSym(s1)
	if err != nil {
		return 0, err
	}
	// M = Σ₁^½ Σ₂ Σ₁^½, symmetrised against rounding.
	var t, m mat.Dense
	t.Mul(root1, s2)
	m.Mul(&t, root1)
	sym := mat.NewSymDense(d, nil)
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			sym.SetSym(i, j, (m.At(i, j)+m.At(j, i))/2)
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(sym, false) {
		return 0, errors.New("fréchet distance: the eigendecomposition of Σ₁^½ Σ₂ Σ₁^½ did not converge")
	}
	var trRoot float64
	for _, l := range eig.Values(nil) {
		trRoot += math.Sqrt(math.Max(l, 0))
	}
	for i := 0; i < d; i++ {
		dist += s1.At(i, i) + s2.At(i, i)
	}
	dist -= 2 * trRoot
	if math.IsNaN(dist) || math.IsInf(dist, 0) {
		return 0, fmt.Errorf("fréchet distance: %v", dist)
	}
	// A distance is ≥ 0; rounding can leave −1e-12 for equal sets.
	return math.Max(dist, 0), nil
}

// sqrtSym returns the symmetric square root V·diag(√max(λ, 0))·Vᵀ of a
// symmetric positive semi-definite matrix.
func sqrtSym(s *mat.SymDense) (*mat.Dense, error) {
	var eig mat.EigenSym
	if !eig.Factorize(s, true) {
		return nil, errors.New("fréchet distance: the eigendecomposition of a covariance did not converge")
	}
	vals := eig.Values(nil)
	var v mat.Dense
	eig.VectorsTo(&v)
	d := len(vals)
	scaled := mat.NewDense(d, d, nil)
	for j, l := range vals {
		r := math.Sqrt(math.Max(l, 0))
		for i := 0; i < d; i++ {
			scaled.Set(i, j, v.At(i, j)*r)
		}
	}
	var root mat.Dense
	root.Mul(scaled, v.T())
	return &root, nil
}
