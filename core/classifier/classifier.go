// Package classifier is the MNIST digit classifier that the StackedMNIST
// evaluation (Sec. 5.3, PacGAN protocol) applies to each colour channel of
// a generated image to find its mode.
package classifier

import (
	"context"
	"fmt"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"

	"github.com/vaebm/vaebm/core/data"
	"github.com/vaebm/vaebm/core/nn"
)

// CNN is a small convolutional classifier for 28×28 digits: two 3×3
// convolutions (32 and 64 channels) with Swish, each followed by 2×2
// average pooling, then a 128-unit hidden layer and 10 logits.
type CNN struct {
	C1, C2   *nn.Conv
	FC1, FC2 *nn.Linear
}

// New initialises a CNN from rng.
func New(rng *rand.Rand) *CNN {
	return &CNN{
		C1:  nn.NewConv(rng, "cls.c1", 1, 32, 3, 1, 1, true),
		C2:  nn.NewConv(rng, "cls.c2", 32, 64, 3, 1, 1, true),
		FC1: nn.NewLinear(rng, "cls.fc1", 64*7*7, 128),
		FC2: nn.NewLinear(rng, "cls.fc2", 128, 10),
	}
}

// Params returns every parameter in a fixed order.
func (c *CNN) Params() []*nn.Param {
	ps := append(c.C1.Params(), c.C2.Params()...)
	ps = append(ps, c.FC1.Params()...)
	return append(ps, c.FC2.Params()...)
}

// Logits adds the network to b for x of shape (N, 784) with pixels in [0, 1].
func (c *CNN) Logits(b *nn.Builder, x *G.Node) (*G.Node, error) {
	n := x.Shape()[0]
	h, err := G.Reshape(x, []int{n, 1, 28, 28})
	if err != nil {
		return nil, err
	}
	steps := []func(*G.Node) (*G.Node, error){
		func(h *G.Node) (*G.Node, error) { return c.C1.ForwardSwish(b, h, 1) },
		func(h *G.Node) (*G.Node, error) { return nn.AvgPool2D(h, 2) },
		func(h *G.Node) (*G.Node, error) { return c.C2.ForwardSwish(b, h, 1) },
		func(h *G.Node) (*G.Node, error) { return nn.AvgPool2D(h, 2) },
		func(h *G.Node) (*G.Node, error) { return G.Reshape(h, []int{n, 64 * 7 * 7}) },
		func(h *G.Node) (*G.Node, error) { return c.FC1.Forward(b, h) },
		func(h *G.Node) (*G.Node, error) { return nn.Swish(h, 1) },
		func(h *G.Node) (*G.Node, error) { return c.FC2.Forward(b, h) },
	}
	for _, f := range steps {
		if h, err = f(h); err != nil {
			return nil, fmt.Errorf("classifier: %w", err)
		}
	}
	return h, nil
}

// Config sizes training.
type Config struct {
	Steps, BatchSize int
	LR               float64
}

// Logger records a metric point.
type Logger interface {
	Log(key string, step int, value float64)
}

// Train fits c to MNIST with Adam on the softmax cross-entropy, the
// learning rate decaying linearly to a tenth of cfg.LR, logging the mean
// loss and batch accuracy every 50 steps.
func Train(ctx context.Context, c *CNN, m *data.MNIST, cfg Config, rng *rand.Rand, log Logger, progress func(step, total int, msg string)) error {
	b := nn.NewBuilder()
	x, xt := b.Input("x", cfg.BatchSize, 784)
	y, yt := b.Input("y", cfg.BatchSize, 10)
	logits, err := c.Logits(b, x)
	if err != nil {
		return err
	}
	loss, err := nn.SoftmaxCrossEntropy(logits, y)
	if err != nil {
		return err
	}
	lossOut, logitsOut := b.Read(loss), b.Read(logits)
	params := c.Params()
	prog, err := nn.Compile(b, loss, b.ParamNodes(params))
	if err != nil {
		return err
	}
	defer prog.Close()
	opt := nn.NewAdam(params, cfg.LR)
	xs, ys := xt.Data().([]float32), yt.Data().([]float32)
	labels := make([]int, cfg.BatchSize)
	var sumLoss, sumAcc float64
	const every = 50
	for step := 1; step <= cfg.Steps; step++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		clear(ys)
		for i := 0; i < cfg.BatchSize; i++ {
			j := rng.IntN(m.N)
			for k, p := range m.Image(j) {
				xs[i*784+k] = float32(p) / 255
			}
			labels[i] = int(m.Labels[j])
			ys[i*10+labels[i]] = 1
		}
		if err := prog.Run(); err != nil {
			return fmt.Errorf("classifier step %d: %w", step, err)
		}
		grads, err := prog.Grads(params)
		if err != nil {
			return err
		}
		opt.LR = cfg.LR * (1 - 0.9*float64(step-1)/float64(max(1, cfg.Steps-1)))
		if err := opt.Step(grads); err != nil {
			return err
		}
		sumLoss += lossOut.Scalar()
		sumAcc += accuracy(logitsOut.Values(), labels)
		if step%every == 0 || step == cfg.Steps {
			n := float64((step-1)%every + 1)
			log.Log("classifier/loss", step, sumLoss/n)
			log.Log("classifier/train_acc", step, sumAcc/n)
			if progress != nil {
				progress(step, cfg.Steps, fmt.Sprintf("loss %.3f acc %.3f", sumLoss/n, sumAcc/n))
			}
			sumLoss, sumAcc = 0, 0
		}
	}
	return nn.CheckFinite(params)
}

func accuracy(logits []float32, labels []int) float64 {
	right := 0
	for i, l := range labels {
		if argmax(logits[i*10:(i+1)*10]) == l {
			right++
		}
	}
	return float64(right) / float64(len(labels))
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// Predictor labels images in fixed-size batches.
type Predictor struct {
	fn *nn.BatchFn
}

// NewPredictor compiles c for inference in batches of batch images.
func NewPredictor(c *CNN, batch int) (*Predictor, error) {
	fn, err := nn.NewBatchFn(batch, 784, func(b *nn.Builder, x *G.Node) ([]*G.Node, error) {
		l, err := c.Logits(b, x)
		return []*G.Node{l}, err
	})
	if err != nil {
		return nil, err
	}
	return &Predictor{fn: fn}, nil
}

// Predict returns the most likely digit of each 784-pixel image in [0, 1].
func (p *Predictor) Predict(images []float32) ([]int, error) {
	out, err := p.fn.Apply(images)
	if err != nil {
		return nil, err
	}
	labels := make([]int, len(images)/784)
	for i := range labels {
		labels[i] = argmax(out[0][i*10 : (i+1)*10])
	}
	return labels, nil
}

// Accuracy is the fraction of m's images that p labels correctly.
func (p *Predictor) Accuracy(m *data.MNIST) (float64, error) {
	images := make([]float32, m.N*784)
	for i, v := range m.Pixels[:m.N*784] {
		images[i] = float32(v) / 255
	}
	pred, err := p.Predict(images)
	if err != nil {
		return 0, err
	}
	right := 0
	for i, l := range pred {
		if l == int(m.Labels[i]) {
			right++
		}
	}
	return float64(right) / float64(m.N), nil
}
