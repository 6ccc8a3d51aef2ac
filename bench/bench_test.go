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
	benchmarkAB(b, func(on bool) { nn.Winograd = on }, "im2col", "wino")
}

// BenchmarkSIMDAB is BenchmarkWinogradAB for nn.SIMD, the AVX2+FMA kernels
// of Swish and its gradient: ratio go/simd > 1 means the kernels are faster.
func BenchmarkSIMDAB(b *testing.B) {
	benchmarkAB(b, func(on bool) { nn.SIMD = on }, "go", "simd")
}

// benchmarkAB times the conv, langevin, hvae and xlangevin workloads with set(false) (named
// off) and set(true) (named on), alternating step by step.
func benchmarkAB(b *testing.B, set func(bool), off, on string) {
	for _, name := range abWorkloads {
		b.Run(name, func(b *testing.B) {
			w, err := Lookup(name)
			if err != nil {
				b.Fatal(err)
			}
			step, err := w.Setup(rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				b.Fatal(err)
			}
			defer set(true)
			timed := func(v bool) float64 {
				set(v)
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
			var offT, onT []float64
			var alloc uint64
			var m0, m1 runtime.MemStats
			for b.Loop() {
				offT = append(offT, timed(false))
				runtime.ReadMemStats(&m0)
				onT = append(onT, timed(true))
				runtime.ReadMemStats(&m1)
				alloc += m1.TotalAlloc - m0.TotalAlloc
			}
			mo, mw := median(offT), median(onT)
			b.ReportMetric(mo*1e3, off+"-ms")
			b.ReportMetric(mw*1e3, on+"-ms")
			b.ReportMetric(mo/mw, off+"/"+on)
			b.ReportMetric(float64(alloc)/float64(len(onT))/(1<<20), on+"-MiB-alloc/step")
		})
	}
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}

// abWorkloads are the workloads benchmarkAB times.
var abWorkloads = []string{"conv", "langevin", "hvae", "xlangevin"}
