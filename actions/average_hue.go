package actions

import (
	"bytes"
	"context"
	"fmt"
	"image"

	"github.com/opaprules/opaprules/internal/imageio"
)

func init() {
	Register(Definition{
		Name:    "average_hue",
		Summary: "Answer with the image's average colour as JSON, {\"RGB\":\"0xrrggbb\"}, instead of the image.",
		Doc: "The mean of the first frame's colours, each pixel weighted by its opacity (a fully " +
			"transparent image answers 0x000000). As the plan's first image action on a JPEG it " +
			"decodes at 1/8 scale, whose pixels are the averages of 8×8 blocks: the mean is the " +
			"same and the decode a fraction of the cost. `Content-Type` becomes application/json; " +
			"it should be the plan's last image action. This is OSS IMG's average-hue.",
		Class: Transform,
		New:   func() Action { return &AverageHue{} },
	})
}

// AverageHue replaces the body with the image's mean colour.
type AverageHue struct{}

// Apply decodes (small, when it can) and averages.
func (a *AverageHue) Apply(ctx context.Context, obj *Object) error {
	img, err := obj.decodeImage(ctx, decodeOptions{target: func(w, h int) (int, int) {
		// Ask for far less than 1/8 so the decoder takes its smallest scale.
		return max(1, w/16), max(1, h/16)
	}})
	if err != nil {
		return err
	}
	c := meanColor(img.Frames[0].Image)
	body := fmt.Appendf(nil, `{"RGB":"0x%02x%02x%02x"}`, c[0], c[1], c[2])
	obj.SetBody(bytes.NewReader(body), int64(len(body)))
	obj.Header.Set("Content-Type", "application/json")
	return nil
}

// Predict sets the Content-Type.
func (a *AverageHue) Predict(obj *Object) { obj.Header.Set("Content-Type", "application/json") }

// meanColor is the alpha-weighted mean of m's colours, rounded.
func meanColor(m image.Image) [3]uint8 {
	n, ok := m.(*image.NRGBA)
	if !ok {
		n = imageio.ToNRGBA(m)
	}
	var sum [3]uint64
	var weight uint64
	w, h := n.Rect.Dx(), n.Rect.Dy()
	for y := range h {
		row := n.Pix[y*n.Stride : y*n.Stride+4*w]
		for i := 0; i < len(row); i += 4 {
			a := uint64(row[i+3])
			sum[0] += uint64(row[i]) * a
			sum[1] += uint64(row[i+1]) * a
			sum[2] += uint64(row[i+2]) * a
			weight += a
		}
	}
	var out [3]uint8
	if weight == 0 {
		return out
	}
	for c := range out {
		out[c] = uint8((sum[c] + weight/2) / weight)
	}
	return out
}

// Interface guards.
var (
	_ Action    = (*AverageHue)(nil)
	_ Predictor = (*AverageHue)(nil)
)
