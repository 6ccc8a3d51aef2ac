package classifier

import (
	"context"
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
	c := New(rng)
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
