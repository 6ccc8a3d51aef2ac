package sampler

import (
	"fmt"
	"math/rand/v2"
)

// ReplayBuffer keeps the final states of past chains so that new chains can
// start from them (persistent sampling, App. E). It stores only the groups
// it is told to (ε_z for VAEBM; x for an EBM on x).
type ReplayBuffer struct {
	cap  int
	dims []int // per-sample size of each stored group
	rows [][][]float32
	next int
}

// NewReplayBuffer holds up to capacity samples of the given groups.
func NewReplayBuffer(capacity int, dims []int) *ReplayBuffer {
	return &ReplayBuffer{cap: capacity, dims: dims}
}

// Len returns the number of stored samples.
func (r *ReplayBuffer) Len() int { return len(r.rows) }

// Push stores the chains in groups (batch·dim values each), evicting the oldest.
func (r *ReplayBuffer) Push(groups [][]float32) {
	if r.cap == 0 {
		return
	}
	n := len(groups[0]) / r.dims[0]
	for i := 0; i < n; i++ {
		row := make([][]float32, len(r.dims))
		for g, d := range r.dims {
			row[g] = append([]float32(nil), groups[g][i*d:(i+1)*d]...)
		}
		if len(r.rows) < r.cap {
			r.rows = append(r.rows, row)
			continue
		}
		r.rows[r.next] = row
		r.next = (r.next + 1) % r.cap
	}
}

// Init fills each chain of groups: with probability p from a random stored
// sample, otherwise by fresh, which writes one chain's start for a group into dst.
func (r *ReplayBuffer) Init(rng *rand.Rand, groups [][]float32, p float64, fresh func(rng *rand.Rand, group int, dst []float32)) {
	n := len(groups[0]) / r.dims[0]
	for i := 0; i < n; i++ {
		fromBuf := len(r.rows) > 0 && rng.Float64() < p
		var row [][]float32
		if fromBuf {
			row = r.rows[rng.IntN(len(r.rows))]
		}
		for g, d := range r.dims {
			dst := groups[g][i*d : (i+1)*d]
			if fromBuf {
				copy(dst, row[g])
			} else {
				fresh(rng, g, dst)
			}
		}
	}
}

// Uniform returns a chain start of uniform noise on [lo, hi), whatever
// the group: the restarts of an EBM on x (IGEBM; lo, hi the data's range).
func Uniform(lo, hi float64) func(rng *rand.Rand, group int, dst []float32) {
	return func(rng *rand.Rand, _ int, dst []float32) {
		for i := range dst {
			dst[i] = float32(lo + (hi-lo)*rng.Float64())
		}
	}
}

// FromPool returns a chain start drawn uniformly from pool, rows of len(dst)
// values: for an EBM on x whose chains start at samples of a pretrained
// VAE (langevin.init: vae), drawn once into the pool.
func FromPool(pool []float32, dim int) func(rng *rand.Rand, group int, dst []float32) {
	rows := len(pool) / dim
	return func(rng *rand.Rand, _ int, dst []float32) {
		r := rng.IntN(rows)
		copy(dst, pool[r*dim:(r+1)*dim])
	}
}

// Gaussian writes standard normal noise into dst, whatever the group.
func Gaussian(rng *rand.Rand, _ int, dst []float32) {
	for i := range dst {
		dst[i] = float32(rng.NormFloat64())
	}
}

// AnnealedProb is the replay probability at a training step: linear from 0
// to max over annealSteps, then constant (App. E).
func AnnealedProb(step, annealSteps int, max float64) float64 {
	if annealSteps <= 0 || step >= annealSteps {
		return max
	}
	return max * float64(step) / float64(annealSteps)
}

// ReplayState is a buffer's contents, saved with a resumable run.
type ReplayState struct {
	Rows [][][]float32
	Next int
}

// State returns the buffer's contents (shared, not copied: save it before the next Push).
func (r *ReplayBuffer) State() ReplayState { return ReplayState{Rows: r.rows, Next: r.next} }

// SetState restores contents saved by State, checking group sizes.
func (r *ReplayBuffer) SetState(s ReplayState) error {
	if len(s.Rows) > r.cap || s.Next < 0 || (s.Next > 0 && s.Next >= r.cap) {
		return fmt.Errorf("replay state holds %d samples (next %d), the buffer holds %d", len(s.Rows), s.Next, r.cap)
	}
	for _, row := range s.Rows {
		if len(row) != len(r.dims) {
			return fmt.Errorf("replay state has %d groups per sample, want %d", len(row), len(r.dims))
		}
		for g, d := range r.dims {
			if len(row[g]) != d {
				return fmt.Errorf("replay state group %d has %d values, want %d", g, len(row[g]), d)
			}
		}
	}
	r.rows, r.next = s.Rows, s.Next
	return nil
}
