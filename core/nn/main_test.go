package nn

import (
	"os"
	"testing"
)

// TestMain makes benchmarks run on the right BLAS kernels (see FixBLASCore).
func TestMain(m *testing.M) {
	FixBLASCore()
	os.Exit(m.Run())
}
