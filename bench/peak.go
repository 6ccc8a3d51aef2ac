package bench

import (
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/vaebm/vaebm/core/nn"
)

// Peak is what the workloads' GFLOP/s compare with: this machine's
// nominal float32 peak and the rate the BLAS the core uses reaches on
// large matrix products.
type Peak struct {
	Workload string  `json:"workload"` // "peak"
	Cores    int     `json:"cores"`
	MHz      float64 `json:"cpu_mhz"`
	// FLOPPerCycle is per core: 2 FMA units × 16 float32 lanes (AVX-512)
	// × 2 FLOPs, or 8 lanes with AVX2 only.
	FLOPPerCycle  int     `json:"flop_per_cycle_per_core"`
	NominalGFLOPS float64 `json:"nominal_gflops"`
	// SGEMMGFLOPS: one 1024×1024×1024 SGEMM per core at once, as the
	// convolutions run theirs (single-threaded BLAS, a core each).
	SGEMMGFLOPS float64 `json:"sgemm_gflops"`
	BLAS        string  `json:"blas"`
}

// MeasurePeak computes the nominal peak from /proc/cpuinfo and times
// concurrent SGEMMs, the best of reps.
func MeasurePeak(reps int) Peak {
	p := Peak{Workload: "peak", Cores: runtime.GOMAXPROCS(0), BLAS: nn.BLAS + "/" + nn.BLASCore()}
	p.MHz, p.FLOPPerCycle = cpuInfo()
	p.NominalGFLOPS = float64(p.Cores) * p.MHz * float64(p.FLOPPerCycle) / 1e3
	const n = 1024
	rng := rand.New(rand.NewPCG(1, 1))
	mats := make([][3][]float32, p.Cores)
	for i := range mats {
		for j := range mats[i] {
			m := make([]float32, n*n)
			for k := range m {
				m[k] = rng.Float32()
			}
			mats[i][j] = m
		}
	}
	best := time.Duration(1 << 62)
	for r := 0; r < reps; r++ {
		var wg sync.WaitGroup
		t0 := time.Now()
		for i := range mats {
			wg.Add(1)
			go func(m [3][]float32) {
				defer wg.Done()
				blas32.Implementation().Sgemm(blas.NoTrans, blas.NoTrans, n, n, n, 1, m[0], n, m[1], n, 0, m[2], n)
			}(mats[i])
		}
		wg.Wait()
		best = min(best, time.Since(t0))
	}
	p.SGEMMGFLOPS = float64(int(2*n*n*n*float64(p.Cores)/best.Seconds()/1e8)) / 10
	return p
}

// cpuInfo reads the first core's clock and whether it has AVX-512.
func cpuInfo() (mhz float64, flopPerCycle int) {
	raw, _ := os.ReadFile("/proc/cpuinfo")
	flopPerCycle = 2 * 8 * 2
	for _, line := range strings.Split(string(raw), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "cpu MHz":
			if mhz == 0 {
				mhz, _ = strconv.ParseFloat(strings.TrimSpace(v), 64)
			}
		case "flags":
			if strings.Contains(" "+v+" ", " avx512f ") {
				flopPerCycle = 2 * 16 * 2
			}
		}
	}
	return mhz, flopPerCycle
}
