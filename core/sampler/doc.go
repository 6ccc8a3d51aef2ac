// Package sampler draws samples from the joint VAEBM by Langevin dynamics in
// the VAE's noise space (Eq. 9), with persistent chains from a replay buffer
// (App. E). It is generic over the generator T_θ and the energy E_ψ, so the
// same code samples the toy MLPs, conv nets, and (with the identity
// generator) EBMs on x alone.
package sampler

import (
	G "gorgonia.org/gorgonia"

	"github.com/vaebm/vaebm/core/nn"
)

// Generator is the reparameterisation T_θ of Eq. 8: it maps noise groups
// (the ε_z groups, then ε_x) to data x.
type Generator interface {
	// EpsDims returns the per-sample size of each noise group.
	EpsDims() []int
	// Transform adds x = T_θ(ε) to the graph, and Σ log σ_x over the batch
	// (nil when the generator has no x-noise).
	Transform(b *nn.Builder, eps []*G.Node) (x, sumLogStd *G.Node, err error)
}

// Energy is E_ψ(x), returning a (batch, 1) node.
type Energy interface {
	Forward(b *nn.Builder, x *G.Node) (*G.Node, error)
	Params() []*nn.Param
}

// Identity is the generator of an EBM on x alone: one group, x = ε.
type Identity struct{ Dim int }

// EpsDims returns the single group's size.
func (id Identity) EpsDims() []int { return []int{id.Dim} }

// Transform returns ε itself.
func (Identity) Transform(_ *nn.Builder, eps []*G.Node) (*G.Node, *G.Node, error) {
	return eps[0], nil, nil
}
