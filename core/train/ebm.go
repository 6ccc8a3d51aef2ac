package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"

	"github.com/vaebm/vaebm/core/nn"
	"github.com/vaebm/vaebm/core/sampler"
	"github.com/vaebm/vaebm/core/vae"
)

// EBMOptions are stage 2's settings (the experiment's ebm section, and
// its langevin section for the training chains).
type EBMOptions struct {
	Steps, BatchSize, LogEvery int
	// Adam's rate and moments, decoupled weight decay, and App. E's
	// clipping of gradients to ClipStd standard deviations (0: none).
	LR, Beta1, Beta2, WeightDecay, ClipStd float64
	// SpectralReg weights the spectral-norm penalty of App. E; 0 disables.
	SpectralReg float64
	// EnergyReg is α of the penalty α(E⁺² + E⁻²), annealed linearly to
	// EnergyRegEnd over the stage when that is > 0.
	EnergyReg, EnergyRegEnd float64
	// Chains are the training chains that draw the negatives.
	Chains ChainOptions
	// Replay is the persistent replay buffer (App. E).
	Replay ReplayOptions
}

// ChainOptions are a Langevin sampler's settings: how many steps a chain
// takes, of what size, by which rule (see sampler.Langevin).
type ChainOptions struct {
	Steps    int
	StepSize float64
	Rule     sampler.StepRule
	// NoiseStd is RuleNoiseFirst's noise; GradClip, when > 0, clips each
	// gradient element; the state is clamped to [ClampLo, ClampHi] when
	// ClampLo < ClampHi.
	NoiseStd, GradClip float64
	ClampLo, ClampHi   float64
	Correction         sampler.Correction
}

// ReplayOptions size the replay buffer: chains restart from it with a
// probability rising linearly from 0 to MaxProb over AnnealSteps.
type ReplayOptions struct {
	Size        int // 0: no persistent chains
	MaxProb     float64
	AnnealSteps int
}

// EBMStage holds what stage 2 needs besides the settings.
type EBMStage struct {
	Gen    sampler.Generator
	Energy sampler.Energy
	Target sampler.Target
	// Persist is how many leading noise groups the replay buffer keeps:
	// the ε_z groups for VAEBM (ε_x always starts fresh, App. E).
	Persist int
	// Init writes one chain's starting noise for group g.
	Init func(rng *rand.Rand, g int, dst []float32)
	// MeanNegatives makes the loss's negatives the decoder mean μ(z) at the
	// chains' end (config ebm.mean_negatives); Gen's last group must be ε_x.
	MeanNegatives bool
	// Decoder, when set, also trains a copy of the decoder (App. C).
	Decoder *DecoderUpdate
}

// DecoderUpdate is App. C's extension of stage 2 (method vaebm_kl): Gen
// is T_θ′ of a copy θ′ of the VAE, and each step, after the energy's
// update, θ′'s decoder takes an Adam step on Eq. 21,
// ∇θ′ D_KL(p_θ′ ‖ h_ψ,θ) = ∇θ′ E_{x∼p_θ′}[E_ψ(x)], through reparameterised
// samples x = T_θ′(ε). The cached VAE is never touched.
type DecoderUpdate struct {
	// Model is the copy θ′; the parameters of it that T_θ′ reads are updated.
	Model ELBOModel
	// Reference holds the cached VAE's parameters in Model.Params()'s
	// order, for the drift ‖θ′ − θ‖/‖θ‖ (App. C warns that the copy may
	// drop modes).
	Reference []*nn.Param
	// LR is Adam's initial rate, decayed to 0 on a cosine over the stage
	// (App. F: 5e-6).
	LR float64
	// HeldOut are images the copy's negative ELBO is logged on
	// (ebm/decoder_heldout_neg_elbo), each time the stage logs.
	HeldOut []float32
}

// EBM runs stage 2: for each step, draw negatives by Langevin dynamics on
// Eq. 9 (reported as μ(z) with st.MeanNegatives), then take an Adam step on the Eq. 7 loss
// mean E(x⁺) − mean E(x⁻) + α (mean E(x⁺)² + mean E(x⁻)²).
func EBM(ctx context.Context, st EBMStage, cfg EBMOptions, trainSet []float32, rng *RNG, ck *Checkpoint, log Logger, progress Progress) error {
	lcfg := cfg.Chains
	lang, err := NewLangevin(st.Gen, st.Energy, cfg.BatchSize, st.Target, lcfg)
	if err != nil {
		return err
	}
	xdim := lang.XDim()
	b := nn.NewBuilder()
	pos, posT := b.Input("pos", cfg.BatchSize, xdim)
	neg, negT := b.Input("neg", cfg.BatchSize, xdim)
	ePos, err := st.Energy.Forward(b, pos)
	if err != nil {
		return err
	}
	eNeg, err := st.Energy.Forward(b, neg)
	if err != nil {
		return err
	}
	must := G.Must
	mPos, mNeg := must(G.Mean(ePos)), must(G.Mean(eNeg))
	reg := must(G.Add(must(G.Mean(must(G.Square(ePos)))), must(G.Mean(must(G.Square(eNeg))))))
	alpha := b.Scalar(cfg.EnergyReg)
	loss := must(G.Add(must(G.Sub(mPos, mNeg)), must(G.Mul(reg, alpha))))
	lossOut, posOut, negOut := b.Read(loss), b.Read(mPos), b.Read(mNeg)
	params := nn.Trainable(st.Energy.Params())
	prog, err := nn.Compile(b, loss, b.ParamNodes(params))
	if err != nil {
		return err
	}
	defer prog.Close()
	opt := nn.NewAdam(params, cfg.LR)
	opt.Beta1, opt.Beta2, opt.WeightDecay, opt.ClipStd = cfg.Beta1, cfg.Beta2, cfg.WeightDecay, cfg.ClipStd
	var spec *nn.SpectralRegularizer
	if cfg.SpectralReg > 0 {
		spec = nn.NewSpectralRegularizer(cfg.SpectralReg, params, rng.Rand)
	}

	var means *sampler.Decoder
	if st.MeanNegatives {
		if means, err = sampler.NewMeanDecoder(st.Gen, cfg.BatchSize); err != nil {
			return err
		}
		defer means.Close()
	}
	dims := lang.EpsDims()
	buf := sampler.NewReplayBuffer(cfg.Replay.Size, dims[:st.Persist])
	eps := make([][]float32, len(dims))
	for i, d := range dims {
		eps[i] = make([]float32, d*cfg.BatchSize)
	}
	posBuf, negBuf := posT.Data().([]float32), negT.Data().([]float32)
	var dec *decoderPart
	if st.Decoder != nil {
		if dec, err = newDecoderPart(st, cfg); err != nil {
			return err
		}
		defer dec.close()
	}
	sums := make([]float64, 2) // mean E(x⁺) and mean E(x⁻) since the last report
	var reported sampler.Moves // lang.Moves at the last report
	p := 0.0                   // the replay probability of the current step
	var reportErr error        // a failed report of the decoder copy
	loop := &Loop{
		Stage: "ebm", Steps: cfg.Steps, LogEvery: cfg.LogEvery,
		Parts: []*Part{{Prog: prog, Params: params, Buffers: nn.Buffers(st.Energy.Params()), Opt: opt, Spectral: spec,
			Loss: lossOut, LossWhat: "the energy loss"}},
		RNG: rng, Checkpoint: ck, Log: log, Progress: progress,
		Sums: sums,
		Prepare: func(ctx context.Context, step int) error {
			if reportErr != nil {
				return reportErr
			}
			if err := G.Let(alpha, float32(EnergyRegAt(cfg, step))); err != nil {
				return err
			}
			advanceSpectralNorms(st.Energy)
			p = sampler.AnnealedProb(step, cfg.Replay.AnnealSteps, cfg.Replay.MaxProb)
			buf.Init(rng.Rand, eps[:st.Persist], p, st.Init)
			for g := st.Persist; g < len(dims); g++ {
				for i := 0; i < cfg.BatchSize; i++ {
					st.Init(rng.Rand, g, eps[g][i*dims[g]:(i+1)*dims[g]])
				}
			}
			xNeg, _, err := lang.Run(ctx, rng.Rand, eps, lcfg.Steps, nil)
			if err != nil {
				return err
			}
			buf.Push(eps[:st.Persist])
			if means != nil {
				if xNeg, err = means.Decode(eps); err != nil {
					return err
				}
			}
			copy(negBuf, xNeg)
			minibatch(rng.Rand, trainSet, posBuf, xdim)
			return nil
		},
		Observe: func(int) {
			sums[0] += posOut.Scalar()
			sums[1] += negOut.Scalar()
		},
		Report: func(step int, n, _ float64) string {
			log.Log("ebm/energy_pos", step, sums[0]/n)
			log.Log("ebm/energy_neg", step, sums[1]/n)
			if cfg.Replay.Size > 0 { // without a buffer every chain starts fresh
				log.Log("ebm/replay_prob", step, p)
			}
			log.Log("ebm/energy_reg", step, EnergyRegAt(cfg, step))
			if lcfg.Correction != sampler.CorrectionNone { // the training chains' acceptance since the last report
				log.Log("ebm/mala_accept", step, lang.Moves.Since(reported).Rate())
				reported = lang.Moves
			}
			msg := fmt.Sprintf("E+ %.3f E- %.3f", sums[0]/n, sums[1]/n)
			sums[0], sums[1] = 0, 0
			if dec != nil {
				drift, negELBO, err := dec.report()
				if err != nil {
					// Report cannot fail the stage; the next step does.
					reportErr = fmt.Errorf("decoder copy's held-out ELBO at step %d: %w", step, err)
					return msg
				}
				log.Log("ebm/decoder_drift", step, drift)
				log.Log("ebm/decoder_heldout_neg_elbo", step, negELBO)
				msg += fmt.Sprintf(" drift %.2g", drift)
			}
			return msg
		},
		Save: func(state *stageState) {
			rs := buf.State()
			state.Replay, state.Next = rs.Rows, rs.Next
		},
		Restore: func(state *stageState) error {
			return buf.SetState(sampler.ReplayState{Rows: state.Replay, Next: state.Next})
		},
	}
	if dec != nil {
		dec.part.Prepare = func(_ context.Context, step, _ int) error {
			dec.part.Opt.LR = cosineRate(st.Decoder.LR, step, cfg.Steps)
			fillNormal(rng, dec.eps)
			return nil
		}
		loop.Parts = append(loop.Parts, dec.part)
	}
	if err := loop.Run(ctx); err != nil {
		return err
	}
	return reportErr
}

// decoderPart is the optimisation of App. C's decoder copy and what
// reports on it.
type decoderPart struct {
	part      *Part
	eps       [][]float32 // the noise of the reparameterised samples
	ref       []*nn.Param // θ, for the parameters the part updates
	elbo      *vae.ELBO   // the copy's ELBO on the held-out images
	elboProg  *nn.Program
	heldOut   []float32
	heldNoise []float32
}

func newDecoderPart(st EBMStage, cfg EBMOptions) (*decoderPart, error) {
	du := st.Decoder
	all := du.Model.Params()
	if len(du.Reference) != len(all) {
		return nil, fmt.Errorf("vaebm_kl: %d reference parameters for a copy with %d", len(du.Reference), len(all))
	}
	b := nn.NewBuilder()
	d := &decoderPart{}
	x, eps, err := generatorInput(b, st.Gen, cfg.BatchSize, "dec")
	if err != nil {
		return nil, err
	}
	d.eps = eps
	e, err := st.Energy.Forward(b, x)
	if err != nil {
		return nil, err
	}
	loss := G.Must(G.Mean(e))
	// θ′'s decoder: the copy's parameters that T_θ′ reads.
	params, err := GeneratorParams(st.Gen, all)
	if err != nil {
		return nil, err
	}
	index := map[*nn.Param]int{}
	for i, p := range all {
		index[p] = i
	}
	for _, p := range params {
		d.ref = append(d.ref, du.Reference[index[p]])
	}
	prog, err := nn.Compile(b, loss, b.ParamNodes(params))
	if err != nil {
		return nil, err
	}
	d.part = &Part{Name: "decoder", Prog: prog, Params: params, Opt: nn.NewAdam(params, du.LR),
		Loss: b.Read(loss), LossWhat: "the decoder's mean energy (Eq. 21)"}
	if len(du.HeldOut) > 0 {
		eb := nn.NewBuilder()
		xdim := x.Shape()[1]
		n := len(du.HeldOut) / xdim
		if d.elbo, err = du.Model.BuildELBO(eb, n); err != nil {
			prog.Close()
			return nil, err
		}
		if d.elboProg, err = nn.Compile(eb, d.elbo.Loss, nil); err != nil {
			prog.Close()
			return nil, err
		}
		d.heldOut = du.HeldOut[:n*xdim]
		// One fixed draw of the ELBO's noise, so that the logged values
		// differ by θ′ alone.
		d.heldNoise = make([]float32, len(d.elbo.Noise))
		fillNormal(NewRNG(0, 21), [][]float32{d.heldNoise})
	}
	return d, nil
}

// report returns ‖θ′ − θ‖/‖θ‖ over the updated parameters and the copy's
// negative ELBO on the held-out images (NaN without them).
func (d *decoderPart) report() (drift, negELBO float64, err error) {
	var diff, norm float64
	for i, p := range d.part.Params {
		for j, v := range p.Data() {
			r := float64(d.ref[i].Data()[j])
			diff += (float64(v) - r) * (float64(v) - r)
			norm += r * r
		}
	}
	drift = math.Sqrt(diff / norm)
	if d.elboProg == nil {
		return drift, math.NaN(), nil
	}
	copy(d.elbo.X, d.heldOut)
	copy(d.elbo.Noise, d.heldNoise)
	if err := G.Let(d.elbo.Beta, float32(1)); err != nil {
		return drift, 0, err
	}
	for _, g := range d.elbo.GroupWeight {
		if err := G.Let(g, float32(1)); err != nil {
			return drift, 0, err
		}
	}
	if err := d.elboProg.Run(); err != nil {
		return drift, 0, err
	}
	return drift, d.elbo.Recon.Scalar() + d.elbo.KL.Scalar(), nil
}

func (d *decoderPart) close() {
	d.part.Prog.Close()
	if d.elboProg != nil {
		d.elboProg.Close()
	}
}

// NewLangevin builds the sampler that o describes.
func NewLangevin(gen sampler.Generator, en sampler.Energy, batch int, target sampler.Target, o ChainOptions) (*sampler.Langevin, error) {
	lang, err := sampler.NewLangevin(gen, en, batch, target, o.StepSize)
	if err != nil {
		return nil, err
	}
	lang.Rule, lang.NoiseStd, lang.GradClip, lang.Correction = o.Rule, o.NoiseStd, o.GradClip, o.Correction
	lang.Clamp.Lo, lang.Clamp.Hi = o.ClampLo, o.ClampHi
	return lang, nil
}

// EnergyRegAt is the weight α of the energy penalty at a step (1-based).
func EnergyRegAt(cfg EBMOptions, step int) float64 {
	if cfg.EnergyRegEnd <= 0 || cfg.Steps <= 1 {
		return cfg.EnergyReg
	}
	f := float64(step-1) / float64(cfg.Steps-1)
	return cfg.EnergyReg + f*(cfg.EnergyRegEnd-cfg.EnergyReg)
}
