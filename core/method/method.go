// Package method is the table of training methods that the paper compares
// (Sec. 3, Sec. 5.2 and Table 4, App. C and F): for each, which stages it
// trains, in which order and on what, and which models it reports and how
// each draws its samples. A dataset task (the pipeline's toy and image
// flows) supplies the data and networks through Env and evaluates the
// models; one runner executes every method on every task, so a method knows
// nothing of datasets and a dataset nothing of methods.
//
// Adding a method is one file here with a Method value, its entry in Table,
// and an experiment YAML file.
package method

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/core/nn"
	"github.com/vaebm/vaebm/core/sampler"
	"github.com/vaebm/vaebm/core/train"
)

// Method is one entry of Table.
type Method struct {
	// Name is the value of the experiment's method key.
	Name string
	// Check reports settings the method cannot run with, beyond what
	// config.Validate checks for every method, as a *config.Error naming
	// the key.
	Check func(exp config.Experiment) error
	// Build trains the method's stages through env.Train, each reading what
	// the ones before it trained, and returns the models it reports.
	Build func(ctx context.Context, env *Env) ([]Model, error)
}

// Table lists every method; config.Methods names the same ones.
var Table = []Method{VAEBM, EBMX, WGANNVAE, VAEBMKL}

// Lookup returns the method called name.
func Lookup(name string) (Method, error) {
	for _, m := range Table {
		if m.Name == name {
			return m, nil
		}
	}
	return Method{}, fmt.Errorf("method %q is not in the method table", name)
}

// Check runs the check of exp's method.
func Check(exp config.Experiment) error {
	m, err := Lookup(exp.Method)
	if err != nil {
		return &config.Error{Key: "method", Msg: err.Error()}
	}
	return m.Check(exp)
}

// settingError is a method's complaint about the setting at key.
func settingError(key, format string, args ...any) error {
	return &config.Error{Key: key, Msg: fmt.Sprintf(format, args...)}
}

// checkInit reports chains that start where the method's do not.
func checkInit(exp config.Experiment, want ...string) error {
	for _, w := range want {
		if exp.Langevin.Init == w {
			return nil
		}
	}
	return settingError("langevin.init", "is %q; method %s starts its chains at %s", exp.Langevin.Init, exp.Method, strings.Join(want, " or "))
}

// checkNoDecoderUpdate reports a decoder rate, which only vaebm_kl reads.
func checkNoDecoderUpdate(exp config.Experiment) error {
	if exp.EBM.DecoderLR != 0 {
		return settingError("ebm.decoder_lr", "is %v, but method %s has no decoder update (vaebm_kl has)", exp.EBM.DecoderLR, exp.Method)
	}
	return nil
}

// VAE is a stage-1 model: trainable on its ELBO and a generator T_θ.
type VAE interface {
	train.ELBOModel
	sampler.Generator
}

// EnergyOptions say how to build a fresh energy network.
type EnergyOptions struct {
	// Stream seeds its initial weights.
	Stream uint64
	// SpectralNorm puts its layers under spectral normalisation, and
	// BatchNorm adds batch normalisation after each convolution (the WGAN
	// critic of App. F, which is only ever evaluated in training).
	SpectralNorm, BatchNorm bool
}

// Env is what a dataset task gives a method.
type Env struct {
	Exp config.Experiment
	// TrainSet holds the training data, XDim values per example.
	TrainSet []float32
	XDim     int
	// HeldOut returns n examples no stage trains on (for vaebm_kl's ELBO
	// of θ′).
	HeldOut func(n int) ([]float32, error)
	// NewVAE builds the task's VAE with its seeded initial weights.
	NewVAE func() (VAE, error)
	// NewEnergy builds the task's energy network E_ψ (an MLP on the toy,
	// the Table 7 ResNet on images) with fresh weights.
	NewEnergy func(o EnergyOptions) (sampler.Energy, error)
	// Train gives a stage's parameters their trained values: from the
	// run's checkpoints, from the stage cache or by training (the runner
	// decides; see pipeline.trainedStage).
	Train func(ctx context.Context, s Stage) error
}

// Stage is one trained stage of a method.
type Stage struct {
	// Name prefixes the stage's metrics, checkpoint files (NAME.ckpt,
	// NAME.state) and stage-cache folder; What names it for people.
	Name, What string
	// Params are what the stage trains and saves.
	Params []*nn.Param
	// Settings are what the result depends on besides the data, the seed,
	// the code and the stages before it (which the runner adds); the stage
	// cache hashes them, so leave out what only changes logging.
	Settings any
	// CheckpointEvery is how often (in steps) the training state is saved.
	CheckpointEvery int
	// Train trains Params from their initial values.
	Train func(ctx context.Context, ck *train.Checkpoint, log train.Logger, progress train.Progress) error
}

// Model is one model a method reports: the runner samples it, the task
// evaluates the samples and draws them.
type Model struct {
	// Name prefixes its evaluation metrics (eval/NAME_…) and names its
	// sample files; Title names it in figures.
	Name, Title string
	// Sample draws n samples, batch at a time. starts seeds what a sample
	// or chain starts from, noise the Langevin noise: a VAE and chains
	// that start at its samples, given the same starts stream and batch,
	// see the same draws. observe, if not nil, sees each batch before
	// every step and after the last (step 0 only, for a direct sampler).
	Sample func(ctx context.Context, starts, noise *rand.Rand, n, batch int, observe Observer) ([]float32, error)
	// Steps is the length of its chains; 0 for a direct sampler.
	Steps int
	// Moves, for chains with a Metropolis correction, counts what all of
	// its samples' chains proposed and accepted; nil otherwise.
	Moves *sampler.Moves
	// Base and Energy give its density where one exists,
	// log h(x) = log p_Base(x) − E(x) − log Z: Base nil is flat (an EBM on
	// x), Energy nil is the VAE alone; both nil (a GAN) has no density.
	Base   VAE
	Energy sampler.Energy
}

// HasDensity reports whether the model has a density to evaluate.
func (m Model) HasDensity() bool { return m.Base != nil || m.Energy != nil }

// Observer sees batch b at a chain step; report gives what the chains
// would report at that state.
type Observer func(b, step int, report func() ([]float32, error))

// Seed streams: one per consumer, so adding draws to one stage does not
// change another's.
const (
	StreamData = iota + 1
	StreamVAEInit
	StreamVAETrain
	StreamEBMInit
	StreamEBMTrain
	StreamEval
	StreamSample
	StreamSpectralInit
	StreamPool   // the VAE samples that ebm_x chains start from
	StreamCritic // the WGAN critic's initial weights
	StreamWGANTrain
	StreamHeldOut // held-out data drawn from a generator (the toy's, StackedMNIST's)
	StreamOOD     // the OOD evaluation: interpolation pairs, noise images, IWAE draws
)

// NewRNG returns the random stream `stream` of a run with this seed.
func NewRNG(seed, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, stream))
}

// trainVAE is stage 1 of every method that has a VAE: the ELBO (Eq. 2)
// on the training set. Every method's VAE stage has the same settings, so
// all share one cached VAE.
func trainVAE(ctx context.Context, env *Env) (VAE, error) {
	v, err := env.NewVAE()
	if err != nil {
		return nil, err
	}
	cfg := env.Exp.VAE
	settings := cfg
	settings.CheckpointEvery = 0 // when it saves does not change what it computes
	err = env.Train(ctx, Stage{
		Name: "vae", What: "VAE", Params: v.Params(), Settings: settings, CheckpointEvery: cfg.CheckpointEvery,
		Train: func(ctx context.Context, ck *train.Checkpoint, log train.Logger, progress train.Progress) error {
			return train.VAE(ctx, v, vaeOptions(cfg), env.TrainSet, train.NewRNG(env.Exp.Seed, StreamVAETrain), ck, log, progress)
		},
	})
	return v, err
}

// copyVAE returns a second VAE holding v's parameter values: the θ′ that
// vaebm_kl and wgan_nvae train while v, the cached VAE, stays as it is.
func copyVAE(env *Env, v VAE) (VAE, error) {
	c, err := env.NewVAE()
	if err != nil {
		return nil, err
	}
	src, dst := v.Params(), c.Params()
	if len(src) != len(dst) {
		return nil, fmt.Errorf("copying the VAE: %d parameters, the copy has %d", len(src), len(dst))
	}
	for i := range src {
		copy(dst[i].Data(), src[i].Data())
	}
	return c, nil
}

// energySettings are what an energy stage's result depends on: the
// method, the ebm settings and the training chains' settings.
func energySettings(exp config.Experiment) any {
	e, l := exp.EBM, exp.Langevin
	e.CheckpointEvery, e.LogEvery = 0, 0
	l.TestSteps, l.TestStepSize = 0, 0 // the chains after training only
	return struct {
		Method   string
		EBM      config.EBM
		Langevin config.Langevin
	}{exp.Method, e, l}
}

// newEnergy builds the experiment's energy with fresh weights, spectrally
// normalised when ebm.spectral_norm says so.
func newEnergy(env *Env) (sampler.Energy, error) {
	return env.NewEnergy(EnergyOptions{Stream: StreamEBMInit, SpectralNorm: env.Exp.EBM.SpectralNorm})
}

// trainEnergy is the energy stage shared by vaebm, vaebm_kl and ebm_x:
// Eq. 7's contrastive loss with negatives from st's chains. extra are
// parameters the stage trains and saves besides the energy's (θ′);
// settings are what the stage cache hashes (see Stage.Settings).
// prepare, if not nil, completes st when the stage trains, for what only
// training needs (ebm_x's pool of VAE samples): a stage loaded from the
// run or the cache skips it.
func trainEnergy(ctx context.Context, env *Env, st train.EBMStage, extra []*nn.Param, settings any, prepare func(context.Context, *train.EBMStage) error) error {
	exp := env.Exp
	return env.Train(ctx, Stage{
		Name: "ebm", What: "energy", Params: append(st.Energy.Params(), extra...),
		Settings: settings, CheckpointEvery: exp.EBM.CheckpointEvery,
		Train: func(ctx context.Context, ck *train.Checkpoint, log train.Logger, progress train.Progress) error {
			if prepare != nil {
				if err := prepare(ctx, &st); err != nil {
					return err
				}
			}
			return train.EBM(ctx, st, ebmOptions(exp), env.TrainSet, train.NewRNG(exp.Seed, StreamEBMTrain), ck, log, progress)
		},
	})
}
