// Package classifier holds the image classifiers that judge generated
// samples: the MNIST digit classifier that labels each channel of a
// StackedMNIST sample (Sec. 5.3, PacGAN protocol), and the feature nets of
// the image stand-ins, whose penultimate features give the classifier-FID
// and whose class probabilities give the classifier Inception Score.
package classifier

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"

	"github.com/vaebm/vaebm/core/data"
	"github.com/vaebm/vaebm/core/nn"
	"github.com/vaebm/vaebm/core/train"
)

// Layer is one convolution of a classifier: Out channels, a K×K kernel
// (padding K/2) at Stride, the activation, then 2×2 average pooling if Pool.
type Layer struct {
	Out, K, Stride int
	Pool           bool
}

// Arch is a classifier's architecture: convolutions, then a hidden layer
// of Hidden units (the features), then one logit per class.
type Arch struct {
	Convs  []Layer
	Hidden int
	// Act is the nonlinearity after every convolution and the hidden layer:
	// "swish" (fused into the convolutions without batch normalisation) or
	// "relu".
	Act string
	// BatchNorm normalises every convolution's output and the hidden layer
	// before the activation (batch statistics in training, running
	// averages after); the convolutions then have no bias.
	BatchNorm bool
}

// Archs are the architectures by name. Two judges of one dataset should
// differ in architecture (and seed), so that what one net's features
// happen to weigh does not decide a comparison.
var Archs = map[string]Arch{
	// The MNIST digit classifier: two 3×3 convolutions (32 and 64
	// channels) with Swish, each followed by 2×2 average pooling, then 128
	// hidden units (99.17% MNIST test accuracy after 3,500 steps of 128).
	"convpool": {Convs: []Layer{{32, 3, 1, true}, {64, 3, 1, true}}, Hidden: 128, Act: "swish"},
	// The first feature net of the 28×28 stand-ins: two 3×3
	// convolutions at full resolution and two at half (32 and 64
	// channels), batch-normalised, with Swish and 256 hidden units.
	"vgg": {Convs: []Layer{{32, 3, 1, false}, {32, 3, 1, true}, {64, 3, 1, false}, {64, 3, 1, true}}, Hidden: 256, Act: "swish", BatchNorm: true},
	// The second judge: a 5×5 first kernel, one convolution per
	// resolution down to a 128-channel quarter-resolution map, no batch
	// normalisation.
	"wide5": {Convs: []Layer{{32, 5, 1, true}, {64, 3, 1, true}, {128, 3, 1, false}}, Hidden: 128, Act: "swish"},
}

// Net is a convolutional classifier for C×H×W images in [0, 1].
type Net struct {
	C, H, W, Classes int
	Arch             Arch
	Convs            []*nn.Conv
	FC1, FC2         *nn.Linear
	// Norms holds, with Arch.BatchNorm, one normalisation per convolution
	// and one for the hidden layer, last.
	Norms []*nn.BatchNorm
}

// New initialises a classifier from rng. Parameters are named cls.c1 …,
// cls.fc1 and cls.fc2, so a checkpoint of another architecture fails to
// load with a message naming the first mismatch.
func New(rng *rand.Rand, c, h, w, classes int, arch Arch) (*Net, error) {
	if arch.Act != "swish" && arch.Act != "relu" {
		return nil, fmt.Errorf("classifier: activation %q (want swish or relu)", arch.Act)
	}
	n := &Net{C: c, H: h, W: w, Classes: classes, Arch: arch}
	in, fh, fw := c, h, w
	for i, l := range arch.Convs {
		n.Convs = append(n.Convs, nn.NewConv(rng, fmt.Sprintf("cls.c%d", i+1), in, l.Out, l.K, l.Stride, l.K/2, !arch.BatchNorm))
		if arch.BatchNorm {
			n.Norms = append(n.Norms, nn.NewBatchNorm(fmt.Sprintf("cls.bn%d", i+1), l.Out))
		}
		in = l.Out
		fh, fw = (fh+2*(l.K/2)-l.K)/l.Stride+1, (fw+2*(l.K/2)-l.K)/l.Stride+1
		if l.Pool {
			if fh%2 != 0 || fw%2 != 0 {
				return nil, fmt.Errorf("classifier: layer %d pools a %d×%d map", i+1, fh, fw)
			}
			fh, fw = fh/2, fw/2
		}
	}
	n.FC1 = nn.NewLinear(rng, "cls.fc1", in*fh*fw, arch.Hidden)
	n.FC2 = nn.NewLinear(rng, "cls.fc2", arch.Hidden, classes)
	if arch.BatchNorm {
		n.Norms = append(n.Norms, nn.NewBatchNorm("cls.bn_fc1", arch.Hidden))
	}
	return n, nil
}

// Dim is the size of one input image.
func (n *Net) Dim() int { return n.C * n.H * n.W }

// Params returns every parameter in a fixed order, the batch
// normalisations' running averages (Buffer params) included: what a
// checkpoint holds. nn.Trainable selects what training updates.
func (n *Net) Params() []*nn.Param {
	var ps []*nn.Param
	for _, c := range n.Convs {
		ps = append(ps, c.Params()...)
	}
	ps = append(ps, n.FC1.Params()...)
	ps = append(ps, n.FC2.Params()...)
	for _, bn := range n.Norms {
		ps = append(ps, bn.Params()...)
	}
	return ps
}

// Forward adds the network to b for x of shape (N, C·H·W) and returns the
// penultimate features (N, Hidden), after the activation, and the logits
// (N, Classes). train selects batch statistics for batch normalisation
// (and moves its running averages); a non-nil dropMask (N, Hidden)
// multiplies the features before the last layer (inverted dropout).
func (n *Net) Forward(b *nn.Builder, x *G.Node, train bool, dropMask *G.Node) (features, logits *G.Node, err error) {
	wrap := func(err error) error { return fmt.Errorf("classifier: %w", err) }
	batch := x.Shape()[0]
	h, err := G.Reshape(x, []int{batch, n.C, n.H, n.W})
	if err != nil {
		return nil, nil, wrap(err)
	}
	for i, c := range n.Convs {
		switch {
		case n.Arch.Act == "swish" && !n.Arch.BatchNorm:
			h, err = c.ForwardSwish(b, h, 1)
		case n.Arch.BatchNorm:
			if h, err = c.Forward(b, h); err == nil {
				if h, err = n.Norms[i].Forward(b, h, train); err == nil {
					h, err = nn.Activate(b, n.Arch.Act, h)
				}
			}
		default:
			if h, err = c.Forward(b, h); err == nil {
				h, err = nn.Activate(b, n.Arch.Act, h)
			}
		}
		if err == nil && n.Arch.Convs[i].Pool {
			h, err = nn.AvgPool2D(h, 2)
		}
		if err != nil {
			return nil, nil, wrap(err)
		}
	}
	s := h.Shape()
	if h, err = G.Reshape(h, []int{batch, s[1] * s[2] * s[3]}); err != nil {
		return nil, nil, wrap(err)
	}
	if h, err = n.FC1.Forward(b, h); err != nil {
		return nil, nil, wrap(err)
	}
	if n.Arch.BatchNorm {
		if h, err = n.Norms[len(n.Norms)-1].Forward(b, h, train); err != nil {
			return nil, nil, wrap(err)
		}
	}
	if features, err = nn.Activate(b, n.Arch.Act, h); err != nil {
		return nil, nil, wrap(err)
	}
	h = features
	if dropMask != nil {
		if h, err = G.HadamardProd(h, dropMask); err != nil {
			return nil, nil, wrap(err)
		}
	}
	if logits, err = n.FC2.Forward(b, h); err != nil {
		return nil, nil, wrap(err)
	}
	return features, logits, nil
}

// Config sizes training.
type Config struct {
	Steps, BatchSize int
	LR               float64
	// Dropout is the probability of dropping each feature before the last
	// layer (0: none).
	Dropout float64
	// Flip mirrors each training image left–right with probability ½;
	// Shift translates it by up to Shift pixels each way (zero fill).
	Flip  bool
	Shift int
}

// Logger records a metric point.
type Logger interface {
	Log(key string, step int, value float64)
}

// Train fits n to m with Adam on the softmax cross-entropy, the learning
// rate decaying linearly to a tenth of cfg.LR, logging the mean loss and
// batch accuracy every 50 steps.
func Train(ctx context.Context, n *Net, m *data.Images, cfg Config, rng *rand.Rand, log Logger, progress func(step, total int, msg string)) error {
	if m.C != n.C || m.H != n.H || m.W != n.W {
		return fmt.Errorf("classifier: training images are %d×%d×%d, the net reads %d×%d×%d", m.C, m.H, m.W, n.C, n.H, n.W)
	}
	b := nn.NewBuilder()
	dim, k := n.Dim(), n.Classes
	x, xt := b.Input("x", cfg.BatchSize, dim)
	y, yt := b.Input("y", cfg.BatchSize, k)
	var mask *G.Node
	var maskT []float32
	if cfg.Dropout > 0 {
		m, t := b.Input("dropout", cfg.BatchSize, n.Arch.Hidden)
		mask, maskT = m, t.Data().([]float32)
	}
	_, logits, err := n.Forward(b, x, true, mask)
	if err != nil {
		return err
	}
	loss, err := nn.SoftmaxCrossEntropy(logits, y)
	if err != nil {
		return err
	}
	lossOut, logitsOut := b.Read(loss), b.Read(logits)
	params := nn.Trainable(n.Params())
	prog, err := nn.Compile(b, loss, b.ParamNodes(params))
	if err != nil {
		return err
	}
	defer prog.Close()
	opt := nn.NewAdam(params, cfg.LR)
	xs, ys := xt.Data().([]float32), yt.Data().([]float32)
	labels := make([]int, cfg.BatchSize)
	keep := float32(1 / (1 - cfg.Dropout))
	sumAcc := []float64{0} // training accuracy since the last report
	loop := &train.Loop{
		Stage: "classifier", Steps: cfg.Steps, LogEvery: 50,
		Parts: []*train.Part{{Prog: prog, Params: params, Opt: opt,
			Loss: lossOut, LossWhat: "the cross-entropy"}},
		Log: log, Sums: sumAcc,
		Prepare: func(_ context.Context, step int) error {
			clear(ys)
			for i := 0; i < cfg.BatchSize; i++ {
				j := rng.IntN(m.N)
				dst := xs[i*dim : (i+1)*dim]
				if cfg.Flip || cfg.Shift > 0 {
					flip := cfg.Flip && rng.IntN(2) == 1
					dx, dy := 0, 0
					if cfg.Shift > 0 {
						dx, dy = rng.IntN(2*cfg.Shift+1)-cfg.Shift, rng.IntN(2*cfg.Shift+1)-cfg.Shift
					}
					Augment(dst, m.Image(j), n.C, n.H, n.W, flip, dx, dy)
				} else {
					for p, v := range m.Image(j) {
						dst[p] = float32(v) / 255
					}
				}
				labels[i] = int(m.Labels[j])
				ys[i*k+labels[i]] = 1
			}
			for i := range maskT {
				maskT[i] = 0
				if rng.Float64() >= cfg.Dropout {
					maskT[i] = keep
				}
			}
			// A linear decay to a tenth of the rate.
			opt.LR = cfg.LR * (1 - 0.9*float64(step-1)/float64(max(1, cfg.Steps-1)))
			return nil
		},
		Observe: func(int) { sumAcc[0] += accuracy(logitsOut.Values(), labels, k) },
		Report: func(step int, c, loss float64) string {
			acc := sumAcc[0] / c
			log.Log("classifier/train_acc", step, acc)
			sumAcc[0] = 0
			return fmt.Sprintf("loss %.3f acc %.3f", loss, acc)
		},
	}
	if progress != nil {
		loop.Progress = func(_ string, step, total int, msg string) { progress(step, total, msg) }
	}
	if err := loop.Run(ctx); err != nil {
		return err
	}
	// The running statistics of batch normalisation are not trained, so
	// the loop's check does not see them.
	return nn.CheckFinite(n.Params())
}

// Augment writes src (C×H×W bytes) to dst scaled to [0, 1], mirrored
// left–right if flip, and translated by (dx, dy) pixels with zeros
// shifted in: dst(y, x) = src(y − dy, x′ − dx), x′ the mirrored column.
func Augment(dst []float32, src []uint8, c, h, w int, flip bool, dx, dy int) {
	for ch := 0; ch < c; ch++ {
		plane := src[ch*h*w : (ch+1)*h*w]
		out := dst[ch*h*w : (ch+1)*h*w]
		for y := 0; y < h; y++ {
			sy := y - dy
			for x := 0; x < w; x++ {
				sx := x - dx
				if sy < 0 || sy >= h || sx < 0 || sx >= w {
					out[y*w+x] = 0
					continue
				}
				if flip {
					sx = w - 1 - sx
				}
				out[y*w+x] = float32(plane[sy*w+sx]) / 255
			}
		}
	}
}

func accuracy(logits []float32, labels []int, k int) float64 {
	right := 0
	for i, l := range labels {
		if argmax(logits[i*k:(i+1)*k]) == l {
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

// Predictor evaluates a classifier in fixed-size batches.
type Predictor struct {
	fn      *nn.BatchFn
	classes int
	hidden  int
}

// NewPredictor compiles n for inference in batches of batch images.
func NewPredictor(n *Net, batch int) (*Predictor, error) {
	fn, err := nn.NewBatchFn(batch, n.Dim(), func(b *nn.Builder, x *G.Node) ([]*G.Node, error) {
		f, l, err := n.Forward(b, x, false, nil)
		return []*G.Node{f, l}, err
	})
	if err != nil {
		return nil, err
	}
	return &Predictor{fn: fn, classes: n.Classes, hidden: n.Arch.Hidden}, nil
}

// Predict returns the most likely class of each image (C·H·W values in [0, 1]).
func (p *Predictor) Predict(images []float32) ([]int, error) {
	out, err := p.fn.Apply(images)
	if err != nil {
		return nil, err
	}
	k := p.classes
	labels := make([]int, len(out[1])/k)
	for i := range labels {
		labels[i] = argmax(out[1][i*k : (i+1)*k])
	}
	return labels, nil
}

// Outputs returns, for each image, its penultimate features (FeatureDim
// values) and its class probabilities p(y|x) (the softmax, in float64).
func (p *Predictor) Outputs(images []float32) (features []float32, probs []float64, err error) {
	out, err := p.fn.Apply(images)
	if err != nil {
		return nil, nil, err
	}
	k := p.classes
	probs = make([]float64, len(out[1]))
	for i := 0; i < len(out[1])/k; i++ {
		softmax(out[1][i*k:(i+1)*k], probs[i*k:(i+1)*k])
	}
	return out[0], probs, nil
}

// FeatureDim is the number of features per image.
func (p *Predictor) FeatureDim() int { return p.hidden }

// Classes is the number of classes.
func (p *Predictor) Classes() int { return p.classes }

func softmax(logits []float32, dst []float64) {
	mx := math.Inf(-1)
	for _, l := range logits {
		mx = math.Max(mx, float64(l))
	}
	var z float64
	for i, l := range logits {
		dst[i] = math.Exp(float64(l) - mx)
		z += dst[i]
	}
	for i := range dst {
		dst[i] /= z
	}
}

// Accuracy is the fraction of m's images that p labels correctly.
func (p *Predictor) Accuracy(m *data.Images) (float64, error) {
	pred, err := p.Predict(m.Float32(0, m.N))
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
