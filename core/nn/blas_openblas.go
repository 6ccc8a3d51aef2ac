//go:build !purego

package nn

/*
#cgo LDFLAGS: -lopenblas
*/
import "C"

import (
	"gonum.org/v1/netlib/blas/netlib"
	G "gorgonia.org/gorgonia"
)

// BLAS names the matrix library in use, for run records.
const BLAS = "openblas"

func init() {
	// Sets BLAS for gorgonia and for its tensor package.
	G.Use(netlib.Implementation{})
}
