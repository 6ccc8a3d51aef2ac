//go:build purego

package nn

// BLAS names the matrix library in use, for run records.
const BLAS = "gonum (pure Go)"

// BLASCore returns the kernel family of the BLAS library.
func BLASCore() string { return "go" }

// FixBLASCore does nothing for the pure-Go BLAS.
func FixBLASCore() {}
