// Package plots draws the paper's figures and training curves with gonum/plot.
package plots

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/vaebm/vaebm/internal/atomicfile"
)

// Points2D adapts a flat slice of (x, y) pairs to plotter.XYer.
type Points2D []float32

// Len implements plotter.XYer.
func (p Points2D) Len() int { return len(p) / 2 }

// XY implements plotter.XYer.
func (p Points2D) XY(i int) (float64, float64) { return float64(p[2*i]), float64(p[2*i+1]) }

// Panel is one titled scatter of 2-D samples.
type Panel struct {
	Title  string
	Points Points2D
}

// Scatter2D draws panels side by side with shared limits (Fig. 4 layout).
func Scatter2D(path string, panels []Panel, lim float64) error {
	row := make([]*plot.Plot, len(panels))
	for i, pn := range panels {
		p := plot.New()
		p.Title.Text = pn.Title
		s, err := plotter.NewScatter(pn.Points)
		if err != nil {
			return fmt.Errorf("plot %s: %w", pn.Title, err)
		}
		s.GlyphStyle.Radius = vg.Points(0.6)
		s.GlyphStyle.Shape = draw.CircleGlyph{}
		s.GlyphStyle.Color = color.RGBA{R: 20, G: 60, B: 160, A: 255}
		p.Add(s)
		p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = -lim, lim, -lim, lim
		row[i] = p
	}
	return saveGrid(path, [][]*plot.Plot{row}, vg.Points(300), vg.Points(300))
}

// Series is one named line of a curve plot.
type Series struct {
	Name string
	X    []int
	Y    []float64
}

// Curves draws one panel per title, each with its series, stacked vertically.
func Curves(path string, titles []string, series [][]Series) error {
	var rows [][]*plot.Plot
	for i, title := range titles {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = "step"
		if err := addLines(p, series[i]); err != nil {
			return fmt.Errorf("plot %s: %w", title, err)
		}
		rows = append(rows, []*plot.Plot{p})
	}
	return saveGrid(path, rows, vg.Points(480), vg.Points(240))
}

var palette = []color.Color{
	color.RGBA{R: 31, G: 119, B: 180, A: 255}, color.RGBA{R: 214, G: 39, B: 40, A: 255},
	color.RGBA{R: 44, G: 160, B: 44, A: 255}, color.RGBA{R: 148, G: 103, B: 189, A: 255},
}

func addLines(p *plot.Plot, series []Series) error {
	for i, s := range series {
		xy := make(plotter.XYs, len(s.X))
		for j := range s.X {
			xy[j] = plotter.XY{X: float64(s.X[j]), Y: s.Y[j]}
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return err
		}
		l.Color = palette[i%len(palette)]
		p.Add(l)
		p.Legend.Add(s.Name, l)
	}
	p.Legend.Top = true
	return nil
}

func saveGrid(path string, rows [][]*plot.Plot, cellW, cellH vg.Length) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("saving %s: %w", path, err)
	}
	img := vgimg.New(cellW*vg.Length(len(rows[0])), cellH*vg.Length(len(rows)))
	dc := draw.New(img)
	canvases := plot.Align(rows, draw.Tiles{Rows: len(rows), Cols: len(rows[0]), PadX: vg.Points(4), PadY: vg.Points(4)}, dc)
	for i := range rows {
		for j := range rows[i] {
			rows[i][j].Draw(canvases[i][j])
		}
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
		return err
	})
}

// GridPanel is one titled heat map of values on a square grid whose cell
// centres are X (columns) × X (rows), values row-major.
type GridPanel struct {
	Title  string
	X      []float64
	Values []float64
	// Floor clips values below it, so that log densities near −∞ do not
	// wash out the colour scale.
	Floor float64
}

type gridXYZ struct {
	x []float64
	v []float64
	f float64
}

func (g gridXYZ) Dims() (int, int)   { return len(g.x), len(g.x) }
func (g gridXYZ) X(c int) float64    { return g.x[c] }
func (g gridXYZ) Y(r int) float64    { return g.x[r] }
func (g gridXYZ) Z(c, r int) float64 { return math.Max(g.v[r*len(g.x)+c], g.f) }

// HeatMaps draws grid panels side by side.
func HeatMaps(path string, panels []GridPanel) error {
	row := make([]*plot.Plot, len(panels))
	for i, pn := range panels {
		p := plot.New()
		p.Title.Text = pn.Title
		h := plotter.NewHeatMap(gridXYZ{pn.X, pn.Values, pn.Floor}, moreland.SmoothBlueRed().Palette(64))
		p.Add(h)
		row[i] = p
	}
	return saveGrid(path, [][]*plot.Plot{row}, vg.Points(300), vg.Points(300))
}
