package bench

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/core/sampler"
)

// The hvae workload is the StackedMNIST quick-scale VAE: if the experiment
// file changes, the benchmark must follow.
func TestHVAEMatchesStackedMNIST(t *testing.T) {
	exp, err := config.Load("../experiments/stackedmnist.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	v := exp.VAE
	got := []any{v.Arch, v.Hidden, v.LatentDim, v.GlobalDim, [2]int{v.Groups[0], v.Groups[1]}, v.MinLogStd, v.BatchSize}
	want := []any{"nvae", hvaeHidden, hvaeLatent, hvaeGlobal, hvaeGroups, hvaeMinLogStd, hvaeBatch}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("setting %d: stackedmnist.yaml has %v, the workload %v", i, got[i], want[i])
		}
	}
}

// The xlangevin workload is Table 4's EBM on x: the energy and the chain
// step of its experiment file.
func TestXLangevinMatchesEBMX(t *testing.T) {
	exp, err := config.Load("../experiments/fashion-ebm-x.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	e, l := exp.EBM, exp.Langevin
	if e.Arch != "resnet" || e.Hidden != xlHidden || !e.SpectralNorm || e.WeightNorm || len(e.Blocks) != len(xlBlocks) {
		t.Fatalf("energy %+v differs from the workload's", e)
	}
	for i, b := range e.Blocks {
		if b.Out != xlBlocks[i].Out || b.Down != xlBlocks[i].Down {
			t.Errorf("block %d: file %+v, workload %+v", i, b, xlBlocks[i])
		}
	}
	rule := sampler.RuleULA
	if l.Rule == "noise_first" {
		rule = sampler.RuleNoiseFirst
	}
	if rule != xlChain.Rule || l.StepSize != xlChain.StepSize || l.NoiseStd != xlChain.NoiseStd || l.GradClip != xlChain.GradClip ||
		len(l.Clamp) != 2 || l.Clamp[0] != xlChain.ClampLo || l.Clamp[1] != xlChain.ClampHi || exp.EBM.BatchSize != xlBatch {
		t.Fatalf("chains %+v (batch %d) differ from the workload's %+v", l, exp.EBM.BatchSize, xlChain)
	}
}

// A written case reads back: every tensor at its offset with its values,
// and the trained-parameter count leaves out buffers.
func TestTwinCaseWrite(t *testing.T) {
	c, err := twinXLangevin(rand.New(rand.NewPCG(3, 1)))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := c.Write(dir); err != nil {
		t.Fatal(err)
	}
	var head struct {
		Params  int `json:"params"`
		Tensors []struct {
			Name   string `json:"name"`
			Kind   string `json:"kind"`
			Shape  []int  `json:"shape"`
			Offset int    `json:"offset"`
		} `json:"tensors"`
	}
	js, err := os.ReadFile(filepath.Join(dir, "xlangevin.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, &head); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "xlangevin.bin"))
	if err != nil {
		t.Fatal(err)
	}
	params := 0
	for i, e := range head.Tensors {
		want := c.Tensors[i]
		if e.Name != want.Name || e.Kind != want.Kind {
			t.Fatalf("tensor %d: %s/%s, want %s/%s", i, e.Name, e.Kind, want.Name, want.Kind)
		}
		if e.Kind == "param" {
			params += len(want.Data)
		}
		for j, v := range want.Data {
			got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*(e.Offset+j):]))
			if got != v {
				t.Fatalf("%s[%d] = %v, want %v", e.Name, j, got, v)
			}
		}
	}
	if head.Params != params || params != c.Params {
		t.Fatalf("params %d (header) %d (case), counted %d", head.Params, c.Params, params)
	}
	kinds := map[string]int{}
	for _, e := range head.Tensors {
		kinds[e.Kind]++
	}
	if kinds["buffer"] == 0 || kinds["input"] != 1 || kinds["output"] != 2 {
		t.Fatalf("kinds %v", kinds)
	}
}

// With Debian's PyTorch installed, both twins reproduce our outputs from
// our weights (what make bench checks before timing them).
func TestTwinsCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("builds both workloads")
	}
	if exec.Command("/usr/bin/python3", "-c", "import torch").Run() != nil {
		t.Skip("no python3-torch")
	}
	dir := t.TempDir()
	for _, w := range Workloads {
		if w.Twin == nil {
			continue
		}
		c, err := w.Twin(rand.New(rand.NewPCG(5, 1)))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Write(dir); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command("/usr/bin/python3", "twins.py", "check", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("twins.py check: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	// A case whose loss is 1% off is refused.
	c, err := twinHVAE(rand.New(rand.NewPCG(5, 1)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range c.Tensors {
		if c.Tensors[i].Name == "loss" {
			c.Tensors[i].Data[0] *= 1.01
		}
	}
	if err := c.Write(dir); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("/usr/bin/python3", "twins.py", "check", dir).CombinedOutput(); err == nil {
		t.Fatalf("twins.py accepted a loss 1%% off:\n%s", out)
	}
}
