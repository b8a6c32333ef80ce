package imageio

import (
	"image"
	"image/color"
	"image/draw"
	"slices"
)

// GIF output needs at most 256 colours. The palette comes from median cut
// over a sample of every frame's pixels, so all frames of an animation share
// one palette (no colour flicker between frames), with one entry kept for
// transparency when any pixel is mostly transparent.

const maxQuantizeSamples = 1 << 16

type rgb [3]uint8

// buildPalette returns a palette for frames and the index of its
// transparent entry (-1 when there is none).
func buildPalette(frames []*image.NRGBA) (color.Palette, int) {
	total := 0
	for _, f := range frames {
		total += f.Rect.Dx() * f.Rect.Dy()
	}
	step := max(1, total/maxQuantizeSamples)
	var samples []rgb
	transparent := false
	i := 0
	for _, f := range frames {
		for p := 0; p+3 < len(f.Pix); p += 4 {
			if i++; i%step != 0 {
				continue
			}
			if f.Pix[p+3] < 128 {
				transparent = true
				continue
			}
			samples = append(samples, rgb{f.Pix[p], f.Pix[p+1], f.Pix[p+2]})
		}
	}
	n := 256
	if transparent {
		n = 255
	}
	pal := medianCut(samples, n)
	if len(pal) == 0 {
		pal = color.Palette{color.NRGBA{0, 0, 0, 255}}
	}
	if transparent {
		pal = append(pal, color.NRGBA{})
		return pal, len(pal) - 1
	}
	return pal, -1
}

// box is a run of samples that medianCut may split further.
type box struct {
	s             []rgb
	lo, hi        rgb
	widestChannel int
}

func newBox(s []rgb) box {
	b := box{s: s, lo: rgb{255, 255, 255}}
	for _, c := range s {
		for ch := range 3 {
			b.lo[ch] = min(b.lo[ch], c[ch])
			b.hi[ch] = max(b.hi[ch], c[ch])
		}
	}
	for ch := 1; ch < 3; ch++ {
		if b.hi[ch]-b.lo[ch] > b.hi[b.widestChannel]-b.lo[b.widestChannel] {
			b.widestChannel = ch
		}
	}
	return b
}

func (b box) score() int {
	if len(b.s) < 2 {
		return -1
	}
	return int(b.hi[b.widestChannel]-b.lo[b.widestChannel]) * len(b.s)
}

func medianCut(samples []rgb, n int) color.Palette {
	if len(samples) == 0 {
		return nil
	}
	boxes := []box{newBox(samples)}
	for len(boxes) < n {
		best := 0
		for i := range boxes {
			if boxes[i].score() > boxes[best].score() {
				best = i
			}
		}
		b := boxes[best]
		if b.score() <= 0 {
			break
		}
		ch := b.widestChannel
		slices.SortFunc(b.s, func(x, y rgb) int { return int(x[ch]) - int(y[ch]) })
		mid := len(b.s) / 2
		boxes[best] = newBox(b.s[:mid])
		boxes = append(boxes, newBox(b.s[mid:]))
	}
	pal := make(color.Palette, len(boxes))
	for i, b := range boxes {
		var sum [3]int
		for _, c := range b.s {
			sum[0] += int(c[0])
			sum[1] += int(c[1])
			sum[2] += int(c[2])
		}
		n := len(b.s)
		pal[i] = color.NRGBA{uint8(sum[0] / n), uint8(sum[1] / n), uint8(sum[2] / n), 255}
	}
	return pal
}

// paletteMapper finds the nearest palette entry, memoised on 15-bit colour.
type paletteMapper struct {
	pal         color.Palette
	transparent int
	cache       [1 << 15]int16
}

func newPaletteMapper(pal color.Palette, transparent int) *paletteMapper {
	m := &paletteMapper{pal: pal, transparent: transparent}
	for i := range m.cache {
		m.cache[i] = -1
	}
	return m
}

func (m *paletteMapper) index(r, g, b, a uint8) uint8 {
	if a < 128 && m.transparent >= 0 {
		return uint8(m.transparent)
	}
	key := int(r>>3)<<10 | int(g>>3)<<5 | int(b>>3)
	if v := m.cache[key]; v >= 0 {
		return uint8(v)
	}
	best, bestD := 0, 1<<30
	for i, c := range m.pal {
		if i == m.transparent {
			continue
		}
		pc := c.(color.NRGBA)
		dr, dg, db := int(pc.R)-int(r), int(pc.G)-int(g), int(pc.B)-int(b)
		if d := dr*dr + dg*dg + db*db; d < bestD {
			best, bestD = i, d
		}
	}
	m.cache[key] = int16(best)
	return uint8(best)
}

// toPaletted maps f onto the palette. Stills are dithered; animation
// frames are not, because dither patterns that change from frame to frame
// shimmer.
func (m *paletteMapper) toPaletted(f *image.NRGBA, dither bool) *image.Paletted {
	pm := image.NewPaletted(f.Rect, m.pal)
	if dither && m.transparent < 0 {
		draw.FloydSteinberg.Draw(pm, f.Rect, f, f.Rect.Min)
		return pm
	}
	for y := f.Rect.Min.Y; y < f.Rect.Max.Y; y++ {
		src := f.Pix[f.PixOffset(f.Rect.Min.X, y):f.PixOffset(f.Rect.Max.X, y)]
		dst := pm.Pix[pm.PixOffset(f.Rect.Min.X, y):]
		for x := range len(src) / 4 {
			dst[x] = m.index(src[4*x], src[4*x+1], src[4*x+2], src[4*x+3])
		}
	}
	return pm
}
