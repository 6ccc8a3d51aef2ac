package train

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"

	"github.com/vaebm/vaebm/core/nn"
)

// RNG is a seeded random stream (PCG) whose position can be saved with a
// training state, so that a resumed stage draws what an uninterrupted one would.
type RNG struct {
	*rand.Rand
	src *rand.PCG
}

// NewRNG returns stream `stream` of seed.
func NewRNG(seed, stream uint64) *RNG {
	src := rand.NewPCG(seed, stream)
	return &RNG{Rand: rand.New(src), src: src}
}

// Checkpoint makes a stage resumable. Every Every steps the trainer calls
// Flush (so logged points are durable first) and then saves its whole
// state to Path; at start it loads Path if present and calls Resume with
// the step it continues after (0 for a fresh start), so the caller can drop
// points logged after that step.
type Checkpoint struct {
	Path   string
	Every  int
	Flush  func() error
	Resume func(afterStep int) error
}

// stageState is everything a trainer needs to continue exactly.
type stageState struct {
	Step     int
	Params   [][]float32
	Adam     nn.AdamState
	RNG      []byte
	Sums     []float64
	Replay   [][][]float32
	Next     int
	Spectral [][]float64
	Buffers  [][]float32 // the first part's untrained state
	// Parts holds the parameters and optimisers of a loop's parts after
	// the first (a GAN's generator).
	Parts []partState
}

// partState is one further part of a training loop.
type partState struct {
	Params   [][]float32
	Adam     nn.AdamState
	Spectral [][]float64
	Buffers  [][]float32
}

func (c *Checkpoint) due(step, total int) bool {
	return c != nil && c.Path != "" && c.Every > 0 && step%c.Every == 0 && step < total
}

func (c *Checkpoint) save(st *stageState, params []*nn.Param, opt *nn.Adam, rng *RNG) error {
	if c.Flush != nil {
		if err := c.Flush(); err != nil {
			return err
		}
	}
	st.Params = st.Params[:0]
	for _, p := range params {
		st.Params = append(st.Params, p.Data())
	}
	st.Adam = opt.State()
	b, err := rng.src.MarshalBinary()
	if err != nil {
		return err
	}
	st.RNG = b
	return nn.SaveState(c.Path, st)
}

// load restores a saved state into params, opt and rng and returns it, or
// nil when there is none to resume from.
func (c *Checkpoint) load(params []*nn.Param, opt *nn.Adam, rng *RNG) (*stageState, error) {
	if c == nil || c.Path == "" {
		return nil, nil
	}
	var st stageState
	err := nn.LoadState(c.Path, &st)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, c.resumed(0)
	}
	if err != nil {
		return nil, err
	}
	if len(st.Params) != len(params) {
		return nil, fmt.Errorf("training state %s: %w: %d parameters, the model has %d", c.Path, nn.ErrCorruptCheckpoint, len(st.Params), len(params))
	}
	for i, p := range params {
		if len(st.Params[i]) != len(p.Data()) {
			return nil, fmt.Errorf("training state %s: %w: parameter %s has %d values, want %d", c.Path, nn.ErrCorruptCheckpoint, p.Name, len(st.Params[i]), len(p.Data()))
		}
		copy(p.Data(), st.Params[i])
	}
	if err := opt.SetState(st.Adam); err != nil {
		return nil, fmt.Errorf("training state %s: %w: %v", c.Path, nn.ErrCorruptCheckpoint, err)
	}
	if err := rng.src.UnmarshalBinary(st.RNG); err != nil {
		return nil, fmt.Errorf("training state %s: %w: rng: %v", c.Path, nn.ErrCorruptCheckpoint, err)
	}
	return &st, c.resumed(st.Step)
}

func (c *Checkpoint) resumed(step int) error {
	if c.Resume == nil {
		return nil
	}
	return c.Resume(step)
}
