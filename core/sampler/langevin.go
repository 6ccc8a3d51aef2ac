package sampler

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"

	"github.com/vaebm/vaebm/core/nn"
)

// Target names the potential that the sampler descends.
type Target string

const (
	// TargetEq9 is E_ψ(T_θ(ε)) + ½‖ε‖², the paper's Eq. 9.
	TargetEq9 Target = "eq9"
	// TargetXZLogDensity is E_ψ(x) − log p(z) − log p(x|z) at (x, z) = T_θ(ε),
	// which the NVlabs code differentiates: Eq. 9 plus Σ log σ_x(z).
	TargetXZLogDensity Target = "xz_log_density"
	// TargetEnergyOnly is E_ψ(x) alone, for EBMs on x with the identity generator.
	TargetEnergyOnly Target = "energy_only"
)

// Langevin runs Langevin dynamics on a potential U of the chain state, on
// a fixed batch size. The state is the VAE's noise ε for VAEBM (Eq. 9) and
// x itself with the Identity generator (an EBM on x). Rule says how a
// chain moves; Clamp keeps the state in a range.
type Langevin struct {
	StepSize float64
	Rule     StepRule
	// NoiseStd is σ of the noise RuleNoiseFirst adds before each gradient.
	NoiseStd float64
	// GradClip, when > 0, clips each gradient element to ±GradClip.
	GradClip float64
	// Clamp, when Lo < Hi, clamps the state to [Lo, Hi] after each step
	// (the data's range, for chains in x).
	Clamp struct{ Lo, Hi float64 }
	// Correction, with RuleULA, makes each step a Metropolis–Hastings
	// proposal (MALA), which removes the unadjusted step's bias.
	Correction Correction

	// Moves counts the chain moves MALA proposed and accepted since the
	// sampler was built.
	Moves

	target Target
	prog   *nn.Program // U, ∇U, x and E(x)
	final  *nn.Program // x and E(x) alone
	eps    []*G.Node
	epsBuf [][]float32
	x, e   *nn.Output
	dims   []int
	xdim   int
}

// StepRule is how a chain moves given ∇U.
type StepRule int

const (
	// RuleULA is the unadjusted Langevin algorithm, the paper's sampler:
	// s ← s − (η/2)∇U(s) + √η·ξ, ξ ~ N(0, I).
	RuleULA StepRule = iota
	// RuleNoiseFirst is IGEBM's step (Du & Mordatch 2019; App. F): noise
	// first, s ← s + σ·ξ, then s ← s − η·∇U(s) at the noised state, with
	// the gradient clipped (GradClip) and the state clamped (Clamp). It is
	// a heuristic: η and σ are set apart, not tied as √η.
	RuleNoiseFirst
)

// Correction is what a chain does with each step's proposal.
type Correction int

const (
	// CorrectionNone takes every step, as the paper does.
	CorrectionNone Correction = iota
	// CorrectionMALA accepts the ULA step s → s′ with probability
	// min(1, exp(U(s) − U(s′)) q(s|s′)/q(s′|s)), q(a|b) = N(a; b − (η/2)∇U(b), ηI),
	// per chain: the Metropolis-adjusted Langevin algorithm, whose chains
	// leave exp(−U) invariant at any step size.
	CorrectionMALA
)

// Moves counts a corrected sampler's proposals and how many were accepted.
type Moves struct{ Proposed, Accepted int }

// Rate is the share of proposals accepted (NaN before any).
func (m Moves) Rate() float64 {
	if m.Proposed == 0 {
		return math.NaN()
	}
	return float64(m.Accepted) / float64(m.Proposed)
}

// Add counts o's moves too.
func (m *Moves) Add(o Moves) { m.Proposed += o.Proposed; m.Accepted += o.Accepted }

// Since is the moves made after a count of before.
func (m Moves) Since(before Moves) Moves {
	return Moves{Proposed: m.Proposed - before.Proposed, Accepted: m.Accepted - before.Accepted}
}

// NewLangevin compiles the potential's gradient for batches of `batch` chains.
func NewLangevin(gen Generator, en Energy, batch int, target Target, stepSize float64) (*Langevin, error) {
	b := nn.NewBuilder()
	s := &Langevin{StepSize: stepSize, dims: gen.EpsDims(), target: target}
	for i, d := range s.dims {
		n, t := b.Input(fmt.Sprintf("eps%d", i), batch, d)
		s.eps = append(s.eps, n)
		s.epsBuf = append(s.epsBuf, t.Data().([]float32))
	}
	x, sumLogStd, err := gen.Transform(b, s.eps)
	if err != nil {
		return nil, err
	}
	s.x = b.Read(x)
	s.xdim = x.Shape()[1]
	e, err := en.Forward(b, x)
	if err != nil {
		return nil, err
	}
	s.e = b.Read(e)
	u, err := G.Sum(e)
	if err != nil {
		return nil, err
	}
	switch target {
	case TargetEq9, TargetXZLogDensity:
		for _, n := range s.eps {
			sq := G.Must(G.Sum(G.Must(G.Square(n))))
			u = G.Must(G.Add(u, G.Must(G.Mul(sq, b.Scalar(0.5)))))
		}
		if target == TargetXZLogDensity {
			if sumLogStd == nil {
				return nil, fmt.Errorf("langevin: target %s needs a generator with x-noise", target)
			}
			u = G.Must(G.Add(u, sumLogStd))
		}
	case TargetEnergyOnly:
	default:
		return nil, fmt.Errorf("langevin: unknown target %q", target)
	}
	if s.prog, err = nn.Compile(b, u, s.eps); err != nil {
		return nil, err
	}
	// x and E(x) at a chain's last state need no gradient: half the work
	// of a step (a VAEBM training chain of 6 steps is 7 evaluations).
	if s.final, err = nn.Compile(b, nil, nil); err != nil {
		return nil, err
	}
	return s, nil
}

// XDim returns the size of one sample x.
func (s *Langevin) XDim() int { return s.xdim }

// EpsDims returns the per-chain size of each noise group.
func (s *Langevin) EpsDims() []int { return s.dims }

// Run advances the chains in eps (one slice of batch·dim per group) in place
// by `steps` Langevin steps and returns x = T_θ(ε) and E_ψ(x) at the final
// state. observe, if not nil, sees x where each step's gradient is taken
// (with RuleNoiseFirst, after that step's noise) and after the last step.
func (s *Langevin) Run(ctx context.Context, rng *rand.Rand, eps [][]float32, steps int, observe func(step int, x []float32)) (x, energy []float32, err error) {
	if len(eps) != len(s.dims) {
		return nil, nil, fmt.Errorf("langevin: %d noise groups, want %d", len(eps), len(s.dims))
	}
	for i := range eps {
		if len(eps[i]) != len(s.epsBuf[i]) {
			return nil, nil, fmt.Errorf("langevin: group %d has %d values, want %d", i, len(eps[i]), len(s.epsBuf[i]))
		}
	}
	if s.Correction == CorrectionMALA {
		return s.runMALA(ctx, rng, eps, steps, observe)
	}
	var gradCoef, noise float64 // s ← s − gradCoef·∇U + noise·ξ
	switch s.Rule {
	case RuleULA:
		gradCoef, noise = 0.5*s.StepSize, math.Sqrt(s.StepSize)
	case RuleNoiseFirst:
		gradCoef = s.StepSize
	default:
		return nil, nil, fmt.Errorf("langevin: unknown step rule %d", s.Rule)
	}
	clamp := s.Clamp.Lo < s.Clamp.Hi
	for step := 0; ; step++ {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		if s.Rule == RuleNoiseFirst && step < steps {
			for _, e := range eps {
				for j := range e {
					e[j] += float32(s.NoiseStd * rng.NormFloat64())
				}
			}
		}
		for i := range eps {
			copy(s.epsBuf[i], eps[i])
		}
		prog := s.prog
		if step == steps {
			prog = s.final
		}
		if err := prog.Run(); err != nil {
			return nil, nil, err
		}
		if observe != nil {
			observe(step, s.x.Values())
		}
		if step == steps {
			break
		}
		for i, n := range s.eps {
			g, err := s.prog.Grad(n)
			if err != nil {
				return nil, nil, err
			}
			e := eps[i]
			for j, gj := range g {
				gv := float64(gj)
				if math.IsNaN(gv) || math.IsInf(gv, 0) {
					return nil, nil, fmt.Errorf("langevin: gradient became %v at step %d", gv, step)
				}
				if s.GradClip > 0 {
					gv = math.Max(-s.GradClip, math.Min(s.GradClip, gv))
				}
				d := -gradCoef * gv
				if noise > 0 { // ULA; RuleNoiseFirst added its noise before the gradient
					d += noise * rng.NormFloat64()
				}
				e[j] += float32(d)
				if clamp {
					e[j] = float32(math.Max(s.Clamp.Lo, math.Min(s.Clamp.Hi, float64(e[j]))))
				}
			}
		}
	}
	return append([]float32(nil), s.x.Values()...), append([]float32(nil), s.e.Values()...), nil
}

// runMALA is Run with CorrectionMALA: every chain proposes the ULA step and
// keeps it or stays where it was by the Metropolis–Hastings test, which
// needs U per chain (so the eq9 and energy_only targets, whose U is E_ψ plus
// a per-chain ½‖ε‖²) and a proposal density (so no clip, clamp or noise-first
// step). Each step costs one gradient, as ULA's: the proposal's U and ∇U are
// the next step's.
func (s *Langevin) runMALA(ctx context.Context, rng *rand.Rand, eps [][]float32, steps int, observe func(step int, x []float32)) (x, energy []float32, err error) {
	switch {
	case s.Rule != RuleULA:
		return nil, nil, fmt.Errorf("langevin: the MALA correction needs the ula rule")
	case s.target != TargetEq9 && s.target != TargetEnergyOnly:
		return nil, nil, fmt.Errorf("langevin: the MALA correction needs the eq9 or energy_only target, not %s", s.target)
	case s.GradClip > 0 || s.Clamp.Lo < s.Clamp.Hi:
		return nil, nil, fmt.Errorf("langevin: the MALA correction needs a proposal density: no grad_clip or clamp")
	}
	batch := len(s.epsBuf[0]) / s.dims[0]
	eta := s.StepSize
	// cur is the chains' state: U, ∇U, x and E there; the sampler's
	// buffers hold the last point evaluated, the proposal.
	type point struct {
		u     []float64
		e, x  []float32
		grads [][]float32
	}
	newPoint := func() point {
		p := point{u: make([]float64, batch), e: make([]float32, batch), x: make([]float32, batch*s.xdim)}
		for _, d := range s.dims {
			p.grads = append(p.grads, make([]float32, batch*d))
		}
		return p
	}
	// eval runs the program at state and fills p from it.
	eval := func(state [][]float32, p point) error {
		for i := range state {
			copy(s.epsBuf[i], state[i])
		}
		if err := s.prog.Run(); err != nil {
			return err
		}
		copy(p.x, s.x.Values())
		copy(p.e, s.e.Values())
		for c, v := range p.e {
			p.u[c] = float64(v)
		}
		for i, n := range s.eps {
			g, err := s.prog.Grad(n)
			if err != nil {
				return err
			}
			if s.target == TargetEq9 { // U adds ½‖ε‖² per chain
				d := s.dims[i]
				for j, v := range state[i] {
					p.u[j/d] += 0.5 * float64(v) * float64(v)
				}
			}
			for _, gj := range g {
				if gv := float64(gj); math.IsNaN(gv) || math.IsInf(gv, 0) {
					return fmt.Errorf("gradient became %v", gv)
				}
			}
			copy(p.grads[i], g)
		}
		return nil
	}
	cur, prop := newPoint(), newPoint()
	if err := eval(eps, cur); err != nil {
		return nil, nil, fmt.Errorf("langevin: at the start: %w", err)
	}
	next := make([][]float32, len(eps))
	for i := range eps {
		next[i] = make([]float32, len(eps[i]))
	}
	logRatio := make([]float64, batch) // log q(s|s′) − log q(s′|s), then + U(s) − U(s′)
	sqrtEta := math.Sqrt(eta)
	for step := 0; ; step++ {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		if observe != nil {
			observe(step, cur.x)
		}
		if step == steps {
			break
		}
		clear(logRatio)
		for i, e := range eps {
			d := s.dims[i]
			for j := range e {
				xi := rng.NormFloat64()
				next[i][j] = float32(float64(e[j]) - 0.5*eta*float64(cur.grads[i][j]) + sqrtEta*xi)
				logRatio[j/d] += 0.5 * xi * xi // −log q(s′|s), up to the constant both share
			}
		}
		if err := eval(next, prop); err != nil {
			return nil, nil, fmt.Errorf("langevin: step %d: %w", step, err)
		}
		for i, e := range eps {
			d := s.dims[i]
			for j := range e {
				r := float64(e[j]) - float64(next[i][j]) + 0.5*eta*float64(prop.grads[i][j])
				logRatio[j/d] -= r * r / (2 * eta) // + log q(s|s′)
			}
		}
		xd := s.xdim
		for c := 0; c < batch; c++ {
			s.Proposed++
			// Written so that a NaN ratio refuses the move.
			if !(math.Log(rng.Float64()) < logRatio[c]+cur.u[c]-prop.u[c]) {
				continue
			}
			s.Accepted++
			for i, e := range eps {
				d := s.dims[i]
				copy(e[c*d:(c+1)*d], next[i][c*d:(c+1)*d])
				copy(cur.grads[i][c*d:(c+1)*d], prop.grads[i][c*d:(c+1)*d])
			}
			cur.u[c], cur.e[c] = prop.u[c], prop.e[c]
			copy(cur.x[c*xd:(c+1)*xd], prop.x[c*xd:(c+1)*xd])
		}
	}
	return cur.x, cur.e, nil
}
