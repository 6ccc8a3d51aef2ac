package nn

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// Adam's update, split over the cores by chunks, is the textbook update
// element by element: computed here serially in float64 for parameters
// that span several chunks and some that are tiny, with clipping and weight
// decay on, over several steps, and bit-identical on one core and on two,
// with the assembly kernel and with the Go loop alone.
func TestAdamMatchesSerialReference(t *testing.T) {
	sizes := []int{3, adamChunkSize*2 + 17, 1, adamChunkSize - 1, 64}
	run := func(procs int, simd bool) [][]float32 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		defer func(old bool) { SIMD = old }(SIMD)
		SIMD = simd
		rng := rand.New(rand.NewPCG(7, 7))
		var ps []*Param
		for i, n := range sizes {
			p := NewParam("p"+string(rune('a'+i)), n)
			p.InitUniform(rng, 1)
			ps = append(ps, p)
		}
		a := NewAdam(ps, 1e-2)
		a.WeightDecay, a.ClipStd = 1e-3, 2
		for step := 0; step < 4; step++ {
			grads := make([][]float32, len(ps))
			for i, p := range ps {
				grads[i] = make([]float32, len(p.Data()))
				for j := range grads[i] {
					grads[i][j] = float32(rng.NormFloat64())
				}
			}
			if err := a.Step(grads); err != nil {
				t.Fatal(err)
			}
		}
		var out [][]float32
		for _, p := range ps {
			out = append(out, slices.Clone(p.Data()))
		}
		return out
	}
	// The reference, one element at a time.
	rng := rand.New(rand.NewPCG(7, 7))
	var w, m, v [][]float64
	for _, n := range sizes {
		wi := make([]float64, n)
		for j := range wi {
			wi[j] = float64(float32((2*rng.Float64() - 1) * 1))
		}
		w, m, v = append(w, wi), append(m, make([]float64, n)), append(v, make([]float64, n))
	}
	for step := 1; step <= 4; step++ {
		c1, c2, c2prev := 1-math.Pow(0.9, float64(step)), 1-math.Pow(0.999, float64(step)), 1-math.Pow(0.999, float64(step-1))
		for i := range w {
			for j := range w[i] {
				g := float64(float32(rng.NormFloat64())) + 1e-3*w[i][j]
				if step > 1 {
					lim := 2 * math.Sqrt(v[i][j]/c2prev)
					g = math.Max(-lim, math.Min(lim, g))
				}
				m[i][j] = float64(float32(0.9*m[i][j] + 0.1*g))
				v[i][j] = float64(float32(0.999*v[i][j] + 0.001*g*g))
				w[i][j] = float64(float32(w[i][j]) - float32(1e-2*(m[i][j]/c1)/(math.Sqrt(v[i][j]/c2)+1e-8)))
			}
		}
	}
	one, two, loop := run(1, true), run(2, true), run(2, false)
	for i := range one {
		if !slices.Equal(one[i], two[i]) {
			t.Fatalf("param %d differs between one core and two", i)
		}
		if !slices.Equal(loop[i], two[i]) {
			t.Fatalf("param %d differs between the assembly kernel and the Go loop", i)
		}
		for j, x := range two[i] {
			if d := math.Abs(float64(x) - w[i][j]); d > 1e-6 {
				t.Fatalf("param %d[%d] = %v, reference %v", i, j, x, w[i][j])
			}
		}
	}
}

// A gradient of the wrong size is refused before any parameter moves.
func TestAdamRefusesBadGradient(t *testing.T) {
	p, q := NewParam("p", 4), NewParam("q", 2)
	a := NewAdam([]*Param{p, q}, 0.1)
	if err := a.Step([][]float32{{1, 1, 1, 1}, {1}}); err == nil {
		t.Fatal("accepted a gradient of 1 element for q's 2")
	}
	if p.Data()[0] != 0 || a.t != 0 {
		t.Fatalf("p moved (%v) or the step counted (%d)", p.Data(), a.t)
	}
}

// The bias gradient's channel sums equal float64 sums, on one core and two.
func TestSumChannels(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, sh := range [][3]int{{1, 1, 1}, {3, 5, 7}, {32, 32, 196}, {5, 2, 3}} {
		n, c, hw := sh[0], sh[1], sh[2]
		x := make([]float32, n*c*hw)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		want := make([]float64, c)
		for i := 0; i < n; i++ {
			for o := 0; o < c; o++ {
				for _, v := range x[(i*c+o)*hw : (i*c+o+1)*hw] {
					want[o] += float64(v)
				}
			}
		}
		for _, procs := range []int{1, 2} {
			prev := runtime.GOMAXPROCS(procs)
			got := make([]float32, c)
			got[0] = 99 // overwritten, not added to
			sumChannels(x, got, n, c, hw)
			runtime.GOMAXPROCS(prev)
			for o := range got {
				if math.Abs(float64(got[o])-want[o]) > 1e-4*math.Sqrt(float64(n*hw)) {
					t.Fatalf("%v on %d cores: channel %d sums to %v, want %v", sh, procs, o, got[o], want[o])
				}
			}
		}
	}
}
