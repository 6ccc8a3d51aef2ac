//go:build !purego

package nn

/*
#cgo LDFLAGS: -lopenblas
char* openblas_get_corename(void);
void openblas_set_num_threads(int);
*/
import "C"

import (
	"os"
	"strings"
	"syscall"

	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/netlib/blas/netlib"
	G "gorgonia.org/gorgonia"
)

// BLAS names the matrix library in use, for run records.
const BLAS = "openblas"

func init() {
	// One BLAS thread: the core's ops split work over images and elements
	// across the cores themselves, and idle OpenBLAS workers spin in
	// sched_yield between calls, taking the core that Go code is using
	// (28% of a conv training step's CPU time went there).
	C.openblas_set_num_threads(1)
	// Sets BLAS for gorgonia and for its tensor package, and for the core's own ops.
	G.Use(netlib.Implementation{})
	blas32.Use(netlib.Implementation{})
	blas64.Use(netlib.Implementation{})
}

// BLASCore returns the kernel family the BLAS library chose at load time.
func BLASCore() string { return C.GoString(C.openblas_get_corename()) }

// genericCores are the kernels OpenBLAS's DYNAMIC_ARCH falls back to when it
// does not recognise the CPU: SSE-era code, 3–4× slower than AVX-512.
var genericCores = map[string]bool{"Prescott": true, "Core2": true, "Penryn": true, "Nehalem": true, "Katmai": true, "Northwood": true, "Banias": true, "Atom": true}

// FixBLASCore re-executes the program with OPENBLAS_CORETYPE set when
// OpenBLAS fell back to a generic kernel on a CPU it did not recognise but
// that has AVX2 or AVX-512. Debian's OpenBLAS 0.3.21 does this on
// virtualised Sapphire Rapids ("Intel Xeon Processor"), picking Prescott:
// the MLP workload then takes 40 ms a step instead of 24 ms. OpenBLAS reads
// the variable only when the library loads, hence the exec. It returns
// (doing nothing) when the variable is set, the kernel is fine, or exec fails.
func FixBLASCore() {
	if os.Getenv("OPENBLAS_CORETYPE") != "" || !genericCores[BLASCore()] {
		return
	}
	core := coreForCPU()
	if core == "" {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	env := append(os.Environ(), "OPENBLAS_CORETYPE="+core)
	_ = syscall.Exec(exe, os.Args, env)
}

// coreForCPU names the best OpenBLAS kernel family for this CPU's flags.
func coreForCPU() string {
	raw, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	var flags map[string]bool
	for _, line := range strings.Split(string(raw), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "flags" {
			flags = map[string]bool{}
			for _, f := range strings.Fields(v) {
				flags[f] = true
			}
			break
		}
	}
	switch {
	case flags["avx512_bf16"] && flags["avx512vl"]:
		return "Cooperlake"
	case flags["avx512f"] && flags["avx512vl"] && flags["avx512bw"]:
		return "SkylakeX"
	case flags["avx2"] && flags["fma"]:
		return "Haswell"
	}
	return ""
}
