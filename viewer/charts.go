package viewer

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"regexp"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// line is one run's series of one metric key.
type line struct {
	Name  string
	Steps []int
	Vals  []float64
}

// palette tells runs apart on an overlaid chart (colour-blind safe, Okabe–Ito).
var palette = []color.RGBA{
	{0, 114, 178, 255}, {213, 94, 0, 255}, {0, 158, 115, 255}, {204, 121, 167, 255},
	{230, 159, 0, 255}, {86, 180, 233, 255}, {0, 0, 0, 255}, {240, 228, 66, 255},
}

var xmlProlog = regexp.MustCompile(`^<\?xml[^>]*\?>\s*`)

// chartSVG draws the lines of one metric key with gonum/plot as SVG for
// inlining in a page (no XML prolog). Points that are not finite (a
// diverged step) are left out of the line; it returns how many points
// each line drew.
func chartSVG(title string, lines []line) ([]byte, []int, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "step"
	p.Legend.Top = true
	drawn := make([]int, len(lines))
	for i, l := range lines {
		var xy plotter.XYs
		for j, v := range l.Vals {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				xy = append(xy, plotter.XY{X: float64(l.Steps[j]), Y: v})
			}
		}
		drawn[i] = len(xy)
		if len(xy) == 0 {
			continue
		}
		pl, err := plotter.NewLine(xy)
		if err != nil {
			return nil, nil, fmt.Errorf("chart %s: %w", title, err)
		}
		pl.Color = palette[i%len(palette)]
		pl.Width = vg.Points(1.2)
		p.Add(pl)
		if len(lines) > 1 {
			p.Legend.Add(l.Name, pl)
		}
	}
	w, err := p.WriterTo(5.5*vg.Inch, 3*vg.Inch, "svg")
	if err != nil {
		return nil, nil, fmt.Errorf("chart %s: %w", title, err)
	}
	var b bytes.Buffer
	if _, err := w.WriteTo(&b); err != nil {
		return nil, nil, fmt.Errorf("chart %s: %w", title, err)
	}
	return xmlProlog.ReplaceAll(b.Bytes(), nil), drawn, nil
}
