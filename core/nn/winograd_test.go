package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
)

// 3×3 stride-1 padding-1 shapes for the Winograd path: odd and even sizes
// (tiles overhang odd ones), a single pixel, one input or output channel,
// one image, batches that split into several GEMM chunks per worker, and
// tile counts that are and are not multiples of the kernels' 8 lanes.
var winoCases = []struct {
	n, c, h, w, o int
	bias          bool
}{
	{2, 3, 6, 6, 4, true},
	{3, 2, 7, 5, 3, false},
	{1, 4, 5, 8, 2, true},
	{2, 1, 4, 4, 3, true},    // C = 1
	{3, 5, 9, 7, 1, false},   // O = 1
	{1, 1, 1, 1, 1, true},    // one pixel: one tile, mostly padding
	{2, 3, 1, 6, 2, false},   // one row
	{5, 4, 14, 14, 6, true},  // 56 grid tiles per image: 2 images per chunk, a remainder
	{3, 2, 28, 28, 3, false}, // 210 grid tiles per image: one image per chunk
	{4, 17, 11, 13, 9, true},
	{7, 3, 9, 9, 4, false},  // 30 grid tiles per image: the kernels write past each image into the next
	{3, 2, 16, 16, 3, true}, // rows of 8 tiles: the kernels write no lanes past a row
	{3, 2, 5, 18, 2, false}, // rows of 9 tiles: 7 lanes past each row, into the next
}

func f32s(v []float64) []float32 {
	if v == nil {
		return nil
	}
	out := make([]float32, len(v))
	for i := range v {
		out[i] = float32(v[i])
	}
	return out
}

// closeTo fails unless got matches want within rel·(1 + |want|) everywhere.
func closeTo[T float](t *testing.T, name string, got []T, want []float64, rel float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d elements, want %d", name, len(got), len(want))
	}
	for i := range want {
		if d := math.Abs(float64(got[i]) - want[i]); !(d <= rel*(1+math.Abs(want[i]))) {
			t.Fatalf("%s[%d] = %v, want %v", name, i, got[i], want[i])
		}
	}
}

// The Winograd forward (with and without bias and the fused LipSwish),
// input gradient and weight gradient agree with the naive convolution, in
// float32 and float64, and the float32 forward with the im2col path.
func TestWinogradMatchesNaive(t *testing.T) {
	withWinograd(t, func() { testWinogradMatchesNaive(t) })
}

func testWinogradMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, tc := range winoCases {
		g := geom(tc.n, tc.c, tc.h, tc.w, tc.o, 3, 1, 1)
		for _, swish := range []bool{false, true} {
			t.Run(fmt.Sprintf("%dx%v/swish=%v/bias=%v", g.N, g, swish, tc.bias), func(t *testing.T) {
				x, w := randSlice(rng, g.N*g.C*g.H*g.W), randSlice(rng, g.O*g.ckk())
				dy := randSlice(rng, g.N*g.O*g.pix())
				var b []float64
				if tc.bias {
					b = randSlice(rng, g.O)
				}
				y, dx, dw, _ := naiveConv(g, x, w, b, dy)
				const scale = 1 / 1.1
				if swish {
					for i, z := range y {
						y[i] = scale * z / (1 + math.Exp(-z))
					}
				}
				n := len(y)

				var s32, c32 scratch[float32]
				y32, yc := make([]float32, n), make([]float32, n)
				var post32, postc func(int, []float32)
				if swish {
					post32 = swishPost(float32(scale), make([]float32, n), make([]float32, n), exp32)
					postc = swishPost(float32(scale), make([]float32, n), make([]float32, n), exp32)
				}
				convWinograd(g, f32s(x), f32s(w), f32s(b), y32, &s32, post32)
				convIm2col(g, f32s(x), f32s(w), f32s(b), yc, &c32, postc)
				closeTo(t, "y float32", y32, y, 1e-4)
				want := make([]float64, n)
				for i, v := range yc {
					want[i] = float64(v)
				}
				closeTo(t, "y float32 vs im2col", y32, want, 1e-4)

				var s64 scratch[float64]
				y64 := make([]float64, n)
				var post64 func(int, []float64)
				if swish {
					post64 = swishPost(scale, make([]float64, n), make([]float64, n), math.Exp)
				}
				convWinograd(g, x, w, b, y64, &s64, post64)
				closeTo(t, "y float64", y64, y, 1e-10)

				if swish {
					return // the gradients below do not depend on the activation
				}
				// The input gradient is a padding-1 3×3 convolution from O to
				// C channels: the Winograd path again.
				if gt := geom(g.N, g.O, g.H, g.W, g.C, 3, 1, 1); !useWinograd(gt) {
					t.Fatal("input gradient not on the Winograd path")
				}
				dx32, dx64 := make([]float32, len(dx)), make([]float64, len(dx))
				var flip32 []float32
				var flip64 []float64
				convGradInput(g, f32s(w), f32s(dy), dx32, &s32, &flip32)
				convGradInput(g, w, dy, dx64, &s64, &flip64)
				closeTo(t, "dx float32", dx32, dx, 1e-4)
				closeTo(t, "dx float64", dx64, dx, 1e-10)

				dw32, dw64 := make([]float32, len(dw)), make([]float64, len(dw))
				convGradWeight(g, f32s(x), f32s(dy), dw32, &s32)
				convGradWeight(g, x, dy, dw64, &s64)
				closeTo(t, "dw float32", dw32, dw, 1e-4)
				closeTo(t, "dw float64", dw64, dw, 1e-10)
			})
		}
	}
}

// The Go loops that stand in for the AVX kernels (float64, the pure-Go
// build, CPUs without AVX) must agree with them in float32 too.
func TestWinogradGoTransforms(t *testing.T) {
	if !useAsm {
		t.Skip("no AVX kernels in this build: the other tests ran the Go loops")
	}
	useAsm = false
	defer func() { useAsm = true }()
	withWinograd(t, func() { testWinogradMatchesNaive(t) })
}

// withWinograd runs f with every 3×3 stride-1 padding-1 conv on the
// Winograd path, however few its channels, so that small test shapes
// exercise it: once with the kernels over the whole grid of tiles, once
// row of tiles by row (winoRowsMin).
func withWinograd(t *testing.T, f func()) {
	t.Helper()
	oldC, oldRows := winoMinC, winoRowsMin
	defer func() { winoMinC, winoRowsMin = oldC, oldRows }()
	winoMinC = 1
	for _, rows := range []int{math.MaxInt, 0} {
		winoRowsMin = rows
		f()
	}
}

// The whole op through the Winograd path (forward, input and weight
// gradients) against float64 central differences.
func TestWinogradGradientsFiniteDifferences(t *testing.T) {
	withWinograd(t, func() {
		for _, tc := range winoCases[:5] {
			shapes := [][]int{{tc.n, tc.c, tc.h, tc.w}, {tc.o, tc.c, 3, 3}}
			if tc.bias {
				shapes = append(shapes, []int{tc.o})
			}
			for _, swish := range []bool{false, true} {
				t.Run(fmt.Sprintf("%v/swish=%v", shapes, swish), func(t *testing.T) {
					if !useWinograd(geom(tc.n, tc.c, tc.h, tc.w, tc.o, 3, 1, 1)) {
						t.Fatal("not on the Winograd path")
					}
					gradCheck64(t, shapes, func(in []*G.Node) (*G.Node, error) {
						var b *G.Node
						if tc.bias {
							b = in[2]
						}
						if swish {
							return Conv2DSwish(in[0], in[1], b, 1, 1, 1/1.1)
						}
						return Conv2D(in[0], in[1], b, 1, 1)
					})
				})
			}
		}
	})
}

// A steady-state Winograd conv and weight gradient reuse their scratch: what it allocates is the
// goroutines and closures of the two worker splits, not buffers.
func TestWinogradAllocations(t *testing.T) {
	if BLAS != "openblas" {
		t.Skip("gonum's GEMM allocates for its own goroutines")
	}
	g := geom(8, 32, 14, 14, 32, 3, 1, 1)
	rng := rand.New(rand.NewPCG(1, 3))
	x, w, b := f32s(randSlice(rng, g.N*g.C*g.H*g.W)), f32s(randSlice(rng, g.O*g.ckk())), f32s(randSlice(rng, g.O))
	y := make([]float32, g.N*g.O*g.pix())
	var s scratch[float32]
	if n := testing.AllocsPerRun(5, func() { convWinograd(g, x, w, b, y, &s, nil) }); n > 10 {
		t.Fatalf("%v allocations per conv", n)
	}
	dw := make([]float32, len(w))
	var sw scratch[float32]
	if n := testing.AllocsPerRun(5, func() { convGradWeightWinograd(g, x, y, dw, &sw) }); n > 10 {
		t.Fatalf("%v allocations per weight gradient", n)
	}
}
