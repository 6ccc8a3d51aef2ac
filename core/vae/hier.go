package vae

import (
	"fmt"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/vaebm/vaebm/core/nn"
)

// HierVAE is a small NVAE-style hierarchical VAE for C×H×W images (H and W
// divisible by 4; Vahdat & Kautz 2020, the VAE of VAEBM's image experiments).
// A bottom-up encoder of residual cells sees the image at full, half and
// quarter resolution. A top-down decoder starts from a learned map at
// quarter resolution and visits two latent scales, quarter then half
// resolution, each with several groups of Z channels. Every group has a
// prior p(z_l | z_<l) = N(μ_p, σ_p) computed from the decoder state and a
// residual posterior q(z_l | x, z_<l) = N(μ_p + Δμ, σ_p·exp(Δlog σ)) that also
// sees the encoder features of its scale. The decoder ends in a Gaussian
// p(x | z) with per-pixel mean and (softly floored) log σ.
type HierVAE struct {
	C, H, W  int
	Ch, Z    int
	Groups   [2]int // groups at quarter and at half resolution
	MinLogSd float64
	// Global is the size of an optional top group without spatial extent
	// (0: none; see AddGlobalLatent).
	Global int

	globMu, globLogSd *nn.Linear // posterior of the global group from the whole quarter-resolution feature map
	globDec           *nn.Linear // global z → a (Ch, H/4, W/4) map added to the decoder's input

	encStem          *nn.Conv
	encCells         [3]*cell
	encDown          [2]*nn.Conv
	top              *nn.Param // learned decoder input (Ch, H/4, W/4)
	prior, post      [][2]*nn.Conv
	postEnc, combine [][2]*nn.Conv // posterior's encoder branch (μ, log σ); [l][0] maps z back to Ch
	decCells         []*cell
	up               [2]*nn.Conv
	outMu, outLogSd  *nn.Conv
}

// cell is a residual cell: x + conv(swish(conv(swish(x)))).
type cell struct{ c1, c2 *nn.Conv }

func newCell(rng *rand.Rand, name string, ch int) *cell {
	return &cell{c1: nn.NewConv(rng, name+".c1", ch, ch, 3, 1, 1, true), c2: nn.NewConv(rng, name+".c2", ch, ch, 3, 1, 1, true)}
}

func (c *cell) forward(b *nn.Builder, x *G.Node) (*G.Node, error) {
	h, err := nn.Swish(x, 1)
	if err != nil {
		return nil, err
	}
	if h, err = c.c1.ForwardSwish(b, h, 1); err != nil {
		return nil, err
	}
	if h, err = c.c2.Forward(b, h); err != nil {
		return nil, err
	}
	return G.Add(x, h)
}

func (c *cell) params() []*nn.Param { return append(c.c1.Params(), c.c2.Params()...) }

// NewHierVAE builds the VAE with ch feature channels and z channels per group.
func NewHierVAE(rng *rand.Rand, c, h, w, ch, z int, groups [2]int, minLogSd float64) (*HierVAE, error) {
	if h%4 != 0 || w%4 != 0 || groups[0] < 1 || groups[1] < 1 {
		return nil, fmt.Errorf("hierarchical vae: %d×%d images need sides divisible by 4 and ≥ 1 group per scale (have %v)", h, w, groups)
	}
	v := &HierVAE{C: c, H: h, W: w, Ch: ch, Z: z, Groups: groups, MinLogSd: minLogSd}
	v.encStem = nn.NewConv(rng, "henc.stem", c, ch, 3, 1, 1, true)
	for i := range v.encCells {
		v.encCells[i] = newCell(rng, fmt.Sprintf("henc.cell%d", i), ch)
	}
	for i := range v.encDown {
		v.encDown[i] = nn.NewConv(rng, fmt.Sprintf("henc.down%d", i), ch, ch, 3, 2, 1, true)
	}
	v.top = nn.NewParam("hdec.top", ch, h/4, w/4)
	for l := 0; l < groups[0]+groups[1]; l++ {
		n := fmt.Sprintf("hdec.group%d", l)
		v.prior = append(v.prior, [2]*nn.Conv{nn.NewConv(rng, n+".prior.mu", ch, z, 3, 1, 1, true), nn.NewConv(rng, n+".prior.logsd", ch, z, 3, 1, 1, true)})
		v.post = append(v.post, [2]*nn.Conv{nn.NewConv(rng, n+".post.mu", ch, z, 3, 1, 1, true), nn.NewConv(rng, n+".post.logsd", ch, z, 3, 1, 1, true)})
		v.postEnc = append(v.postEnc, [2]*nn.Conv{nn.NewConv(rng, n+".postenc.mu", ch, z, 3, 1, 1, false), nn.NewConv(rng, n+".postenc.logsd", ch, z, 3, 1, 1, false)})
		v.combine = append(v.combine, [2]*nn.Conv{nn.NewConv(rng, n+".combine", z, ch, 1, 1, 0, true), nil})
		v.decCells = append(v.decCells, newCell(rng, n+".cell", ch))
	}
	for i := range v.up {
		v.up[i] = nn.NewConv(rng, fmt.Sprintf("hdec.up%d", i), ch, ch, 3, 1, 1, true)
	}
	v.decCells = append(v.decCells, newCell(rng, "hdec.out.cell", ch))
	v.outMu = nn.NewConv(rng, "hdec.out.mu", ch, c, 3, 1, 1, true)
	v.outLogSd = nn.NewConv(rng, "hdec.out.logsd", ch, c, 3, 1, 1, true)
	return v, nil
}

// AddGlobalLatent gives the VAE a top group of dim latents with prior
// N(0, I) and no spatial extent, read first by the top-down decoder (its map
// is added to the learned input). Spatial groups sampled independently from
// their priors at every position struggle to agree on what a whole image
// shows (a digit's identity) until the model has trained long; one global
// group carries that from the start. The posterior reads the encoder's
// whole quarter-resolution feature map: averaged over space, those features
// no longer said which digit was where, and the group went unused (1–4 nats
// against 70 in the 7×7 groups after 3,000–8,000 steps on StackedMNIST).
func (v *HierVAE) AddGlobalLatent(rng *rand.Rand, dim int) {
	v.Global = dim
	v.globMu = nn.NewLinear(rng, "hdec.global.mu", v.Ch*v.H/4*v.W/4, dim)
	v.globLogSd = nn.NewLinear(rng, "hdec.global.logsd", v.Ch*v.H/4*v.W/4, dim)
	v.globDec = nn.NewLinear(rng, "hdec.global.dec", dim, v.Ch*v.H/4*v.W/4)
	// Start the global map small: added at full size to the decoder's input
	// it is amplified through every group's residual cell (measured: an
	// initial KL of 10⁴ nats and a non-finite loss at the first step).
	for _, p := range v.globDec.Params() {
		for i, x := range p.Data() {
			p.Data()[i] = 0.1 * x
		}
	}
}

// XDim is the size of one image.
func (v *HierVAE) XDim() int { return v.C * v.H * v.W }

// groupShape returns the (channels, height, width) of group l's latent map.
func (v *HierVAE) groupShape(l int) (int, int, int) {
	if l < v.Groups[0] {
		return v.Z, v.H / 4, v.W / 4
	}
	return v.Z, v.H / 2, v.W / 2
}

// EpsDims returns the per-sample sizes of every group's ε_z (the global
// group first, if any), then ε_x.
func (v *HierVAE) EpsDims() []int {
	var out []int
	if v.Global > 0 {
		out = append(out, v.Global)
	}
	for l := 0; l < v.Groups[0]+v.Groups[1]; l++ {
		c, h, w := v.groupShape(l)
		out = append(out, c*h*w)
	}
	return append(out, v.XDim())
}

// Params returns every parameter: encoder, then decoder.
func (v *HierVAE) Params() []*nn.Param {
	ps := v.encStem.Params()
	for _, c := range v.encCells {
		ps = append(ps, c.params()...)
	}
	for _, c := range v.encDown {
		ps = append(ps, c.Params()...)
	}
	ps = append(ps, v.top)
	if v.Global > 0 {
		ps = append(append(append(ps, v.globMu.Params()...), v.globLogSd.Params()...), v.globDec.Params()...)
	}
	for l := range v.prior {
		for _, c := range []*nn.Conv{v.prior[l][0], v.prior[l][1], v.post[l][0], v.post[l][1], v.postEnc[l][0], v.postEnc[l][1], v.combine[l][0]} {
			ps = append(ps, c.Params()...)
		}
	}
	for _, c := range v.decCells {
		ps = append(ps, c.params()...)
	}
	for _, c := range v.up {
		ps = append(ps, c.Params()...)
	}
	return append(append(ps, v.outMu.Params()...), v.outLogSd.Params()...)
}

// encode reshapes rows x (n, C·H·W) into images and returns them with the
// encoder features at half and quarter resolution.
func (v *HierVAE) encode(b *nn.Builder, x *G.Node) (img, half, quarter *G.Node, err error) {
	img, err = G.Reshape(x, []int{x.Shape()[0], v.C, v.H, v.W})
	if err != nil {
		return nil, nil, nil, err
	}
	h, err := v.encStem.Forward(b, img)
	if err != nil {
		return nil, nil, nil, err
	}
	if h, err = v.encCells[0].forward(b, h); err != nil {
		return nil, nil, nil, err
	}
	if h, err = v.encDown[0].Forward(b, h); err != nil {
		return nil, nil, nil, err
	}
	if half, err = v.encCells[1].forward(b, h); err != nil {
		return nil, nil, nil, err
	}
	if h, err = v.encDown[1].Forward(b, half); err != nil {
		return nil, nil, nil, err
	}
	quarter, err = v.encCells[2].forward(b, h)
	return img, half, quarter, err
}

// groupTerms is what the top-down pass produces for one group.
type groupTerms struct {
	z, pMu, pLogSd, qMu, qLogSd *G.Node // qMu/qLogSd nil when sampling from the prior; pMu/pLogSd nil for N(0, I)
}

// topDown runs the decoder for a batch of n. For group l, z is
// μ + σ·eps[l] from the posterior when enc features are given, else from
// the prior. It returns p(x|z)'s mean and log σ, and each group's terms.
func (v *HierVAE) topDown(b *nn.Builder, n int, eps []*G.Node, half, quarter *G.Node) (mu, logSd *G.Node, terms []groupTerms, err error) {
	must := G.Must
	// The learned map, repeated over the batch: ones(n, 1) · top(1, D).
	ones, ot := b.Input(fmt.Sprintf("hdec.ones%d", n), n, 1)
	for i := range ot.Data().([]float32) {
		ot.Data().([]float32)[i] = 1
	}
	h, err := G.Mul(ones, must(G.Reshape(b.Node(v.top), []int{1, v.Ch * v.H / 4 * v.W / 4})))
	if err != nil {
		return nil, nil, nil, err
	}
	if h, err = G.Reshape(h, []int{n, v.Ch, v.H / 4, v.W / 4}); err != nil {
		return nil, nil, nil, err
	}
	if v.Global > 0 {
		t := groupTerms{z: eps[0]}
		eps = eps[1:]
		if quarter != nil {
			feat := flat(quarter)
			if t.qMu, err = v.globMu.Forward(b, feat); err != nil {
				return nil, nil, nil, err
			}
			if t.qLogSd, err = v.globLogSd.Forward(b, feat); err != nil {
				return nil, nil, nil, err
			}
			t.qMu, t.qLogSd = softClamp(b, t.qMu), softClamp(b, t.qLogSd)
			t.z = must(G.Add(t.qMu, must(G.HadamardProd(must(G.Exp(t.qLogSd)), t.z))))
		}
		g, err := v.globDec.Forward(b, t.z)
		if err != nil {
			return nil, nil, nil, err
		}
		h = must(G.Add(h, must(G.Reshape(g, []int{n, v.Ch, v.H / 4, v.W / 4}))))
		terms = append(terms, t)
	}
	for l := 0; l < v.Groups[0]+v.Groups[1]; l++ {
		if l == v.Groups[0] { // to half resolution
			if h, err = nn.Upsample2D(h, 2); err != nil {
				return nil, nil, nil, err
			}
			if h, err = v.up[0].ForwardSwish(b, h, 1); err != nil {
				return nil, nil, nil, err
			}
		}
		// The prior's and the posterior's convolutions of h run as one
		// (nn.ForwardShared), as do the posterior's of the encoder state.
		fromH := []*nn.Conv{v.prior[l][0], v.prior[l][1]}
		if half != nil {
			fromH = append(fromH, v.post[l][0], v.post[l][1])
		}
		hs, err := nn.ForwardShared(b, h, fromH...)
		if err != nil {
			return nil, nil, nil, err
		}
		var t groupTerms
		t.pMu, t.pLogSd = softClamp(b, hs[0]), softClamp(b, hs[1])
		mean, logSd := t.pMu, t.pLogSd
		if half != nil {
			enc := quarter
			if l >= v.Groups[0] {
				enc = half
			}
			es, err := nn.ForwardShared(b, enc, v.postEnc[l][0], v.postEnc[l][1])
			if err != nil {
				return nil, nil, nil, err
			}
			dmu, dls := must(G.Add(hs[2], es[0])), must(G.Add(hs[3], es[1]))
			t.qMu, t.qLogSd = softClamp(b, must(G.Add(t.pMu, dmu))), softClamp(b, must(G.Add(t.pLogSd, dls)))
			mean, logSd = t.qMu, t.qLogSd
		}
		c, hh, ww := v.groupShape(l)
		e := must(G.Reshape(eps[l], []int{n, c, hh, ww}))
		t.z = must(G.Add(mean, must(G.HadamardProd(must(G.Exp(logSd)), e))))
		terms = append(terms, t)
		zc, err := v.combine[l][0].Forward(b, t.z)
		if err != nil {
			return nil, nil, nil, err
		}
		if h, err = v.decCells[l].forward(b, must(G.Add(h, zc))); err != nil {
			return nil, nil, nil, err
		}
	}
	if h, err = nn.Upsample2D(h, 2); err != nil {
		return nil, nil, nil, err
	}
	if h, err = v.up[1].ForwardSwish(b, h, 1); err != nil {
		return nil, nil, nil, err
	}
	if h, err = v.decCells[len(v.decCells)-1].forward(b, h); err != nil {
		return nil, nil, nil, err
	}
	out, err := nn.ForwardShared(b, h, v.outMu, v.outLogSd)
	if err != nil {
		return nil, nil, nil, err
	}
	mu, raw := out[0], out[1]
	m := b.Scalar(v.MinLogSd)
	logSd = ceilLogSd(b, must(G.Add(must(nn.Softplus(must(G.Sub(raw, m)))), m)))
	return mu, logSd, terms, nil
}

// maxLogSd caps the decoder's log σ_x: σ_x ≤ e⁵ ≈ 148 for pixels in [0, 1].
// Without it a sharper decoder (StackedMNIST at 16,000 VAE steps, seed 2)
// gave log σ_x up to 208 at some ε within 5σ of the prior, e^208 overflowed
// float32, and the energy's training chains stopped on a NaN gradient.
const maxLogSd = 5

// ceilLogSd is min(ls, maxLogSd) as ls − relu(ls − maxLogSd): below the cap
// it subtracts an exact 0, so values and gradients there keep their bits.
func ceilLogSd(b *nn.Builder, ls *G.Node) *G.Node {
	return G.Must(G.Sub(ls, G.Must(G.Rectify(G.Must(G.Sub(ls, b.Scalar(maxLogSd)))))))
}

// softClamp is NVAE's soft_clamp5, 5·tanh(x/5), applied to every group's
// μ and log σ. Without it a stack of groups can blow up at initialisation:
// group l's z scales with exp(log σ_l), feeds the decoder state, and so
// sets log σ_{l+1} (measured: with four groups at 7×7 the initial negative
// ELBO was 10¹⁴ nats, and the first training step non-finite).
func softClamp(b *nn.Builder, x *G.Node) *G.Node {
	must := G.Must
	return must(G.Mul(must(G.Tanh(must(G.Mul(x, b.Scalar(1.0/softClampBound))))), b.Scalar(softClampBound)))
}

// softClampBound is the bound of softClamp.
const softClampBound = 5

// flat reshapes a (N, …) node to (N, rest): gorgonia's sums are only
// trusted on 2-D tensors (see the README).
func flat(x *G.Node) *G.Node {
	s := x.Shape()
	return G.Must(G.Reshape(x, []int{s[0], s.TotalSize() / s[0]}))
}

// Transform adds x = T_θ(ε) (Eq. 8): every group drawn from its prior
// given the groups above, then x = μ(z) + σ(z)·ε_x. It also returns Σ log σ_x.
func (v *HierVAE) Transform(b *nn.Builder, eps []*G.Node) (x, sumLogStd *G.Node, err error) {
	if len(eps) != len(v.EpsDims()) {
		return nil, nil, fmt.Errorf("hierarchical vae: T_θ takes %d noise groups, got %d", len(v.EpsDims()), len(eps))
	}
	n := eps[0].Shape()[0]
	mu, ls, _, err := v.topDown(b, n, eps[:len(eps)-1], nil, nil)
	if err != nil {
		return nil, nil, err
	}
	must := G.Must
	ex := must(G.Reshape(eps[len(eps)-1], []int{n, v.C, v.H, v.W}))
	x = must(G.Add(mu, must(G.HadamardProd(must(G.Exp(ls)), ex))))
	return flat(x), must(G.Sum(flat(ls))), nil
}

// gaussianNLL is Σ log σ + ½r² over what sum adds up, r the residuals
// already divided by σ (logSd nil: σ = 1): a diagonal Gaussian's negative
// log density without its ½log2π per element. The ELBO's reconstruction
// term and the IWAE log-weight's three densities are all this.
func gaussianNLL(b *nn.Builder, sum func(*G.Node) *G.Node, logSd, r *G.Node) *G.Node {
	half := G.Must(G.Mul(sum(G.Must(G.Square(r))), b.Scalar(0.5)))
	if logSd == nil {
		return half
	}
	return G.Must(G.Add(sum(logSd), half))
}

// standardized is (a − μ)/σ with σ = exp(logSd).
func standardized(a, mu, logSd *G.Node) *G.Node {
	return G.Must(G.HadamardProd(G.Must(G.Sub(a, mu)), G.Must(G.Exp(G.Must(G.Neg(logSd))))))
}

// BuildELBO adds the negative ELBO for a batch: the Gaussian reconstruction
// term plus β times the sum over groups of KL(q(z_l|x, z_<l) ‖ p(z_l|z_<l)),
// both averaged over the batch.
func (v *HierVAE) BuildELBO(b *nn.Builder, batch int) (*ELBO, error) {
	x, xt := b.Input("x", batch, v.XDim())
	dims := v.EpsDims()
	total := 0
	for _, d := range dims[:len(dims)-1] {
		total += d * batch
	}
	noise := make([]float32, total)
	var eps []*G.Node
	off := 0
	for l, d := range dims[:len(dims)-1] {
		t := tensor.New(tensor.WithShape(batch, d), tensor.WithBacking(noise[off:off+d*batch]))
		eps = append(eps, G.NewTensor(b.G, nn.Dtype, 2, G.WithShape(batch, d), G.WithValue(t), G.WithName(fmt.Sprintf("noise%d", l))))
		off += d * batch
	}
	beta := G.NewScalar(b.G, nn.Dtype, G.WithName("beta"), G.WithValue(float32(1)))
	must := G.Must
	img, half, quarter, err := v.encode(b, x)
	if err != nil {
		return nil, err
	}
	mu, ls, terms, err := v.topDown(b, batch, eps, half, quarter)
	if err != nil {
		return nil, err
	}
	inv := 1 / float64(batch)
	// −log p(x|z) = Σ ½log2π + log σ + ½((x−μ)/σ)²
	sumAll := func(x *G.Node) *G.Node { return must(G.Sum(flat(x))) }
	recon := gaussianNLL(b, sumAll, ls, standardized(img, mu, ls))
	recon = must(G.Add(must(G.Mul(recon, b.Scalar(inv))), b.Scalar(halfLog2Pi*float64(v.XDim()))))
	// KL(N(μq, σq) ‖ N(μp, σp)) = Σ log σp − log σq + (σq² + (μq − μp)²)/(2σp²) − ½
	// Each group's mean KL; the loss weights it by β·γ_l, the report does not.
	var kl, weighted *G.Node
	var groupKL []*nn.Output
	var weights []*G.Node
	var sizes []float64
	for l, t := range terms {
		d, m := t.qLogSd, t.qMu // against N(0, I)
		if t.pMu != nil {
			d = must(G.Sub(t.qLogSd, t.pLogSd))
			m = standardized(t.qMu, t.pMu, t.pLogSd)
		}
		k := must(G.Sub(must(G.Mul(must(G.Add(must(G.Exp(must(G.Mul(d, b.Scalar(2))))), must(G.Square(m)))), b.Scalar(0.5))), d))
		s := must(G.Sub(must(G.Mul(must(G.Sum(flat(k))), b.Scalar(inv))), b.Scalar(0.5*float64(dims[l]))))
		g := G.NewScalar(b.G, nn.Dtype, G.WithName(fmt.Sprintf("kl_weight%d", l)), G.WithValue(float32(1)))
		groupKL, weights = append(groupKL, b.Read(s)), append(weights, g)
		sizes = append(sizes, float64(dims[l])/float64(v.groupsInScale(l)))
		if kl == nil {
			kl, weighted = s, must(G.Mul(s, g))
			continue
		}
		kl, weighted = must(G.Add(kl, s)), must(G.Add(weighted, must(G.Mul(s, g))))
	}
	loss := must(G.Add(recon, must(G.Mul(weighted, beta))))
	return &ELBO{Loss: loss, LossOut: b.Read(loss), Recon: b.Read(recon), KL: b.Read(kl), Beta: beta,
		X: xt.Data().([]float32), Noise: noise, GroupKL: groupKL, GroupWeight: weights, GroupSize: sizes}, nil
}

// groupsInScale is how many groups share the scale of group l (in
// EpsDims order): the global group is a scale of its own.
func (v *HierVAE) groupsInScale(l int) int {
	if v.Global > 0 {
		if l == 0 {
			return 1
		}
		l--
	}
	if l < v.Groups[0] {
		return v.Groups[0]
	}
	return v.Groups[1]
}

// Reconstruct adds the decoder mean μ(z) for x (batch, C·H·W), with every
// group's z at its posterior mean (ε = 0): what of an image the latents
// keep. Classifying reconstructions separates a decoder that loses a
// digit from a prior that rarely asks for it.
func (v *HierVAE) Reconstruct(b *nn.Builder, x *G.Node) (*G.Node, error) {
	n := x.Shape()[0]
	_, half, quarter, err := v.encode(b, x)
	if err != nil {
		return nil, err
	}
	dims := v.EpsDims()
	eps := make([]*G.Node, len(dims)-1)
	for l, d := range dims[:len(dims)-1] {
		zero := tensor.New(tensor.WithShape(n, d), tensor.WithBacking(make([]float32, n*d)))
		eps[l] = G.NewTensor(b.G, nn.Dtype, 2, G.WithShape(n, d), G.WithValue(zero), G.WithName(fmt.Sprintf("recon.zero%d", l)))
	}
	mu, _, _, err := v.topDown(b, n, eps, half, quarter)
	if err != nil {
		return nil, err
	}
	return flat(mu), nil
}
