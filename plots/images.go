package plots

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/vaebm/vaebm/internal/atomicfile"
)

// borderGrey separates tiles; mid-grey stays visible against both black
// MNIST backgrounds and bright colour samples.
var borderGrey = color.NRGBA{R: 128, G: 128, B: 128, A: 255}

// Tile lays out n images of c×h×w values (n×c×h×w in all, c = 1 for grey or
// 3 for R, G, B planes) row-major in a grid of cols columns and
// ceil(n/cols) rows, with a 1-pixel mid-grey border between and around the
// images. Values are clipped to [0, 1] (NaN counts as 0) before mapping to
// 0…255, so that samples slightly outside the data range still render. It
// returns an error, rather than panicking, on a bad shape, since the shape
// usually comes from a config or a model's output.
func Tile(images []float32, c, h, w, cols int) (*image.NRGBA, error) {
	if c != 1 && c != 3 {
		return nil, fmt.Errorf("tile: %d channels, want 1 (grey) or 3 (RGB)", c)
	}
	if h <= 0 || w <= 0 || cols <= 0 {
		return nil, fmt.Errorf("tile: image size %d×%d and %d columns must be positive", h, w, cols)
	}
	d := c * h * w
	if len(images) == 0 || len(images)%d != 0 {
		return nil, fmt.Errorf("tile: %d values is not a positive multiple of %d×%d×%d = %d", len(images), c, h, w, d)
	}
	n := len(images) / d
	rows := (n + cols - 1) / cols
	img := image.NewNRGBA(image.Rect(0, 0, cols*(w+1)+1, rows*(h+1)+1))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = borderGrey.R, borderGrey.G, borderGrey.B, borderGrey.A
	}
	plane := h * w
	for k := 0; k < n; k++ {
		src := images[k*d : (k+1)*d]
		x0, y0 := 1+(k%cols)*(w+1), 1+(k/cols)*(h+1)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				j := y*w + x
				r := toByte(src[j])
				g, b := r, r
				if c == 3 {
					g, b = toByte(src[plane+j]), toByte(src[2*plane+j])
				}
				o := img.PixOffset(x0+x, y0+y)
				img.Pix[o], img.Pix[o+1], img.Pix[o+2], img.Pix[o+3] = r, g, b, 255
			}
		}
	}
	return img, nil
}

func toByte(v float32) uint8 {
	if !(v > 0) { // also catches NaN
		return 0
	}
	if v >= 1 {
		return 255
	}
	return uint8(v*255 + 0.5)
}

// SaveTile writes Tile's grid as a plain PNG at path, creating its folder.
// Unlike Images it adds no title or margin, so the file holds exactly one
// pixel per sample pixel, which suits inspection and FID-style tooling.
func SaveTile(path string, images []float32, c, h, w, cols int) error {
	img, err := Tile(images, c, h, w, cols)
	if err != nil {
		return fmt.Errorf("saving %s: %w", path, err)
	}
	return atomicfile.Write(path, func(w io.Writer) error { return png.Encode(w, img) })
}

// ImagePanel is one titled raster image, typically a Tile of samples.
type ImagePanel struct {
	Title string
	Image image.Image
}

// gridPad must equal the tile padding in saveGrid: Images lays out the
// panels with the same tiles to predict where each image lands.
const gridPad = 4 // points

// maxImagesPixels bounds the canvas of Images (about 256 MB as RGBA).
const maxImagesPixels = 1 << 26

// imageMargin is the blank space, in device pixels, kept around each image.
const imageMargin = 6

// Images draws panels side by side in one PNG, each image at about scale
// points per image pixel. The canvas is vgimg's 96 dpi, and every image pixel
// becomes k = round(scale·4/3) ≥ 1 device pixels, so scale is in effect
// rounded to a multiple of 0.75. All panels share the largest panel's pixel
// extent; smaller images sit top left at the same scale.
func Images(path string, panels []ImagePanel, scale float64) error {
	if len(panels) == 0 {
		return fmt.Errorf("saving %s: no image panels", path)
	}
	if !(scale > 0) || math.IsInf(scale, 0) {
		return fmt.Errorf("saving %s: scale %v must be positive and finite", path, scale)
	}
	var maxW, maxH int
	for _, pn := range panels {
		if pn.Image == nil {
			return fmt.Errorf("saving %s: panel %q has no image", path, pn.Title)
		}
		b := pn.Image.Bounds()
		if b.Empty() {
			return fmt.Errorf("saving %s: panel %q has an empty image", path, pn.Title)
		}
		maxW, maxH = max(maxW, b.Dx()), max(maxH, b.Dy())
	}
	// vgimg resamples images bilinearly, which would blur pixel art such as
	// MNIST digits. Drawing a k-times pixel-replicated copy at exactly k
	// device pixels per image pixel, from a whole device pixel, makes that
	// resampling an identity.
	const dpi = float64(vgimg.DefaultDPI)
	dotsPerPt := dpi / vg.Inch.Points()
	k := max(1, int(math.Round(scale*dotsPerPt)))
	// The canvas holds every enlarged image; refuse sizes that would take
	// gigabytes rather than fail on allocation.
	if px := float64(len(panels)) * float64(k*maxW) * float64(k*maxH); px > maxImagesPixels {
		return fmt.Errorf("saving %s: %d panels of %d×%d pixels at scale %v need %.0f device pixels, over %d", path, len(panels), maxW, maxH, scale, px, maxImagesPixels)
	}
	row := make([]*plot.Plot, len(panels))
	var titleH vg.Length
	for i, pn := range panels {
		p := plot.New()
		p.Title.Text = pn.Title
		p.HideAxes()
		p.X.Padding, p.Y.Padding = 0, 0
		b := pn.Image.Bounds()
		p.Add(plotter.NewImage(upscale(pn.Image, k), 0, float64(maxH-b.Dy()), float64(b.Dx()), float64(maxH)))
		if pn.Title != "" {
			titleH = max(titleH, p.Title.TextStyle.Rectangle(pn.Title).Size().Y+p.Title.Padding)
		}
		row[i] = p
	}
	n := vg.Length(len(panels))
	pt := func(dots int) vg.Length { return vg.Length(float64(dots) / dotsPerPt) }
	cellW := pt(k*maxW+2*imageMargin) + vg.Points(gridPad)*(n-1)/n
	cellH := pt(k*maxH+2*imageMargin) + titleH
	// Lay the plots out as saveGrid will, then choose each plot's axis
	// ranges so that one unit is k device pixels and the image's corner is
	// on a whole device pixel. Align needs only the rectangle, not a canvas.
	rows := [][]*plot.Plot{row}
	whole := draw.Canvas{Rectangle: vg.Rectangle{Max: vg.Point{X: cellW * n, Y: cellH}}}
	tiles := draw.Tiles{Rows: 1, Cols: len(panels), PadX: vg.Points(gridPad), PadY: vg.Points(gridPad)}
	for i, c := range plot.Align(rows, tiles, whole)[0] {
		p := row[i]
		dc := p.DataCanvas(c)
		x0, y0 := dc.Min.X.Dots(dpi), dc.Min.Y.Dots(dpi)
		wd, hd := (dc.Max.X - dc.Min.X).Dots(dpi), (dc.Max.Y - dc.Min.Y).Dots(dpi)
		p.X.Min = -(math.Ceil(x0+imageMargin) - x0) / float64(k)
		p.X.Max = p.X.Min + wd/float64(k)
		p.Y.Min = -(math.Ceil(y0+imageMargin) - y0) / float64(k)
		p.Y.Max = p.Y.Min + hd/float64(k)
	}
	return saveGrid(path, rows, cellW, cellH)
}

// upscale enlarges img k times by pixel replication.
func upscale(img image.Image, k int) image.Image {
	if k == 1 {
		return img
	}
	b := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx()*k, b.Dy()*k))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			px := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
			for dy := 0; dy < k; dy++ {
				o := out.PixOffset(x*k, y*k+dy)
				for dx := 0; dx < k; dx++ {
					out.Pix[o], out.Pix[o+1], out.Pix[o+2], out.Pix[o+3] = px.R, px.G, px.B, px.A
					o += 4
				}
			}
		}
	}
	return out
}

// WritePNGs writes each of the n images (n×c×h×w values, c = 1 or 3) as an
// 8-bit RGB PNG in dir, named 000000.png, 000001.png, …: one file per
// sample, the layout pytorch-fid and TTUR read. Grey images are written
// with three equal channels; values are clipped to [0, 1] and rounded as
// Tile does. It returns the number of files written.
func WritePNGs(dir string, images []float32, c, h, w int) (int, error) {
	d := c * h * w
	if (c != 1 && c != 3) || h < 1 || w < 1 || len(images)%d != 0 {
		return 0, fmt.Errorf("png folder %s: %d values are not images of %d×%d×%d", dir, len(images), c, h, w)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("png folder: %w", err)
	}
	n := len(images) / d
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < n; i++ {
		x := images[i*d : (i+1)*d]
		for p := 0; p < h*w; p++ {
			o := 4 * p
			for ch := 0; ch < 3; ch++ {
				img.Pix[o+ch] = toByte(x[(ch%c)*h*w+p])
			}
			img.Pix[o+3] = 255
		}
		path := filepath.Join(dir, fmt.Sprintf("%06d.png", i))
		f, err := os.Create(path)
		if err != nil {
			return i, fmt.Errorf("png folder: %w", err)
		}
		if err := png.Encode(f, img); err != nil {
			f.Close()
			return i, fmt.Errorf("writing %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return i, fmt.Errorf("writing %s: %w", path, err)
		}
	}
	return n, nil
}
