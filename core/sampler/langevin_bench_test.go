package sampler_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/vaebm/vaebm/core/energy"
	"github.com/vaebm/vaebm/core/sampler"
	"github.com/vaebm/vaebm/core/vae"
)

// BenchmarkLangevinToy times one Langevin step of the 25-Gaussians VAEBM
// (Sec. 5.4 networks) on a batch of 256 chains.
func BenchmarkLangevinToy(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	v := vae.NewGaussianVAE(rng, 2, 20, 256, 4, "swish", -4.6)
	en := energy.NewMLP(rng, 2, 256, 4, "swish", 1)
	s, err := sampler.NewLangevin(v, en, 256, sampler.TargetEq9, 0.01)
	if err != nil {
		b.Fatal(err)
	}
	eps := [][]float32{make([]float32, 20*256), make([]float32, 2*256)}
	for _, g := range eps {
		sampler.Gaussian(rng, 0, g)
	}
	b.ResetTimer()
	if _, _, err := s.Run(context.Background(), rng, eps, b.N, nil); err != nil {
		b.Fatal(err)
	}
}

// One step of a chain in x on Fashion-MNIST-sized images with the quick
// scale's energy (ebm_x): what its training and test chains cost.
func BenchmarkLangevinXSpaceImages(b *testing.B) {
	for _, batch := range []int{32, 64} {
		b.Run(fmt.Sprint(batch), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			en := energy.NewResNet(rng, 1, 28, 28, 32, []energy.BlockSpec{{Out: 32, Down: true}, {Out: 64, Down: true}})
			en.SpectralNormalize(rng)
			s, err := sampler.NewLangevin(sampler.Identity{Dim: 784}, en, batch, sampler.TargetEnergyOnly, 10)
			if err != nil {
				b.Fatal(err)
			}
			eps := [][]float32{make([]float32, 784*batch)}
			sampler.Uniform(0, 1)(rng, 0, eps[0])
			b.ResetTimer()
			if _, _, err := s.Run(context.Background(), rng, eps, b.N, nil); err != nil {
				b.Fatal(err)
			}
		})
	}
}
