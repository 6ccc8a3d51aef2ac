package sampler

import (
	"os"
	"testing"

	"github.com/vaebm/vaebm/core/nn"
)

// TestMain makes benchmarks run on the right BLAS kernels (see FixBLASCore).
func TestMain(m *testing.M) {
	nn.FixBLASCore()
	os.Exit(m.Run())
}
