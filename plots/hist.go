package plots

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Sample is one named set of values for a histogram.
type Sample struct {
	Name   string
	Values []float64
}

// HistPanel is one titled panel of overlaid histograms.
type HistPanel struct {
	Title, XLabel string
	Samples       []Sample
}

// Histograms draws panels side by side, each overlaying its samples'
// histograms (bins equal widths over their common range, as densities,
// translucent so that overlaps show): the layout of the paper's Fig. 6.
// Non-finite values are an error: a histogram cannot place them.
func Histograms(path string, panels []HistPanel, bins int) error {
	var row []*plot.Plot
	fills := []color.Color{color.NRGBA{R: 31, G: 119, B: 180, A: 110}, color.NRGBA{R: 214, G: 39, B: 40, A: 110}, color.NRGBA{R: 44, G: 160, B: 44, A: 110}}
	for _, pn := range panels {
		p := plot.New()
		p.Title.Text = pn.Title
		p.X.Label.Text = pn.XLabel
		p.Y.Label.Text = "density"
		lo, hi := math.Inf(1), math.Inf(-1)
		var sum float64
		var n int
		for _, s := range pn.Samples {
			for _, v := range s.Values {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return fmt.Errorf("histogram %s: %s holds a non-finite value", pn.Title, s.Name)
				}
				lo, hi = math.Min(lo, v), math.Max(hi, v)
				sum += v
			}
			n += len(s.Values)
		}
		// The legend goes on the side the mass is not: log-likelihoods
		// pile up on the right, with a long tail to the left.
		p.Legend.Left = n > 0 && sum/float64(n) > (lo+hi)/2
		for i, s := range pn.Samples {
			if len(s.Values) == 0 {
				continue
			}
			h, err := plotter.NewHist(plotter.Values(s.Values), bins)
			if err != nil {
				return fmt.Errorf("histogram %s: %w", pn.Title, err)
			}
			// One range for all, so the bins line up.
			h.Bins = sameBins(s.Values, lo, hi, bins)
			h.Normalize(1)
			h.FillColor = fills[i%len(fills)]
			h.LineStyle.Width = vg.Points(0.5)
			p.Add(h)
			p.Legend.Add(s.Name, h)
		}
		p.Legend.Top = true
		row = append(row, p)
	}
	return saveGrid(path, [][]*plot.Plot{row}, vg.Points(380), vg.Points(280))
}

// sameBins counts values into bins equal-width bins over [lo, hi].
func sameBins(values []float64, lo, hi float64, bins int) []plotter.HistogramBin {
	if hi <= lo {
		hi = lo + 1
	}
	w := (hi - lo) / float64(bins)
	out := make([]plotter.HistogramBin, bins)
	for i := range out {
		out[i].Min, out[i].Max = lo+float64(i)*w, lo+float64(i+1)*w
	}
	for _, v := range values {
		i := min(int((v-lo)/w), bins-1)
		out[i].Weight++
	}
	return out
}
