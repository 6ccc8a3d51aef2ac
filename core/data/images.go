package data

import (
	"errors"
	"fmt"
	"os"
)

// Images is a labelled set of N images of C×H×W bytes, each image
// channel-major (all of channel 0 row by row, then channel 1, …), with one
// label per image in 0…Classes−1.
type Images struct {
	N, C, H, W int
	Pixels     []uint8 // N·C·H·W
	Labels     []uint8 // N
}

// Dim is the number of values in one image.
func (m *Images) Dim() int { return m.C * m.H * m.W }

// Image returns image i's pixels.
func (m *Images) Image(i int) []uint8 {
	d := m.Dim()
	return m.Pixels[i*d : (i+1)*d]
}

// Float32 returns images [from, from+n) scaled to [0, 1] (byte/255), the
// layout every network here reads.
func (m *Images) Float32(from, n int) []float32 {
	d := m.Dim()
	out := make([]float32, n*d)
	for i, p := range m.Pixels[from*d : (from+n)*d] {
		out[i] = float32(p) / 255
	}
	return out
}

// ImageSet describes a labelled image dataset read from files the user has:
// where it is looked for and how a split is read.
type ImageSet struct {
	Name    string // as in an experiment's data.name
	Title   string // for people: "Fashion-MNIST"
	C, H, W int
	Classes int
	// Env names the environment variable that overrides the folder.
	Env string
	// defaultDir finds the folder when neither data.dir nor Env is set.
	defaultDir func() (string, error)
	// load reads split "train" or "test" from dir.
	load func(dir, split string) (*Images, error)
}

// ImageSets are the image datasets by name. StackedMNIST is built from
// "mnist" (StackedMNIST below).
var ImageSets = map[string]ImageSet{
	"mnist": {Name: "mnist", Title: "MNIST", C: 1, H: 28, W: 28, Classes: 10, Env: MNISTEnv, defaultDir: goMNISTDir,
		load: func(dir, split string) (*Images, error) { return loadIDXPair("MNIST", dir, split) }},
	"fashion-mnist": {Name: "fashion-mnist", Title: "Fashion-MNIST", C: 1, H: 28, W: 28, Classes: 10, Env: FashionEnv,
		defaultDir: func() (string, error) { return FashionDebianDir, nil },
		load: func(dir, split string) (*Images, error) {
			m, err := loadIDXPair("Fashion-MNIST", dir, split)
			if errors.Is(err, ErrMissingDataset) {
				err = fmt.Errorf("%w (Debian's dataset-fashion-mnist package installs them in %s; "+
					"or set data.dir or $%s to a folder that has them)", err, FashionDebianDir, FashionEnv)
			}
			return m, err
		}},
	"cifar10": {Name: "cifar10", Title: "CIFAR-10", C: 3, H: 32, W: 32, Classes: 10, Env: CIFAR10Env,
		defaultDir: func() (string, error) {
			return "", fmt.Errorf("CIFAR-10: %w: no folder given (set data.dir or $%s to the folder of the binary version's "+
				"data_batch_1.bin … data_batch_5.bin and test_batch.bin; nothing is downloaded)", ErrMissingDataset, CIFAR10Env)
		},
		load: LoadCIFAR10},
}

// Dim is the number of values in one image of the set.
func (s ImageSet) Dim() int { return s.C * s.H * s.W }

// Dir is the folder the set is read from: dir when not empty, else $Env,
// else the set's default place.
func (s ImageSet) Dir(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	if d := os.Getenv(s.Env); d != "" {
		return d, nil
	}
	return s.defaultDir()
}

// Load reads split "train" or "test" from dir ("" as in Dir) and checks
// that the images have the set's shape.
func (s ImageSet) Load(dir, split string) (*Images, error) {
	dir, err := s.Dir(dir)
	if err != nil {
		return nil, err
	}
	m, err := s.load(dir, split)
	if err != nil {
		return nil, err
	}
	if m.C != s.C || m.H != s.H || m.W != s.W {
		return nil, fmt.Errorf("%s in %s: images are %d×%d×%d, want %d×%d×%d", s.Name, dir, m.C, m.H, m.W, s.C, s.H, s.W)
	}
	for i, l := range m.Labels {
		if int(l) >= s.Classes {
			return nil, fmt.Errorf("%s in %s (%s split): label %d of item %d is not below %d", s.Name, dir, split, l, i, s.Classes)
		}
	}
	return m, nil
}
