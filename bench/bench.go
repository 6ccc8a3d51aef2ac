// Package bench times the reference workloads of ../shared/bench/README.md
// (an MLP train step, a conv energy-net train step, a Langevin input
// gradient) through the core's ops, and reports them in the JSON format of
// the PyTorch reference script so the two can be compared line by line.
package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/vaebm/vaebm/core/energy"
	"github.com/vaebm/vaebm/core/nn"
)

// Workload is one reference workload: Setup builds it and returns one step.
// Twin, when set, is the workload of this repository's bench/twins.py, whose
// PyTorch twin checks itself against the case Twin returns before it is
// timed; the others are ../shared/bench/torch_ref.py's.
type Workload struct {
	Name         string
	DefaultSteps int
	Setup        func(rng *rand.Rand) (step func() error, err error)
	Twin         func(rng *rand.Rand) (TwinCase, error)
	// Transitions, when > 1, is how many steps one call of Setup's step
	// takes (a chain of them, as the sampler runs it); times, FLOPs and
	// allocation are reported per transition.
	Transitions int
}

// Workloads are the reference script's workloads in its order, then the
// twins' (bench/twins.py).
var Workloads = []Workload{
	{"mlp", 200, setupMLP, nil, 1},
	{"conv", 20, setupConv, nil, 1},
	{"langevin", 50, setupLangevin, nil, 1},
	{"hvae", 20, setupHVAE, twinHVAE, 1},
	{"xlangevin", 5, setupXLangevin, twinXLangevin, xlTransitions},
}

// Lookup returns the named workload.
func Lookup(name string) (Workload, error) {
	var names []string
	for _, w := range Workloads {
		if w.Name == name {
			return w, nil
		}
		names = append(names, w.Name)
	}
	return Workload{}, fmt.Errorf("no workload %q (have %s)", name, strings.Join(names, ", "))
}

// Result is one workload's timing, in torch_ref.py's fields plus Go's
// allocation per step.
type Result struct {
	Impl          string  `json:"impl"`
	Workload      string  `json:"workload"`
	Threads       int     `json:"threads"`
	Steps         int     `json:"steps"`
	MedianMS      float64 `json:"median_ms"`
	MinMS         float64 `json:"min_ms"`
	PeakRSSMiB    float64 `json:"peak_rss_mib"`
	AllocMiBPerSt float64 `json:"go_alloc_mib_per_step"`
	// GFLOPPerStep counts one step's convolutions and matrix products
	// (nn.OpFLOPs), measured on a step after the timed ones; GFLOPS is
	// that over the median step.
	GFLOPPerStep float64 `json:"gflop_per_step"`
	GFLOPS       float64 `json:"gflops"`
}

// Run times steps steps of w after warmup untimed ones.
func Run(w Workload, steps, warmup int, seed uint64) (Result, error) {
	step, steps, err := warmedUp(w, steps, warmup, seed)
	if err != nil {
		return Result{}, err
	}
	per := max(w.Transitions, 1)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	times := make([]float64, steps)
	for i := range times {
		t0 := time.Now()
		if err := step(); err != nil {
			return Result{}, fmt.Errorf("%s: step %d: %w", w.Name, i, err)
		}
		times[i] = float64(time.Since(t0).Microseconds()) / 1000 / float64(per)
	}
	runtime.ReadMemStats(&after)
	nn.StartOpProfile()
	err = step()
	flops := nn.StopOpProfile().Total().FLOPs / float64(per)
	if err != nil {
		return Result{}, fmt.Errorf("%s: counting a step's FLOPs: %w", w.Name, err)
	}
	sort.Float64s(times)
	med := times[len(times)/2]
	if len(times)%2 == 0 {
		med = (times[len(times)/2-1] + times[len(times)/2]) / 2
	}
	return Result{
		Impl: "go-gorgonia-" + nn.BLAS + "/" + nn.BLASCore(), Workload: w.Name, Threads: runtime.GOMAXPROCS(0),
		Steps: steps, MedianMS: round3(med), MinMS: round3(times[0]), PeakRSSMiB: math.Round(peakRSSMiB()*10) / 10,
		AllocMiBPerSt: round3(float64(after.TotalAlloc-before.TotalAlloc) / float64(steps*per) / (1 << 20)),
		GFLOPPerStep:  round3(flops / 1e9), GFLOPS: math.Round(flops/1e6/med*10) / 10,
	}, nil
}

// warmedUp builds w from seed and runs warmup untimed steps; it returns
// the step and how many to time (steps, or w's default when steps ≤ 0).
func warmedUp(w Workload, steps, warmup int, seed uint64) (func() error, int, error) {
	if steps <= 0 {
		steps = w.DefaultSteps
	}
	step, err := w.Setup(rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", w.Name, err)
	}
	for i := 0; i < warmup; i++ {
		if err := step(); err != nil {
			return nil, 0, fmt.Errorf("%s: warm-up step %d: %w", w.Name, i, err)
		}
	}
	return step, steps, nil
}

// Print writes r as one JSON line.
func (r Result) Print(w io.Writer) error {
	raw, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(raw))
	return err
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// peakRSSMiB is the process's high-water resident set (VmHWM), as the
// reference script reports it.
func peakRSSMiB() float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return -1
}

func fillNormal(rng *rand.Rand, t *tensor.Dense) {
	d := t.Data().([]float32)
	for i := range d {
		d[i] = float32(rng.NormFloat64())
	}
}

// trainStep compiles cost over params and returns a step that refills the
// inputs, runs the graph and takes an Adam step (lr 1e-4, betas 0.9/0.999).
func trainStep(b *nn.Builder, cost *G.Node, params []*nn.Param, refill func()) (func() error, error) {
	prog, err := nn.Compile(b, cost, b.ParamNodes(params))
	if err != nil {
		return nil, err
	}
	opt := nn.NewAdam(params, 1e-4)
	return func() error {
		refill()
		if err := prog.Run(); err != nil {
			return err
		}
		g, err := prog.Grads(params)
		if err != nil {
			return err
		}
		return opt.Step(g)
	}, nil
}

// setupMLP: MLP 2 → 256 → 256 → 256 → 256 → 2 with Swish, batch 512, MSE to random targets.
func setupMLP(rng *rand.Rand) (func() error, error) {
	m := nn.NewMLP(rng, "mlp", []int{2, 256, 256, 256, 256, 2}, "swish")
	b := nn.NewBuilder()
	x, xt := b.Input("x", 512, 2)
	y, yt := b.Input("y", 512, 2)
	out, err := m.Forward(b, x)
	if err != nil {
		return nil, err
	}
	cost, err := G.Mean(G.Must(G.Square(G.Must(G.Sub(out, y)))))
	if err != nil {
		return nil, err
	}
	return trainStep(b, cost, m.Params(), func() { fillNormal(rng, xt); fillNormal(rng, yt) })
}

// NewBenchEnergy is the reference energy net: 3→64 stem, a 64→64 and a
// 64→128 downsampling block, global sum, linear head.
func NewBenchEnergy(rng *rand.Rand) *energy.ResNet {
	return energy.NewResNet(rng, 3, 28, 28, 64, []energy.BlockSpec{{Out: 64, Down: true}, {Out: 128, Down: true}})
}

// setupConv: the energy net on 64 positive and 64 negative images in one
// batch of 128; loss = mean E(pos) − mean E(neg).
func setupConv(rng *rand.Rand) (func() error, error) {
	net := NewBenchEnergy(rng)
	b := nn.NewBuilder()
	x, xt := b.Input("x", 128, 3, 28, 28)
	e, err := net.Forward(b, x)
	if err != nil {
		return nil, err
	}
	sign, st := b.Input("sign", 128, 1)
	d := st.Data().([]float32)
	for i := range d {
		d[i] = 1.0 / 64
		if i >= 64 {
			d[i] = -1.0 / 64
		}
	}
	cost, err := G.Sum(G.Must(G.HadamardProd(e, sign)))
	if err != nil {
		return nil, err
	}
	return trainStep(b, cost, net.Params(), func() { fillNormal(rng, xt) })
}

// setupLangevin: ∇ₓ Σ E(x) for 64 images with the parameters frozen, then
// x ← x − ½η∇ + √η·N(0, 1) with η = 1e-4.
func setupLangevin(rng *rand.Rand) (func() error, error) {
	net := NewBenchEnergy(rng)
	b := nn.NewBuilder()
	x, xt := b.Input("x", 64, 3, 28, 28)
	e, err := net.Forward(b, x)
	if err != nil {
		return nil, err
	}
	cost, err := G.Sum(e)
	if err != nil {
		return nil, err
	}
	prog, err := nn.Compile(b, cost, G.Nodes{x})
	if err != nil {
		return nil, err
	}
	fillNormal(rng, xt)
	state := xt.Data().([]float32)
	const eta = 1e-4
	noise := float32(math.Sqrt(eta))
	return func() error {
		if err := prog.Run(); err != nil {
			return err
		}
		g, err := prog.Grad(x)
		if err != nil {
			return err
		}
		for i, gi := range g {
			state[i] += -0.5*eta*gi + noise*float32(rng.NormFloat64())
		}
		return nil
	}, nil
}

// Profile runs steps steps of w (after warmup untimed ones) with the ops
// of every program timed (nn.StartOpProfile) and writes, per kind of op,
// its calls, time and arithmetic rate per step, longest first, then what
// the step spent outside the graphs (optimizer, sampler and data code).
func Profile(out io.Writer, w Workload, steps, warmup int, seed uint64) error {
	step, steps, err := warmedUp(w, steps, warmup, seed)
	if err != nil {
		return err
	}
	nn.StartOpProfile()
	t0 := time.Now()
	for i := 0; i < steps; i++ {
		if err := step(); err != nil {
			nn.StopOpProfile()
			return fmt.Errorf("%s: step %d: %w", w.Name, i, err)
		}
	}
	wall := time.Since(t0)
	prof := nn.StopOpProfile()
	n := float64(steps * max(w.Transitions, 1))
	perStep := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / n }
	stepMS := perStep(wall)
	fmt.Fprintf(out, "%s: %.1f ms per step (profiled, %d steps)\n", w.Name, stepMS, steps)
	fmt.Fprintf(out, "%-28s %8s %10s %7s %9s\n", "op", "calls", "ms/step", "share", "GFLOP/s")
	row := func(s nn.OpStat) {
		rate := "-"
		if s.FLOPs > 0 && s.Time > 0 {
			rate = fmt.Sprintf("%.1f", s.FLOPs/s.Time.Seconds()/1e9)
		}
		fmt.Fprintf(out, "%-28s %8.1f %10.2f %6.1f%% %9s\n", s.Kind, float64(s.Calls)/n, perStep(s.Time), 100*perStep(s.Time)/stepMS, rate)
	}
	for _, s := range prof.Stats() {
		row(s)
	}
	tot := prof.Total()
	row(tot)
	row(nn.OpStat{Kind: "outside the graphs", Time: wall - tot.Time})
	return nil
}
