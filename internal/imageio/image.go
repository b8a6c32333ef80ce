package imageio

import (
	"image"

	"github.com/disintegration/imaging"
)

// Image is a decoded picture: one frame for still images, every frame of an
// animation, each a full canvas (animations are coalesced on decode, so a
// frame can be resized or cropped on its own).
type Image struct {
	Frames []Frame
	// Format is the format the image was decoded from.
	Format string
	// LoopCount is the animation's loop count: 0 loops forever, -1 plays
	// once (image/gif's convention).
	LoopCount int
	// Orientation is the EXIF orientation still to apply to show the picture
	// upright: 1 once auto-orientation has been applied.
	Orientation int
}

// Frame is one picture of an Image.
type Frame struct {
	image.Image
	// Delay is how long the frame shows, in hundredths of a second.
	Delay int
}

// Bounds is the size of the canvas (the first frame's).
func (m *Image) Bounds() image.Rectangle {
	if len(m.Frames) == 0 {
		return image.Rectangle{}
	}
	return m.Frames[0].Bounds()
}

// Animated reports whether the image has more than one frame.
func (m *Image) Animated() bool { return len(m.Frames) > 1 }

// HasAlpha reports whether any frame has a pixel that is not fully opaque.
func (m *Image) HasAlpha() bool {
	for _, f := range m.Frames {
		if !IsOpaque(f.Image) {
			return true
		}
	}
	return false
}

// IsOpaque reports whether every pixel of m is fully opaque: at once for
// the types that cannot hold alpha or say so (Opaque), else by looking.
func IsOpaque(m image.Image) bool {
	if o, ok := m.(interface{ Opaque() bool }); ok {
		return o.Opaque()
	}
	switch m.(type) {
	case *image.YCbCr, *image.Gray, *image.Gray16, *image.CMYK:
		return true
	}
	b := m.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if _, _, _, a := m.At(x, y).RGBA(); a != 0xffff {
				return false
			}
		}
	}
	return true
}

// Orient turns m upright according to an EXIF orientation (1..8).
func Orient(m image.Image, orientation int) image.Image {
	switch orientation {
	case 2:
		return imaging.FlipH(m)
	case 3:
		return imaging.Rotate180(m)
	case 4:
		return imaging.FlipV(m)
	case 5:
		return imaging.Transpose(m)
	case 6:
		return imaging.Rotate270(m) // imaging turns counter-clockwise: 90° clockwise
	case 7:
		return imaging.Transverse(m)
	case 8:
		return imaging.Rotate90(m)
	}
	return m
}
