package plots

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTileRGB(t *testing.T) {
	// Two 3×2×2 images (c, h, w); image 0 has distinct R, G, B planes,
	// image 1 exercises clipping.
	in := []float32{
		// image 0: R plane, G plane, B plane
		0, 1, 0.5, 0.2,
		1, 0, 0, 0,
		0, 0, 1, 0.4,
		// image 1
		1.5, -0.2, 0, 0,
		0, 0, 0, 0,
		0, 0, 0, 1,
	}
	img, err := Tile(in, 3, 2, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := img.Bounds(), image.Rect(0, 0, 2*3+1, 1*3+1); got != want {
		t.Fatalf("bounds %v, want %v", got, want)
	}
	grey := color.NRGBA{128, 128, 128, 255}
	cases := []struct {
		x, y int
		want color.NRGBA
	}{
		{0, 0, grey}, {3, 1, grey}, {6, 3, grey}, {1, 3, grey}, // border
		{1, 1, color.NRGBA{0, 255, 0, 255}},   // image 0 (0,0)
		{2, 1, color.NRGBA{255, 0, 0, 255}},   // image 0 (0,1)
		{1, 2, color.NRGBA{128, 0, 255, 255}}, // 0.5 rounds to 128
		{2, 2, color.NRGBA{51, 0, 102, 255}},  // 0.2·255, 0.4·255
		{4, 1, color.NRGBA{255, 0, 0, 255}},   // 1.5 clips to 255
		{5, 1, color.NRGBA{0, 0, 0, 255}},     // −0.2 clips to 0
		{5, 2, color.NRGBA{0, 0, 255, 255}},
	}
	for _, c := range cases {
		if got := img.NRGBAAt(c.x, c.y); got != c.want {
			t.Errorf("pixel (%d,%d) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
}

func TestTileGrey(t *testing.T) {
	// Two 1×1×3 images stacked in one column.
	in := []float32{0, 0.5, 1, 2, -1, 0.2}
	img, err := Tile(in, 1, 1, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := img.Bounds(), image.Rect(0, 0, 5, 5); got != want {
		t.Fatalf("bounds %v, want %v", got, want)
	}
	for _, c := range []struct{ x, y, v int }{
		{0, 0, 128}, {4, 1, 128}, {2, 2, 128}, {2, 4, 128}, // border
		{1, 1, 0}, {2, 1, 128}, {3, 1, 255},
		{1, 3, 255}, {2, 3, 0}, {3, 3, 51},
	} {
		v := uint8(c.v)
		if got, want := img.NRGBAAt(c.x, c.y), (color.NRGBA{v, v, v, 255}); got != want {
			t.Errorf("pixel (%d,%d) = %v, want %v", c.x, c.y, got, want)
		}
	}
}

func TestTileGridSize(t *testing.T) {
	const h, w = 4, 3
	img, err := Tile(make([]float32, 5*h*w), 1, h, w, 2)
	if err != nil {
		t.Fatal(err)
	}
	// 2 columns, ceil(5/2) = 3 rows; the sixth cell stays border grey.
	if got, want := img.Bounds(), image.Rect(0, 0, 2*(w+1)+1, 3*(h+1)+1); got != want {
		t.Fatalf("bounds %v, want %v", got, want)
	}
	if got := img.NRGBAAt(1+(w+1)+1, 1+2*(h+1)+1); got != (color.NRGBA{128, 128, 128, 255}) {
		t.Errorf("empty cell pixel %v, want grey", got)
	}
	if got := img.NRGBAAt(1, 1+2*(h+1)); got != (color.NRGBA{0, 0, 0, 255}) {
		t.Errorf("fifth image pixel %v, want black", got)
	}
}

func TestTileErrors(t *testing.T) {
	for _, tc := range []struct {
		name             string
		n, c, h, w, cols int
		want             string
	}{
		{"two channels", 8, 2, 2, 2, 1, "channels"},
		{"bad length", 13, 3, 2, 2, 1, "multiple"},
		{"empty", 0, 1, 2, 2, 1, "multiple"},
		{"zero cols", 4, 1, 2, 2, 0, "positive"},
		{"zero height", 4, 1, 0, 2, 1, "positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, err := Tile(make([]float32, tc.n), tc.c, tc.h, tc.w, tc.cols)
			if err == nil || img != nil {
				t.Fatalf("got %v, %v; want an error", img, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() == 0 || b.Dy() == 0 {
		t.Fatalf("%s has empty bounds %v", path, b)
	}
	return img
}

func TestSaveTile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "tile.png")
	in := make([]float32, 3*3*2*2)
	for i := range in {
		in[i] = float32(i) / float32(len(in))
	}
	if err := SaveTile(path, in, 3, 2, 2, 2); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, path)
	if got, want := img.Bounds(), image.Rect(0, 0, 7, 7); got != want {
		t.Errorf("bounds %v, want %v", got, want)
	}
	if err := SaveTile(path, in[:5], 3, 2, 2, 2); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("bad shape: error %v does not name %s", err, path)
	}
}

func TestImages(t *testing.T) {
	a, err := Tile(make([]float32, 4*3*8*8), 3, 8, 8, 2)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Tile(make([]float32, 3*5*5), 1, 5, 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "fig", "images.png")
	if err := Images(path, []ImagePanel{{"data", a}, {"samples", b}}, 2); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, path)
	// Two panels at 2 pt per pixel on a 96 dpi canvas: wider than the
	// two images' pixels scaled by 8/3.
	if min := 2 * 19 * 8 / 3; img.Bounds().Dx() < min {
		t.Errorf("width %d, want at least %d", img.Bounds().Dx(), min)
	}
	for _, bad := range [][]ImagePanel{nil, {{"nil", nil}}, {{"empty", image.NewNRGBA(image.Rect(0, 0, 0, 3))}}} {
		if err := Images(path, bad, 2); err == nil {
			t.Errorf("Images(%v) succeeded, want an error", bad)
		}
	}
	for _, scale := range []float64{0, -1, math.NaN(), math.Inf(1), 1e6} {
		if err := Images(path, []ImagePanel{{"a", a}}, scale); err == nil {
			t.Errorf("scale %v succeeded, want an error", scale)
		}
	}
}

// TestImagesCrisp checks that images are drawn at exactly k = round(scale·4/3)
// device pixels per pixel without the blur of vgimg's bilinear resampling:
// every pixel of a red/blue checkerboard must come out pure red or pure blue
// in the right numbers, in every panel of a titled row of three.
func TestImagesCrisp(t *testing.T) {
	board := func(n int) image.Image {
		img := image.NewNRGBA(image.Rect(0, 0, n, n))
		for y := 0; y < n; y++ {
			for x := 0; x < n; x++ {
				c := color.NRGBA{B: 255, A: 255}
				if (x+y)%2 == 0 {
					c = color.NRGBA{R: 255, A: 255}
				}
				img.SetNRGBA(x, y, c)
			}
		}
		return img
	}
	panels := []ImagePanel{{"first", board(16)}, {"", board(9)}, {"third", board(16)}}
	var red, blue int // pixels of each colour over all panels
	for _, pn := range panels {
		n := pn.Image.Bounds().Dx()
		red += (n*n + 1) / 2
		blue += n * n / 2
	}
	for _, tc := range []struct {
		scale float64
		k     int
	}{{0.75, 1}, {1, 1}, {1.5, 2}, {2, 3}, {3, 4}} {
		path := filepath.Join(t.TempDir(), "crisp.png")
		if err := Images(path, panels, tc.scale); err != nil {
			t.Fatal(err)
		}
		img := decodePNG(t, path)
		var gotRed, gotBlue, blurred int
		b := img.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bl, _ := img.At(x, y).RGBA()
				switch {
				case r == 0xffff && g == 0 && bl == 0:
					gotRed++
				case r == 0 && g == 0 && bl == 0xffff:
					gotBlue++
				case r != g || g != bl: // neither a board colour nor text grey
					blurred++
				}
			}
		}
		if k2 := tc.k * tc.k; gotRed != red*k2 || gotBlue != blue*k2 || blurred != 0 {
			t.Errorf("scale %v: %d red, %d blue, %d blended pixels; want %d, %d, 0",
				tc.scale, gotRed, gotBlue, blurred, red*k2, blue*k2)
		}
	}
}

// WritePNGs writes one 8-bit RGB file per sample whose pixels decode to the
// clipped, rounded sample values; grey samples repeat in all three channels.
func TestWritePNGs(t *testing.T) {
	for _, c := range []int{1, 3} {
		const n, h, w = 3, 2, 4
		x := make([]float32, n*c*h*w)
		for i := range x {
			x[i] = float32(i%23)/20 - 0.05 // spans below 0 and above 1
		}
		x[5] = float32(math.NaN())
		dir := filepath.Join(t.TempDir(), "pngs")
		got, err := WritePNGs(dir, x, c, h, w)
		if err != nil || got != n {
			t.Fatalf("c=%d: wrote %d, %v", c, got, err)
		}
		for i := 0; i < n; i++ {
			f, err := os.Open(filepath.Join(dir, fmt.Sprintf("%06d.png", i)))
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := png.DecodeConfig(f)
			f.Seek(0, 0)
			img, err2 := png.Decode(f)
			f.Close()
			if err != nil || err2 != nil {
				t.Fatal(err, err2)
			}
			if cfg.ColorModel != color.RGBAModel || cfg.Width != w || cfg.Height != h {
				t.Fatalf("c=%d: %dx%d, colour model %T (want 8-bit RGB)", c, cfg.Width, cfg.Height, cfg.ColorModel)
			}
			for p := 0; p < h*w; p++ {
				r, g, b, a := img.At(p%w, p/w).RGBA()
				want := [3]uint8{}
				for ch := range want {
					want[ch] = toByte(x[i*c*h*w+(ch%c)*h*w+p])
				}
				if uint8(r>>8) != want[0] || uint8(g>>8) != want[1] || uint8(b>>8) != want[2] || a != 0xffff {
					t.Fatalf("c=%d image %d pixel %d: %d %d %d %d, want %v", c, i, p, r>>8, g>>8, b>>8, a>>8, want)
				}
			}
		}
	}
	if _, err := WritePNGs(t.TempDir(), make([]float32, 10), 2, 2, 2); err == nil {
		t.Error("2 channels gave no error")
	}
}
