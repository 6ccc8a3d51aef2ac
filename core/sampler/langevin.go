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

// LangevinEpsSpace runs unadjusted Langevin dynamics
// ε ← ε − (η/2)∇U(ε) + √η·ξ, ξ ~ N(0, I), on a fixed batch size.
type LangevinEpsSpace struct {
	StepSize float64
	// GradClip, when > 0, clips each gradient element to ±GradClip.
	GradClip float64

	prog   *nn.Program
	eps    []*G.Node
	epsBuf [][]float32
	x, e   *nn.Output
	dims   []int
	xdim   int
}

// NewLangevinEpsSpace compiles the potential's gradient for batches of `batch` chains.
func NewLangevinEpsSpace(gen Generator, en Energy, batch int, target Target, stepSize float64) (*LangevinEpsSpace, error) {
	b := nn.NewBuilder()
	s := &LangevinEpsSpace{StepSize: stepSize, dims: gen.EpsDims()}
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
func (s *LangevinEpsSpace) XDim() int { return s.xdim }

// EpsDims returns the per-chain size of each noise group.
func (s *LangevinEpsSpace) EpsDims() []int { return s.dims }

// Run advances the chains in eps (one slice of batch·dim per group) in place
// by `steps` Langevin steps and returns x = T_θ(ε) and E_ψ(x) at the final
// state. observe, if not nil, sees x before each step and after the last.
func (s *LangevinEpsSpace) Run(ctx context.Context, rng *rand.Rand, eps [][]float32, steps int, observe func(step int, x []float32)) (x, energy []float32, err error) {
	if len(eps) != len(s.dims) {
		return nil, nil, fmt.Errorf("langevin: %d noise groups, want %d", len(eps), len(s.dims))
	}
	for i := range eps {
		if len(eps[i]) != len(s.epsBuf[i]) {
			return nil, nil, fmt.Errorf("langevin: group %d has %d values, want %d", i, len(eps[i]), len(s.epsBuf[i]))
		}
	}
	noise := math.Sqrt(s.StepSize)
	for step := 0; ; step++ {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
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
				e[j] += float32(-0.5*s.StepSize*gv + noise*rng.NormFloat64())
			}
		}
	}
	return append([]float32(nil), s.x.Values()...), append([]float32(nil), s.e.Values()...), nil
}
