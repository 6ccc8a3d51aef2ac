package pipeline

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vaebm/vaebm/core/data"
	"github.com/vaebm/vaebm/core/energy"
	"github.com/vaebm/vaebm/core/method"
	"github.com/vaebm/vaebm/core/nn"
	"github.com/vaebm/vaebm/tracker"
)

// The smoke scale runs every Fashion-MNIST stage on a generated 28×28
// dataset: both feature nets, the reference statistics and the data floor,
// the hierarchical VAE, the ResNet EBM, classifier-FID and IS of both
// models, the table and the figures; `vaebm sample` then writes every
// format and scores the samples with the run's judges.
func TestFashionMNISTSmokeEndToEnd(t *testing.T) {
	dir := writeMNISTFixture(t, 200, 80)
	db, out := testDB(t)
	var log bytes.Buffer
	r, exp := runSmoke(t, Options{OutDir: out, DB: db, Log: &log}, "../experiments/fashion-mnist.yaml", "data.dir="+dir, "data.train_size=200")
	if r.Status != tracker.Finished {
		t.Fatalf("status %s", r.Status)
	}
	n := float64(exp.Eval.FIDSamples)
	for _, model := range []string{"vae", "vaebm", "data"} {
		for _, k := range []string{"cfid", "cfid2"} {
			if v, ok := r.Metrics["eval/"+model+"_"+k]; !ok || !(v >= 0) || math.IsInf(v, 0) {
				t.Errorf("eval/%s_%s = %v (recorded %v)", model, k, v, ok)
			}
		}
		// IS lies in [1, classes].
		for _, k := range []string{"cis", "cis2"} {
			if v := r.Metrics["eval/"+model+"_"+k]; !(v >= 1-1e-9 && v <= 10+1e-9) {
				t.Errorf("eval/%s_%s = %v, outside [1, 10]", model, k, v)
			}
		}
		if _, ok := r.Metrics["eval/"+model+"_cis_std"]; !ok {
			t.Errorf("eval/%s_cis_std not recorded", model)
		}
		if got := r.Metrics["eval/"+model+"_samples"]; got != n {
			t.Errorf("eval/%s_samples = %v, want %v", model, got, n)
		}
	}
	for _, k := range []string{"eval/classifier_test_acc", "eval/classifier2_test_acc"} {
		if acc, ok := r.Metrics[k]; !ok || !(acc >= 0 && acc <= 1) {
			t.Errorf("%s: %v (recorded: %v)", k, acc, ok)
		}
	}
	if r.Metrics["eval/classifier_run"] == r.Metrics["eval/classifier2_run"] {
		t.Errorf("both judges are run %v", r.Metrics["eval/classifier_run"])
	}
	for _, p := range []string{"samples", "fig12", "chains", "training"} {
		if st, err := os.Stat(filepath.Join(out, "plots", "fashion-mnist-"+p+".png")); err != nil || st.Size() == 0 {
			t.Errorf("figure %s missing or empty (%v)", p, err)
		}
	}
	if !strings.Contains(log.String(), "classifier-FID") {
		t.Errorf("the log does not name the classifier-FID:\n%s", log.String())
	}

	t.Log(log.String())
	// A second run reuses both feature nets and their reference statistics.
	log.Reset()
	if _, err := Run(context.Background(), exp, Options{OutDir: out, DB: db, Log: &log}); err != nil {
		t.Fatal(err)
	}
	if strings.Count(log.String(), "reusing the one trained by run") != 2 || strings.Contains(log.String(), "training the") {
		t.Errorf("second run did not reuse both judges:\n%s", log.String())
	}

	// Samples in every format, scored by the run's judges.
	for _, format := range []string{"idx", "npy", "png"} {
		var report bytes.Buffer
		path, err := Sample(context.Background(), db, out, r.ID, 12, "vaebm", "", SampleOptions{Steps: 1, Format: format, Score: &report})
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if !strings.Contains(report.String(), "classifier-FID") || !strings.Contains(report.String(), "over 12 samples") {
			t.Errorf("%s: score report %q", format, report.String())
		}
		switch format {
		case "idx":
			_, dims, err := data.ReadIDXFloat32(path)
			if err != nil || len(dims) != 4 || dims[0] != 12 || dims[1] != 1 || dims[2] != 28 || dims[3] != 28 {
				t.Errorf("idx: dims %v, %v", dims, err)
			}
		case "npy":
			shape, vals := readNPY(t, path)
			if len(shape) != 4 || shape[0] != 12 || shape[1] != 1 || shape[2] != 28 || shape[3] != 28 || len(vals) != 12*784 {
				t.Errorf("npy: shape %v, %d values", shape, len(vals))
			}
			for _, v := range vals {
				if !(v >= 0 && v <= 1) {
					t.Fatalf("npy value %v outside [0, 1]", v)
				}
			}
		case "png":
			files, _ := filepath.Glob(filepath.Join(path, "*.png"))
			if len(files) != 12 {
				t.Fatalf("png: %d files in %s", len(files), path)
			}
			fh, _ := os.Open(files[0])
			img, err := png.Decode(fh)
			fh.Close()
			if err != nil || img.Bounds().Dx() != 28 || img.Bounds().Dy() != 28 {
				t.Errorf("png: %v, %v", img.Bounds(), err)
			}
		}
	}
	// Bad flags name themselves.
	for _, tc := range []struct {
		n      int
		format string
		want   string
	}{{12, "jpeg", "--format"}, {MaxSampleValues/784 + 1, "", "--n"}} {
		_, err := Sample(context.Background(), db, out, r.ID, tc.n, "vaebm", "", SampleOptions{Format: tc.format})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("n %d format %q: got %v, want an error naming %s", tc.n, tc.format, err, tc.want)
		}
	}
}

// readNPY parses a version-1.0 little-endian float32 .npy file.
func readNPY(t *testing.T, path string) ([]int, []float32) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(raw[:8]) != "\x93NUMPY\x01\x00" {
		t.Fatalf("npy magic % x", raw[:8])
	}
	hl := int(binary.LittleEndian.Uint16(raw[8:10]))
	header := string(raw[10 : 10+hl])
	if (10+hl)%64 != 0 || !strings.HasSuffix(header, "\n") || !strings.Contains(header, "'descr': '<f4'") || !strings.Contains(header, "'fortran_order': False") {
		t.Fatalf("npy header %q", header)
	}
	i, j := strings.Index(header, "'shape': ("), strings.Index(header, ")")
	var shape []int
	for _, f := range strings.Split(header[i+len("'shape': ("):j], ",") {
		if f = strings.TrimSpace(f); f != "" {
			var d int
			if _, err := fmt.Sscan(f, &d); err != nil {
				t.Fatalf("npy shape %q", header)
			}
			shape = append(shape, d)
		}
	}
	body := raw[10+hl:]
	vals := make([]float32, len(body)/4)
	for k := range vals {
		vals[k] = math.Float32frombits(binary.LittleEndian.Uint32(body[4*k:]))
	}
	return shape, vals
}

// writeCIFARFixture writes a small CIFAR-10 binary set: per record a label
// and a 3×32×32 image whose class c is a bright square at a place of its
// own, red, green or blue by c mod 3.
func writeCIFARFixture(t *testing.T, perFile int) string {
	t.Helper()
	dir := t.TempDir()
	for split, names := range data.CIFAR10Files {
		for f, name := range names {
			var b []byte
			for i := 0; i < perFile; i++ {
				c := (i + f) % 10
				rec := make([]byte, data.CIFARRecord)
				rec[0] = byte(c)
				for y := 0; y < 8; y++ {
					for x := 0; x < 8; x++ {
						rec[1+(c%3)*1024+(4+2*(c/3)+y)*32+4+2*c+x] = 255
					}
				}
				b = append(b, rec...)
			}
			if split == "test" {
				b = b[:len(b)/2]
			}
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// The same flow runs on colour 32×32 images: CIFAR-10 from the binary
// files a user supplies.
func TestCIFAR10SmokeEndToEnd(t *testing.T) {
	dir := writeCIFARFixture(t, 64)
	db, out := testDB(t)
	r, exp := runSmoke(t, Options{OutDir: out, DB: db}, "../experiments/cifar10.yaml", "data.dir="+dir)
	for _, k := range []string{"eval/vae_cfid", "eval/vaebm_cfid", "eval/data_cfid", "eval/vaebm_cfid2", "eval/vaebm_cis"} {
		if v, ok := r.Metrics[k]; !ok || !(v >= 0) {
			t.Errorf("%s = %v (recorded %v)", k, v, ok)
		}
	}
	path, err := Sample(context.Background(), db, out, r.ID, 3, "vae", "", SampleOptions{Format: "png"})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(path, "*.png"))
	if len(files) != 3 {
		t.Errorf("%d PNGs in %s", len(files), path)
	}
	// A missing folder is one message naming it and the files expected.
	exp.Data.Dir = filepath.Join(out, "nowhere")
	_, err = Run(context.Background(), exp, Options{OutDir: out, DB: db})
	if err == nil || !strings.Contains(err.Error(), "nowhere") || !strings.Contains(err.Error(), "data_batch_1.bin") {
		t.Errorf("missing data: %v", err)
	}
}

// Samples of a diverged model are refused with a count, not scored as NaN.
func TestJudgesRefuseNonFiniteSamples(t *testing.T) {
	x := make([]float32, 3*784)
	x[784+5] = float32(math.NaN())
	x[2*784] = float32(math.Inf(1))
	err := finiteSamples("vae", x, 784)
	if err == nil || !strings.Contains(err.Error(), "vae: 2 of 3 samples hold NaN or ±Inf (the first: sample 1)") {
		t.Errorf("got %v", err)
	}
	if err := finiteSamples("vae", x[:784], 784); err != nil {
		t.Errorf("finite samples: %v", err)
	}
}

// ebm.spectral_norm puts the image energy under spectral normalisation:
// the run trains and evaluates, its energy checkpoint carries the power
// iteration's vectors, and `vaebm sample` reloads it.
func TestSpectralNormEnergySmoke(t *testing.T) {
	dir := writeMNISTFixture(t, 200, 80)
	db, out := testDB(t)
	r, exp := runSmoke(t, Options{OutDir: out, DB: db}, "../experiments/fashion-mnist.yaml",
		"data.dir="+dir, "data.train_size=200", "ebm.weight_norm=false", "ebm.spectral_norm=true")
	if v := r.Metrics["eval/vaebm_cfid"]; r.Status != tracker.Finished || !(v >= 0) {
		t.Fatalf("status %s, vaebm classifier-FID %v", r.Status, v)
	}
	env, err := taskOf(exp).env(exp)
	if err != nil {
		t.Fatal(err)
	}
	en, err := env.NewEnergy(method.EnergyOptions{Stream: method.StreamEBMInit, SpectralNorm: true})
	if err != nil {
		t.Fatal(err)
	}
	sn := en.(*energy.ResNet).SpectralNorms()
	if len(sn) == 0 {
		t.Fatal("no spectral normalisation in the energy")
	}
	before := append([]float32(nil), sn[0].U.Data()...)
	if err := nn.LoadParams(filepath.Join(RunDir(out, r.ID), "ebm.ckpt"), en.Params()); err != nil {
		t.Fatal(err)
	}
	if slices.Equal(before, sn[0].U.Data()) {
		t.Error("the checkpoint's u is the initial one: the power iteration did not run or was not saved")
	}
	if _, err := Sample(context.Background(), db, out, r.ID, 8, "vaebm", filepath.Join(out, "s.idx"), SampleOptions{}); err != nil {
		t.Fatalf("sampling from the spectrally normalised energy: %v", err)
	}
}
