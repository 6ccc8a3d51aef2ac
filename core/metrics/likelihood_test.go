package metrics

import (
	"math"
	"testing"
)

// The grid's log Z of a normalised density must be ≈ 0, and of a scaled one
// the log of the scale.
func TestGridLogZ(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sd      float64
		logMass float64
	}{
		{"unit gaussian", 1, 0},
		{"narrow gaussian, mass e^-3", 0.08, -3},
	} {
		g := NewGrid2D(-8, 8, 400)
		pts := g.Points()
		logf := make([]float64, len(pts)/2)
		for i := range logf {
			x, y := float64(pts[2*i])-0.3, float64(pts[2*i+1])+0.2
			logf[i] = tc.logMass - math.Log(2*math.Pi*tc.sd*tc.sd) - (x*x+y*y)/(2*tc.sd*tc.sd)
		}
		if got := g.LogIntegral(logf); math.Abs(got-tc.logMass) > 1e-4 {
			t.Errorf("%s: log Z = %v, want %v", tc.name, got, tc.logMass)
		}
	}
}

func TestMeanSE(t *testing.T) {
	m, se := MeanSE([]float64{1, 2, 3, 4})
	if m != 2.5 || math.Abs(se-math.Sqrt(5.0/3/4)) > 1e-12 {
		t.Fatalf("MeanSE = %v, %v", m, se)
	}
	if m, sd := MeanStd([]float64{1, 2, 3, 4}); m != 2.5 || math.Abs(sd-math.Sqrt(5.0/3)) > 1e-12 {
		t.Errorf("MeanStd = %v, %v", m, sd)
	}
	if m, sd := MeanStd([]float64{7}); m != 7 || sd != 0 {
		t.Errorf("MeanStd of one value = %v, %v, want 7, 0", m, sd)
	}
	for _, f := range []func([]float64) (float64, float64){MeanSE, MeanStd} {
		if m, s := f(nil); !math.IsNaN(m) || !math.IsNaN(s) {
			t.Errorf("of no values: %v, %v, want NaN, NaN", m, s)
		}
	}
}
