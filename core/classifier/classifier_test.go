package classifier

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/vaebm/vaebm/core/data"
	"github.com/vaebm/vaebm/core/nn"
)

func TestMain(m *testing.M) {
	nn.FixBLASCore()
	os.Exit(m.Run())
}

type memLog map[string][]float64

func (l memLog) Log(k string, _ int, v float64) { l[k] = append(l[k], v) }

// A few hundred steps on real MNIST must already classify most of the test
// set: the full training (stackedmnist experiment) reaches ≥ 99%.
func TestClassifierLearnsMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for several seconds")
	}
	dir, err := data.MNISTDir()
	if err != nil {
		t.Skip(err)
	}
	train, err := data.LoadMNIST(dir, "train")
	if err != nil {
		t.Fatal(err)
	}
	test, err := data.LoadMNIST(dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	test.N = 2000
	rng := rand.New(rand.NewPCG(1, 2))
	c, err := New(rng, 1, 28, 28, 10, Archs["convpool"])
	if err != nil {
		t.Fatal(err)
	}
	log := memLog{}
	if err := Train(context.Background(), c, train, Config{Steps: 150, BatchSize: 64, LR: 2e-3}, rng, log, nil); err != nil {
		t.Fatal(err)
	}
	p, err := NewPredictor(c, 500)
	if err != nil {
		t.Fatal(err)
	}
	acc, err := p.Accuracy(test)
	if err != nil {
		t.Fatal(err)
	}
	loss := log["classifier/loss"]
	t.Logf("test accuracy after 150 steps: %.4f; loss %.3f → %.3f", acc, loss[0], loss[len(loss)-1])
	if acc < 0.9 || loss[len(loss)-1] >= loss[0] {
		t.Fatalf("accuracy %.3f (want ≥ 0.9), loss %v", acc, loss)
	}
}

// Augment mirrors, then translates, with zeros shifted in.
func TestAugment(t *testing.T) {
	// A 2×3 plane 1 2 3 / 4 5 6 (bytes ×51 so that /255 gives 0.2 steps).
	src := []uint8{51, 102, 153, 204, 255, 0}
	f := func(v ...float32) []float32 {
		for i := range v {
			v[i] *= 0.2
		}
		return v
	}
	cases := []struct {
		name   string
		flip   bool
		dx, dy int
		want   []float32
	}{
		{"identity", false, 0, 0, f(1, 2, 3, 4, 5, 0)},
		{"flip", true, 0, 0, f(3, 2, 1, 0, 5, 4)},
		{"right", false, 1, 0, f(0, 1, 2, 0, 4, 5)},
		{"left", false, -1, 0, f(2, 3, 0, 5, 0, 0)},
		{"down", false, 0, 1, f(0, 0, 0, 1, 2, 3)},
		{"flip, then right", true, 1, 0, f(0, 3, 2, 0, 0, 5)},
		{"out of the frame", false, 3, 0, f(0, 0, 0, 0, 0, 0)},
	}
	for _, tc := range cases {
		got := make([]float32, 6)
		Augment(got, src, 1, 2, 3, tc.flip, tc.dx, tc.dy)
		for i := range got {
			if math.Abs(float64(got[i]-tc.want[i])) > 1e-6 {
				t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
				break
			}
		}
	}
}

// Every architecture builds for the stand-ins' shapes, and the predictor's
// outputs are features of the declared width and probability rows.
func TestArchsAndOutputs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for name, arch := range Archs {
		for _, shape := range [][3]int{{1, 28, 28}, {3, 32, 32}} {
			n, err := New(rng, shape[0], shape[1], shape[2], 10, arch)
			if err != nil {
				t.Fatalf("%s on %v: %v", name, shape, err)
			}
			p, err := NewPredictor(n, 4)
			if err != nil {
				t.Fatal(err)
			}
			x := make([]float32, 5*n.Dim())
			for i := range x {
				x[i] = rng.Float32()
			}
			feats, probs, err := p.Outputs(x)
			if err != nil {
				t.Fatal(err)
			}
			if len(feats) != 5*p.FeatureDim() || p.FeatureDim() != arch.Hidden || len(probs) != 50 {
				t.Fatalf("%s: %d features, %d probabilities", name, len(feats), len(probs))
			}
			labels, _ := p.Predict(x)
			for i := 0; i < 5; i++ {
				var sum float64
				best := 0
				for k, v := range probs[i*10 : (i+1)*10] {
					sum += v
					if v > probs[i*10+best] {
						best = k
					}
				}
				if math.Abs(sum-1) > 1e-9 || best != labels[i] {
					t.Errorf("%s: row %d sums to %v, argmax %d, Predict %d", name, i, sum, best, labels[i])
				}
			}
		}
	}
	if _, err := New(rng, 1, 28, 28, 10, Arch{Convs: []Layer{{4, 3, 1, false}}, Hidden: 4, Act: "gelu"}); err == nil {
		t.Error("an unknown activation gave no error")
	}
	if _, err := New(rng, 1, 28, 28, 10, Arch{Convs: []Layer{{4, 3, 2, true}, {4, 3, 1, true}}, Hidden: 4, Act: "relu"}); err == nil {
		t.Error("pooling a 7×7 map gave no error")
	}
}

// With batch normalisation a trained net's outputs for an image do not
// depend on the other images of its batch: inference uses the running
// averages, which training moved and a checkpoint keeps.
func TestBatchNormInferenceIsPerImage(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	arch := Arch{Convs: []Layer{{4, 3, 1, true}}, Hidden: 8, Act: "swish", BatchNorm: true}
	n, err := New(rng, 1, 4, 4, 3, arch)
	if err != nil {
		t.Fatal(err)
	}
	m := &data.Images{N: 30, C: 1, H: 4, W: 4, Pixels: make([]uint8, 30*16), Labels: make([]uint8, 30)}
	for i := range m.Pixels {
		m.Pixels[i] = uint8(rng.IntN(256))
	}
	for i := range m.Labels {
		m.Labels[i] = uint8(i % 3)
	}
	if err := Train(context.Background(), n, m, Config{Steps: 20, BatchSize: 8, LR: 1e-2}, rng, memLog{}, nil); err != nil {
		t.Fatal(err)
	}
	if n.Norms[0].Mean.Data()[0] == 0 {
		t.Fatal("training left the running mean at 0")
	}
	p, err := NewPredictor(n, 4)
	if err != nil {
		t.Fatal(err)
	}
	x := m.Float32(0, 4)
	all, _, err := p.Outputs(x)
	if err != nil {
		t.Fatal(err)
	}
	alone, _, err := p.Outputs(x[:16])
	if err != nil {
		t.Fatal(err)
	}
	for i := range alone {
		if alone[i] != all[i] {
			t.Fatalf("feature %d: %v alone, %v in a batch of 4", i, alone[i], all[i])
		}
	}
}
