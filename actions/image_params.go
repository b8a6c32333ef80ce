package actions

import (
	"fmt"
	"image"
	"image/color"
	"strconv"
	"strings"
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
