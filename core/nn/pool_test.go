package nn

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"gorgonia.org/tensor"
)

// avgPoolDiv and avgPoolGradDiv are the pooling loops before they indexed
// windows directly (one integer division per element): the reference the
// new ones must match bit for bit.
func avgPoolDiv[T float](k int, s tensor.Shape, x, y []T) {
	h, w := s[2], s[3]
	ho, wo := h/k, w/k
	inv := 1 / T(k*k)
	for pl := 0; pl < s[0]*s[1]; pl++ {
		src, dst := x[pl*h*w:(pl+1)*h*w], y[pl*ho*wo:(pl+1)*ho*wo]
		clear(dst)
		for i := 0; i < h; i++ {
			row, out := src[i*w:(i+1)*w], dst[(i/k)*wo:(i/k+1)*wo]
			for j, v := range row {
				out[j/k] += v
			}
		}
		for i := range dst {
			dst[i] *= inv
		}
	}
}

func avgPoolGradDiv[T float](k int, s tensor.Shape, dy, dx []T) {
	h, w := s[2], s[3]
	ho, wo := h/k, w/k
	inv := 1 / T(k*k)
	for pl := 0; pl < s[0]*s[1]; pl++ {
		src, dst := dy[pl*ho*wo:(pl+1)*ho*wo], dx[pl*h*w:(pl+1)*h*w]
		for i := 0; i < h; i++ {
			row, in := dst[i*w:(i+1)*w], src[(i/k)*wo:(i/k+1)*wo]
			for j := range row {
				row[j] = in[j/k] * inv
			}
		}
	}
}

func testPoolSameBits[T float](t *testing.T, rng *rand.Rand) {
	for _, c := range []struct {
		k int
		s tensor.Shape
	}{{1, tensor.Shape{2, 3, 5, 7}}, {2, tensor.Shape{2, 3, 4, 6}}, {2, tensor.Shape{3, 5, 28, 28}},
		{2, tensor.Shape{1, 1, 2, 2}}, {2, tensor.Shape{2, 2, 14, 14}}, {3, tensor.Shape{2, 3, 9, 6}}, {4, tensor.Shape{1, 2, 8, 12}}} {
		n := c.s.TotalSize()
		m := n / (c.k * c.k)
		x, dy := make([]T, n), make([]T, m)
		for i := range x {
			x[i] = T(rng.NormFloat64())
		}
		for i := range dy {
			dy[i] = T(rng.NormFloat64())
		}
		y, yRef := make([]T, m), make([]T, m)
		avgPool(c.k, c.s, x, y)
		avgPoolDiv(c.k, c.s, x, yRef)
		for i := range y {
			if y[i] != yRef[i] {
				t.Fatalf("k %d %v: avgpool[%d] = %v, want %v", c.k, c.s, i, y[i], yRef[i])
			}
		}
		dx, dxRef := make([]T, n), make([]T, n)
		avgPoolGrad(c.k, c.s, dy, dx)
		avgPoolGradDiv(c.k, c.s, dy, dxRef)
		for i := range dx {
			if dx[i] != dxRef[i] {
				t.Fatalf("k %d %v: avgpool grad[%d] = %v, want %v", c.k, c.s, i, dx[i], dxRef[i])
			}
		}
	}
}

// The window-indexed pooling loops give the per-element-division loops'
// results exactly, for k = 1…4, float32 and float64.
func TestAvgPoolMatchesDivisionLoops(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	testPoolSameBits[float32](t, rng)
	testPoolSameBits[float64](t, rng)
}

// BenchmarkAvgPoolAB times the pooling and its gradient on the Langevin
// workload's first pool (64 images, 64 channels, 28×28), the old
// per-element-division loops (single-threaded, "div") against the new
// ones ("new", also run single-threaded here).
func BenchmarkAvgPoolAB(b *testing.B) {
	s := tensor.Shape{64, 64, 28, 28}
	x, y := make([]float32, s.TotalSize()), make([]float32, s.TotalSize()/4)
	for _, impl := range []string{"div", "new"} {
		b.Run(impl, func(b *testing.B) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
			for b.Loop() {
				if impl == "div" {
					avgPoolDiv(2, s, x, y)
					avgPoolGradDiv(2, s, y, x)
				} else {
					avgPool(2, s, x, y)
					avgPoolGrad(2, s, y, x)
				}
			}
		})
	}
}

// Upsampling repeats every pixel into a k×k block, for k = 1, 2 and 3.
func TestUpsampleBlocks(t *testing.T) {
	for _, k := range []int{1, 2, 3} {
		s := tensor.Shape{2, 3, 4, 5}
		x := make([]float32, s.TotalSize())
		for i := range x {
			x[i] = float32(i)
		}
		y := make([]float32, s.TotalSize()*k*k)
		upsample(k, s, x, y)
		for pl := 0; pl < 6; pl++ {
			for i := 0; i < 4*k; i++ {
				for j := 0; j < 5*k; j++ {
					if got, want := y[(pl*4*k+i)*5*k+j], x[(pl*4+i/k)*5+j/k]; got != want {
						t.Fatalf("k %d: y[%d][%d][%d] = %v, want %v", k, pl, i, j, got, want)
					}
				}
			}
		}
	}
}
