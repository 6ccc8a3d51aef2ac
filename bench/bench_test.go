package bench

import (
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

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

// BenchmarkWinogradAB runs the conv and langevin workloads with the
// Winograd path of 3×3 convolutions on and off (nn.Winograd), alternating
// step by step in one process so that a busy machine slows both alike, and
// reports the median step of each, their ratio (im2col/winograd > 1:
// Winograd is faster) and the Winograd steps' allocation.
func BenchmarkWinogradAB(b *testing.B) {
	for _, name := range []string{"conv", "langevin"} {
		b.Run(name, func(b *testing.B) {
			w, err := Lookup(name)
			if err != nil {
				b.Fatal(err)
			}
			step, err := w.Setup(rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				b.Fatal(err)
			}
			defer func() { nn.Winograd = true }()
			timed := func(on bool) float64 {
				nn.Winograd = on
				t0 := time.Now()
				if err := step(); err != nil {
					b.Fatal(err)
				}
				return time.Since(t0).Seconds()
			}
			for range 2 { // warm both paths' buffers
				timed(false)
				timed(true)
			}
			var off, on []float64
			var alloc uint64
			var m0, m1 runtime.MemStats
			for b.Loop() {
				off = append(off, timed(false))
				runtime.ReadMemStats(&m0)
				on = append(on, timed(true))
				runtime.ReadMemStats(&m1)
				alloc += m1.TotalAlloc - m0.TotalAlloc
			}
			mo, mw := median(off), median(on)
			b.ReportMetric(mo*1e3, "im2col-ms")
			b.ReportMetric(mw*1e3, "wino-ms")
			b.ReportMetric(mo/mw, "im2col/wino")
			b.ReportMetric(float64(alloc)/float64(len(on))/(1<<20), "wino-MiB-alloc/step")
		})
	}
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}
