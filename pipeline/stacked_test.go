package pipeline

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/core/data"
	"github.com/vaebm/vaebm/tracker"
)

// writeMNISTFixture writes a small MNIST-shaped data set (28×28 idx files)
// whose digit d is a bright vertical bar at column 2 + 2.5·d, so that even
// a briefly trained classifier tells the digits apart.
func writeMNISTFixture(t *testing.T, train, test int) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, dims []int, body []byte) {
		var b bytes.Buffer
		b.Write([]byte{0, 0, 0x08, byte(len(dims))})
		for _, d := range dims {
			binary.Write(&b, binary.BigEndian, uint32(d))
		}
		b.Write(body)
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, split := range []struct {
		prefix string
		n      int
	}{{"train", train}, {"t10k", test}} {
		pix := make([]byte, split.n*784)
		labels := make([]byte, split.n)
		for i := range labels {
			d := i % 10
			labels[i] = byte(d)
			col := 2 + d*5/2
			for r := 4; r < 24; r++ {
				pix[i*784+r*28+col] = 255
				pix[i*784+r*28+col+1] = 200
			}
		}
		write(split.prefix+"-images-idx3-ubyte", []int{split.n, 28, 28}, pix)
		write(split.prefix+"-labels-idx1-ubyte", []int{split.n}, labels)
	}
	return dir
}

// The smoke scale runs every StackedMNIST stage on a generated MNIST: the
// classifier, the hierarchical VAE, the ResNet EBM, the PacGAN evaluation of
// both, Table 5 and the figures; `vaebm sample` then writes IDX and PNG.
func TestStackedMNISTSmokeEndToEnd(t *testing.T) {
	mnist := writeMNISTFixture(t, 200, 50)
	db, out := testDB(t)
	r, exp := runSmoke(t, Options{OutDir: out, DB: db}, "../experiments/stackedmnist.yaml", "data.dir="+mnist)
	if r.Status != tracker.Finished {
		t.Fatalf("status %s", r.Status)
	}
	n := float64(exp.Eval.ModeSamples)
	for _, model := range []string{"vae", "vaebm"} {
		modes, kl := r.Metrics["eval/"+model+"_modes"], r.Metrics["eval/"+model+"_kl"]
		if modes < 1 || modes > n || r.Metrics["eval/"+model+"_samples"] != n {
			t.Errorf("%s: %v modes from %v samples", model, modes, r.Metrics["eval/"+model+"_samples"])
		}
		// KL to the uniform over 1,000 modes is at least log(1000/n) with n samples.
		if kl < math.Log(1000/n)-1e-9 || kl > math.Log(1000) {
			t.Errorf("%s: KL %v outside [log(1000/%v), log 1000]", model, kl, n)
		}
		for c := 0; c < 3; c++ {
			var sum float64
			for d := 0; d < 10; d++ {
				sum += r.Metrics[fmt.Sprintf("eval/%s_digit_freq_ch%d_%d", model, c, d)]
			}
			if math.Abs(sum-1) > 1e-9 {
				t.Errorf("%s channel %d: digit frequencies sum to %v", model, c, sum)
			}
		}
	}
	// Both classifiers judge the data, the VAE and the VAEBM: modes, KL,
	// the share of confidently classified channels, and the KLs' gap.
	for _, model := range []string{"data", "vae", "vaebm"} {
		get := func(k string) float64 {
			v, ok := r.Metrics["eval/"+model+"_"+k]
			if !ok {
				t.Errorf("%s: eval/%s_%s not recorded", model, model, k)
			}
			return v
		}
		for _, k := range []string{"confident_frac", "confident_frac2"} {
			if v := get(k); !(v >= 0 && v <= 1) {
				t.Errorf("%s: %s = %v", model, k, v)
			}
		}
		if m := get("modes2"); m < 1 || m > n {
			t.Errorf("%s: %v modes under the second classifier", model, m)
		}
		if kl, kl2, gap := get("kl"), get("kl2"), get("kl_gap"); math.Abs(gap-math.Abs(kl-kl2)) > 1e-12 || kl2 < math.Log(1000/n)-1e-9 {
			t.Errorf("%s: kl %v, kl2 %v, gap %v", model, kl, kl2, gap)
		}
	}
	if r.Metrics["eval/classifier2_run"] == r.Metrics["eval/classifier_run"] {
		t.Errorf("one run trained both classifiers (%v)", r.Metrics["eval/classifier_run"])
	}
	for _, k := range []string{"eval/classifier_test_acc", "eval/classifier2_test_acc", "eval/vae_recon_digit_acc", "eval/data_digit_acc"} {
		if acc, ok := r.Metrics[k]; !ok || !(acc >= 0 && acc <= 1) {
			t.Errorf("%s: %v (recorded: %v)", k, acc, ok)
		}
	}
	for _, k := range []string{"vae/spectral_penalty", "ebm/spectral_penalty", "ebm/replay_prob", "time/eval_vaebm_s"} {
		if _, ok := r.Metrics[k]; !ok {
			t.Errorf("metric %s not recorded", k)
		}
	}
	for _, p := range []string{"samples", "fig12", "chains", "training"} {
		if st, err := os.Stat(filepath.Join(out, "plots", "stackedmnist-"+p+".png")); err != nil || st.Size() == 0 {
			t.Errorf("figure %s missing or empty (%v)", p, err)
		}
	}
	var report bytes.Buffer
	path, err := Sample(context.Background(), db, out, r.ID, 7, "vaebm", "", SampleOptions{Steps: 1, Score: &report})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(report.Bytes(), []byte("of 1000 modes")) || !bytes.Contains(report.Bytes(), []byte("over 7 samples")) {
		t.Errorf("mode report %q", report.String())
	}
	// The same chains with a Metropolis correction report how many of
	// their proposals they took; a correction the config rejects is an
	// error naming the key.
	report.Reset()
	if _, err := Sample(context.Background(), db, out, r.ID, 7, "vaebm", filepath.Join(out, "mala.idx"), SampleOptions{Steps: 2, Correction: "mala", Score: &report}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(report.Bytes(), []byte("vaebm chains: MALA accepted")) || !bytes.Contains(report.Bytes(), []byte("of 14 proposals")) {
		t.Errorf("MALA report %q", report.String())
	}
	if _, err := Sample(context.Background(), db, out, r.ID, 7, "vaebm", "", SampleOptions{Correction: "hmc"}); err == nil || !strings.Contains(err.Error(), "langevin.correction") {
		t.Errorf("--correction hmc: got %v, want an error naming langevin.correction", err)
	}
	vals, dims, err := data.ReadIDXFloat32(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(dims) != 4 || dims[0] != 7 || dims[1] != 3 || dims[2] != 28 || dims[3] != 28 || len(vals) != 7*3*28*28 {
		t.Fatalf("sample file dims %v (%d values)", dims, len(vals))
	}
	if _, err := os.Stat(path[:len(path)-len(".idx")] + "-grid.png"); err != nil {
		t.Errorf("sample PNG: %v", err)
	}
}

// A missing MNIST folder fails the run with a message naming it.
func TestStackedMNISTMissingData(t *testing.T) {
	db, out := testDB(t)
	exp, err := config.Load("../experiments/stackedmnist.yaml", []string{"scale=smoke", "data.dir=" + filepath.Join(out, "nowhere")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), exp, Options{OutDir: out, DB: db})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("nowhere")) {
		t.Fatalf("got %v, want an error naming the missing folder", err)
	}
}
