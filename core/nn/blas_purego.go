//go:build purego

package nn

// BLAS names the matrix library in use, for run records.
const BLAS = "gonum (pure Go)"
