package actions

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"strconv"
	"strings"

	"github.com/disintegration/imaging"
)

// Color is a colour parameter: "#rgb", "#rgba", "#rrggbb", "#rrggbbaa" or a
// name (white, black, transparent, gray, red, green, blue, yellow).
type Color struct {
	color.NRGBA
	// Set tells "transparent" from "not given".
	Set bool
}

var colorNames = map[string]color.NRGBA{
	"white":       {255, 255, 255, 255},
	"black":       {0, 0, 0, 255},
	"transparent": {0, 0, 0, 0},
	"gray":        {128, 128, 128, 255},
	"grey":        {128, 128, 128, 255},
	"red":         {255, 0, 0, 255},
	"green":       {0, 128, 0, 255},
	"blue":        {0, 0, 255, 255},
	"yellow":      {255, 255, 0, 255},
}

// UnmarshalText parses a colour.
func (c *Color) UnmarshalText(text []byte) error {
	s := strings.ToLower(strings.TrimSpace(string(text)))
	if v, ok := colorNames[s]; ok {
		*c = Color{v, true}
		return nil
	}
	hex, ok := strings.CutPrefix(s, "#")
	if !ok || !(len(hex) == 3 || len(hex) == 4 || len(hex) == 6 || len(hex) == 8) {
		return fmt.Errorf("%q is not a colour (want #rrggbb, #rrggbbaa, #rgb or a name such as white)", string(text))
	}
	if len(hex) <= 4 {
		var long strings.Builder
		for _, r := range hex {
			long.WriteRune(r)
			long.WriteRune(r)
		}
		hex = long.String()
	}
	if len(hex) == 6 {
		hex += "ff"
	}
	v, err := strconv.ParseUint(hex, 16, 32)
	if err != nil {
		return fmt.Errorf("%q is not a colour (want #rrggbb, #rrggbbaa, #rgb or a name such as white)", string(text))
	}
	*c = Color{color.NRGBA{uint8(v >> 24), uint8(v >> 16), uint8(v >> 8), uint8(v)}, true}
	return nil
}

// MarshalText writes the colour as #rrggbbaa.
func (c Color) MarshalText() ([]byte, error) {
	return fmt.Appendf(nil, "#%02x%02x%02x%02x", c.R, c.G, c.B, c.A), nil
}

// JSONSchema describes the accepted spellings.
func (*Color) JSONSchema() map[string]any {
	return map[string]any{
		"type":    "string",
		"pattern": `^(#([0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})|white|black|transparent|gray|grey|red|green|blue|yellow)$`,
	}
}

// The nine gravity names, as used by resize (fill), crop and watermark.
const (
	gravityCenter    = "center"
	gravityNorth     = "north"
	gravitySouth     = "south"
	gravityEast      = "east"
	gravityWest      = "west"
	gravityNorthEast = "north_east"
	gravityNorthWest = "north_west"
	gravitySouthEast = "south_east"
	gravitySouthWest = "south_west"
	gravitySmart     = "smart"
)

// anchor returns where a w×h window sits inside a W×H image for a gravity
// (smart is handled by the caller; unknown gravities centre).
func anchor(gravity string, W, H, w, h int) image.Point {
	x, y := (W-w)/2, (H-h)/2
	if strings.Contains(gravity, "west") {
		x = 0
	}
	if strings.Contains(gravity, "east") {
		x = W - w
	}
	if strings.HasPrefix(gravity, "north") {
		y = 0
	}
	if strings.HasPrefix(gravity, "south") {
		y = H - h
	}
	return image.Pt(x, y)
}

// smartAnalysisSize is the longest side of the copy that smart crop scores:
// enough to find the detailed part of a picture, small enough to cost
// about a millisecond.
const smartAnalysisSize = 256

// smartAnchor picks the w×h window of m with the most edge energy (the sum
// of absolute luminance differences to the neighbouring pixels), scored on
// a small copy through an integral image. Ties go to the window nearest the
// centre, so a flat picture crops like gravity center.
func smartAnchor(m image.Image, w, h int) image.Point {
	b := m.Bounds()
	W, H := b.Dx(), b.Dy()
	if w >= W && h >= H {
		return image.Point{}
	}
	s := math.Min(1, float64(smartAnalysisSize)/float64(max(W, H)))
	sw, sh := max(1, int(math.Round(float64(W)*s))), max(1, int(math.Round(float64(H)*s)))
	small := imaging.Resize(m, sw, sh, imaging.Box)
	integral := edgeIntegral(small)
	ww, wh := clampInt(int(math.Round(float64(w)*s)), 1, sw), clampInt(int(math.Round(float64(h)*s)), 1, sh)
	stride := sw + 1
	best, bestScore := image.Pt((sw-ww)/2, (sh-wh)/2), math.Inf(-1)
	cx, cy := float64(sw-ww)/2, float64(sh-wh)/2
	for y := 0; y+wh <= sh; y++ {
		for x := 0; x+ww <= sw; x++ {
			sum := integral[(y+wh)*stride+x+ww] - integral[y*stride+x+ww] - integral[(y+wh)*stride+x] + integral[y*stride+x]
			// A tiny pull towards the centre breaks ties between equal windows.
			score := float64(sum) - 1e-3*(math.Abs(float64(x)-cx)+math.Abs(float64(y)-cy))
			if score > bestScore {
				best, bestScore = image.Pt(x, y), score
			}
		}
	}
	centre := anchor(gravityCenter, W, H, w, h)
	if best == image.Pt((sw-ww)/2, (sh-wh)/2) {
		// Exactly centred, not off by the analysis copy's rounding.
		return centre
	}
	x := clampInt(int(math.Round(float64(best.X)/s)), 0, W-w)
	y := clampInt(int(math.Round(float64(best.Y)/s)), 0, H-h)
	// An axis with no room to move keeps the centre's coordinate.
	if w >= W {
		x = centre.X
	}
	if h >= H {
		y = centre.Y
	}
	return image.Pt(x, y)
}

// edgeIntegral returns the summed-area table, (W+1)×(H+1), of the edge
// energy of m.
func edgeIntegral(m *image.NRGBA) []int64 {
	W, H := m.Rect.Dx(), m.Rect.Dy()
	lum := make([]int32, W*H)
	for y := range H {
		row := m.Pix[y*m.Stride:]
		for x := range W {
			p := row[4*x:]
			// Rec. 601 luma, weighted by alpha so transparent areas are flat.
			l := (299*int32(p[0]) + 587*int32(p[1]) + 114*int32(p[2])) / 1000
			lum[y*W+x] = l * int32(p[3]) / 255
		}
	}
	at := func(x, y int) int32 { return lum[clampInt(y, 0, H-1)*W+clampInt(x, 0, W-1)] }
	stride := W + 1
	integral := make([]int64, stride*(H+1))
	for y := range H {
		var rowSum int64
		for x := range W {
			e := abs32(at(x+1, y)-at(x-1, y)) + abs32(at(x, y+1)-at(x, y-1))
			rowSum += int64(e)
			integral[(y+1)*stride+x+1] = integral[y*stride+x+1] + rowSum
		}
	}
	return integral
}

func abs32(v int32) int32 {
	if v < 0 {
		return -v
	}
	return v
}

func clampInt(v, lo, hi int) int {
	return max(lo, min(v, hi))
}

// framesDo runs f on every frame of img, or only on the first (dropping
// the rest) when firstOnly, and returns the new image. f must not modify
// its input: the decoded frames may be shared with the source.
func framesDo(img *Image, firstOnly bool, f func(image.Image) image.Image) *Image {
	frames := img.Frames
	if firstOnly {
		frames = frames[:1]
	}
	out := *img
	out.Frames = make([]Frame, len(frames))
	for i, fr := range frames {
		out.Frames[i] = Frame{Image: f(fr.Image), Delay: fr.Delay}
	}
	return &out
}
