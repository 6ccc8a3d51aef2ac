package ablations

import (
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"strconv"

	"github.com/vaebm/vaebm/pipeline"
	"github.com/vaebm/vaebm/plots"
)

// errNoSamples says that no row of a table has a run with a sample tile.
var errNoSamples = errors.New("no row has a finished run with samples yet")

// Figure draws, side by side, the sample tile of each row's run of its
// lowest seed (pipeline.SampleTile: the first 100 of the samples it was
// scored on), titled with the row's name and its value of the figure's
// metric (mean over seeds where there are several): the paper's Fig. 7.
// Rows without a run are left out and named in the last panel's stead.
func Figure(path string, s *Spec, t Filled, out string) error {
	digits := 2
	for _, m := range s.Metrics {
		if m.Key == s.Figure.Metric {
			digits = m.Digits
		}
	}
	label := s.Figure.Label
	if label == "" {
		label = s.Figure.Metric
	}
	var panels []plots.ImagePanel
	for i, r := range s.Rows {
		runs := t.Runs[r.Model]
		if len(runs) == 0 {
			continue
		}
		img, err := readPNG(pipeline.SampleTile(out, runs[0].ID, r.RunModel))
		if errors.Is(err, os.ErrNotExist) {
			continue // a run from before tiles were kept, or a toy run
		}
		if err != nil {
			return fmt.Errorf("figure %s: row %q: %w", path, r.Model, err)
		}
		title := r.Model
		if c := t.Rows[i].Ours[s.Figure.Metric]; c.OK {
			title += ": " + label + " " + strconv.FormatFloat(c.Value, 'f', digits, 64)
		}
		panels = append(panels, plots.ImagePanel{Title: title, Image: img})
	}
	if len(panels) == 0 {
		return errNoSamples
	}
	return plots.Images(path, panels, 2)
}

func readPNG(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}
