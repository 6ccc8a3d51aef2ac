package bench

import (
	"os"
	"testing"

	"github.com/vaebm/vaebm/core/nn"
)

func TestMain(m *testing.M) {
	nn.FixBLASCore()
	os.Exit(m.Run())
}

// Each workload builds and runs two timed steps without error.
func TestWorkloadsRun(t *testing.T) {
	for _, w := range Workloads {
		t.Run(w.Name, func(t *testing.T) {
			if testing.Short() && w.Name != "mlp" {
				t.Skip("conv workloads take seconds")
			}
			r, err := Run(w, 2, 1, 1)
			if err != nil {
				t.Fatal(err)
			}
			if r.Steps != 2 || !(r.MedianMS > 0) {
				t.Fatalf("result %+v", r)
			}
		})
	}
}

func benchmarkWorkload(b *testing.B, name string) {
	w, err := Lookup(name)
	if err != nil {
		b.Fatal(err)
	}
	r, err := Run(w, b.N, 2, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(r.MedianMS, "median-ms")
	b.ReportMetric(r.AllocMiBPerSt, "MiB-alloc/step")
}

func BenchmarkMLP(b *testing.B)      { benchmarkWorkload(b, "mlp") }
func BenchmarkConv(b *testing.B)     { benchmarkWorkload(b, "conv") }
func BenchmarkLangevin(b *testing.B) { benchmarkWorkload(b, "langevin") }
