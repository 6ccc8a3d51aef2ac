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

	prog   *nn.Program
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

// NewLangevin compiles the potential's gradient for batches of `batch` chains.
func NewLangevin(gen Generator, en Energy, batch int, target Target, stepSize float64) (*Langevin, error) {
	b := nn.NewBuilder()
	s := &Langevin{StepSize: stepSize, dims: gen.EpsDims()}
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
		if err := s.prog.Run(); err != nil {
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
