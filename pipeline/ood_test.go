package pipeline

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vaebm/vaebm/tracker"
)

// The OOD evaluation at the smoke scale: every set scored by both models,
// AUROCs and KS statistics in their ranges, the figures drawn.
func TestOODSmokeEndToEnd(t *testing.T) {
	dir := writeMNISTFixture(t, 200, 80)
	db, out := testDB(t)
	var log bytes.Buffer
	r, exp := runSmoke(t, Options{OutDir: out, DB: db, Log: &log}, "../experiments/fashion-ood.yaml", "data.dir="+dir, "data.train_size=200")
	if r.Status != tracker.Finished {
		t.Fatalf("status %s", r.Status)
	}
	for _, model := range []string{"vae", "vaebm"} {
		for _, set := range exp.Eval.OOD.Sets {
			if a, ok := r.Metrics["eval/"+model+"_auroc_"+set]; !ok || a < 0 || a > 1 {
				t.Errorf("eval/%s_auroc_%s = %v (recorded %v)", model, set, a, ok)
			}
		}
		for _, k := range []string{"_ks", "_ks_p"} {
			if v, ok := r.Metrics["eval/"+model+k]; !ok || v < 0 || v > 1 {
				t.Errorf("eval/%s%s = %v (recorded %v)", model, k, v, ok)
			}
		}
		for _, k := range []string{"_ll_train_mean", "_ll_test_mean", "_ll_train_std", "_ll_test_std"} {
			if v, ok := r.Metrics["eval/"+model+k]; !ok || math.IsNaN(v) || math.IsInf(v, 0) {
				t.Errorf("eval/%s%s = %v (recorded %v)", model, k, v, ok)
			}
		}
	}
	// Uniform noise is far from clothing: even a smoke-trained VAE ranks it lower.
	if a := r.Metrics["eval/vae_auroc_noise"]; a < 0.5 {
		t.Errorf("the VAE ranks noise above test images: AUROC %v", a)
	}
	for _, f := range []string{"fig6", "neighbours-pixel", "neighbours-features"} {
		if st, err := os.Stat(filepath.Join(out, "plots", "fashion-ood-"+f+".png")); err != nil || st.Size() == 0 {
			t.Errorf("figure %s missing or empty (%v)", f, err)
		}
	}
}

func TestOODSets(t *testing.T) {
	task := imageTask{c: 1, h: 3, w: 2}
	d := task.dim()
	test := make([]float32, 4*d)
	for i := range test {
		test[i] = float32(i) / float32(len(test))
	}
	rng := newRNG(1, 1)
	flip, err := oodSet("vflip", test, task, 4, rng)
	if err != nil {
		t.Fatal(err)
	}
	// Row y of image i becomes row h−1−y.
	for i := 0; i < 4; i++ {
		for y := 0; y < 3; y++ {
			for x := 0; x < 2; x++ {
				if flip[i*d+(2-y)*2+x] != test[i*d+y*2+x] {
					t.Fatalf("image %d pixel (%d, %d) not flipped", i, y, x)
				}
			}
		}
	}
	interp, err := oodSet("interp", test, task, 4, rng)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		found := false
		for a := 0; a < 4 && !found; a++ {
			for b := 0; b < 4 && !found; b++ {
				if a == b {
					continue
				}
				same := true
				for j := 0; j < d; j++ {
					if math.Abs(float64(interp[i*d+j]-0.5*(test[a*d+j]+test[b*d+j]))) > 1e-6 {
						same = false
						break
					}
				}
				found = same
			}
		}
		if !found {
			t.Errorf("interpolation %d is not halfway between two different test images", i)
		}
	}
	noise, err := oodSet("noise", test, task, 4, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range noise {
		if v < 0 || v >= 1 {
			t.Fatalf("noise pixel %v outside [0, 1)", v)
		}
	}
	if _, err := oodSet("svhn", test, task, 4, rng); err == nil {
		t.Error("an unknown set gave no error")
	}
}

func TestNearest(t *testing.T) {
	ref := []float32{0, 0, 10, 10, 1, 1, 5, 5} // four 2-d points
	q := []float32{0.9, 0.9, 6, 6}             // near (1,1), near (5,5)
	got := nearest(q, ref, 2, 2)
	if !slices.Equal(got[0], []int{2, 0}) || !slices.Equal(got[1], []int{3, 1}) {
		t.Errorf("nearest %v, want [[2 0] [3 1]]", got)
	}
}
