package imageio

import (
	"image"
	"image/color"
	"math"
	"testing"
)

func regionPicture(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetNRGBA(x, y, color.NRGBA{uint8(x * 7), uint8(y * 5), uint8(x ^ y), 255})
		}
	}
	return m
}

// outsideUnchanged fails when any pixel outside box differs from orig.
func outsideUnchanged(t *testing.T, got, orig *image.NRGBA, box image.Rectangle) {
	t.Helper()
	b := got.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if !image.Pt(x, y).In(box) && got.NRGBAAt(x, y) != orig.NRGBAAt(x, y) {
				t.Fatalf("pixel %d,%d outside %v changed", x, y, box)
			}
		}
	}
}

func TestFillRect(t *testing.T) {
	m, orig := regionPicture(40, 30), regionPicture(40, 30)
	box := image.Rect(5, 6, 17, 20)
	c := color.NRGBA{10, 20, 30, 128}
	FillRect(m, box, c)
	outsideUnchanged(t, m, orig, box)
	for y := box.Min.Y; y < box.Max.Y; y++ {
		for x := box.Min.X; x < box.Max.X; x++ {
			if got := m.NRGBAAt(x, y); got != c {
				t.Fatalf("%d,%d = %v, want %v (alpha included)", x, y, got, c)
			}
		}
	}
}

func TestPixelateRect(t *testing.T) {
	m, orig := regionPicture(40, 30), regionPicture(40, 30)
	// A transparent pixel must not darken its block.
	m.SetNRGBA(8, 8, color.NRGBA{0, 0, 0, 0})
	orig.SetNRGBA(8, 8, color.NRGBA{0, 0, 0, 0})
	box := image.Rect(4, 4, 20, 15) // 16×11: the last row of blocks is partial
	PixelateRect(m, box, 8)
	outsideUnchanged(t, m, orig, box)
	for by := box.Min.Y; by < box.Max.Y; by += 8 {
		for bx := box.Min.X; bx < box.Max.X; bx += 8 {
			cell := image.Rect(bx, by, bx+8, by+8).Intersect(box)
			var r, n, a float64
			for y := cell.Min.Y; y < cell.Max.Y; y++ {
				for x := cell.Min.X; x < cell.Max.X; x++ {
					p := orig.NRGBAAt(x, y)
					r += float64(p.R) * float64(p.A)
					a += float64(p.A)
					n++
				}
			}
			want := color.NRGBA{R: uint8(math.Round(r / a)), A: uint8(math.Round(a / n))}
			for y := cell.Min.Y; y < cell.Max.Y; y++ {
				for x := cell.Min.X; x < cell.Max.X; x++ {
					if got := m.NRGBAAt(x, y); got != m.NRGBAAt(cell.Min.X, cell.Min.Y) || absDiff(got.R, want.R) > 1 || absDiff(got.A, want.A) > 1 {
						t.Fatalf("cell %v at %d,%d: %v, want a uniform cell of R≈%d A≈%d", cell, x, y, got, want.R, want.A)
					}
				}
			}
		}
	}
}

func absDiff(a, b uint8) int { return int(math.Abs(float64(a) - float64(b))) }

// BlurRect spreads a point as a Gaussian of the asked sigma would (three box
// passes have the same variance), keeps flat areas flat, and stays inside
// its box.
func TestBlurRect(t *testing.T) {
	for _, sigma := range []float64{2, 5, 12} {
		const n = 201
		m := image.NewNRGBA(image.Rect(0, 0, n, n))
		for i := 3; i < len(m.Pix); i += 4 {
			m.Pix[i] = 255
		}
		m.SetNRGBA(n/2, n/2, color.NRGBA{255, 255, 255, 255})
		// A bright pixel of 255 spreads to values below 1: scale up by
		// measuring a block of 16×16 bright pixels instead.
		for y := n/2 - 8; y < n/2+8; y++ {
			for x := n/2 - 8; x < n/2+8; x++ {
				m.SetNRGBA(x, y, color.NRGBA{255, 255, 255, 255})
			}
		}
		before := moment(m)
		BlurRect(m, m.Bounds(), sigma)
		after := moment(m)
		// Blurring adds sigma² to the variance of the distribution; the
		// boxes have whole-pixel radii, so the sigma they make is within a
		// pixel of the one asked for.
		if got := math.Sqrt(after.variance - before.variance); math.Abs(got-sigma) > 1 {
			t.Errorf("sigma %v: the blur's sigma is %.2f", sigma, got)
		}
		if math.Abs(after.mass-before.mass) > 0.01*before.mass {
			t.Errorf("sigma %v: brightness %v became %v", sigma, before.mass, after.mass)
		}
	}

	flat := image.NewNRGBA(image.Rect(0, 0, 50, 40))
	for i := range flat.Pix {
		flat.Pix[i] = []uint8{90, 120, 200, 255}[i%4]
	}
	orig := regionPicture(50, 40)
	m := regionPicture(50, 40)
	box := image.Rect(10, 10, 30, 25)
	FillRect(m, box, color.NRGBA{90, 120, 200, 255})
	FillRect(orig, box, color.NRGBA{90, 120, 200, 255})
	BlurRect(m, box, 6)
	outsideUnchanged(t, m, orig, box)
	for y := box.Min.Y; y < box.Max.Y; y++ {
		for x := box.Min.X; x < box.Max.X; x++ {
			if got := m.NRGBAAt(x, y); got != flat.NRGBAAt(0, 0) {
				t.Fatalf("a flat box changed at %d,%d: %v (outside pixels must not leak in)", x, y, got)
			}
		}
	}

	// Transparent pixels lend no colour: red next to transparent black
	// stays red where it is visible.
	tr := image.NewNRGBA(image.Rect(0, 0, 20, 1))
	for x := range 10 {
		tr.SetNRGBA(x, 0, color.NRGBA{255, 0, 0, 255})
	}
	BlurRect(tr, tr.Bounds(), 3)
	for x := range 20 {
		if p := tr.NRGBAAt(x, 0); p.A > 0 && (p.R < 250 || p.G > 0 || p.B > 0) {
			t.Fatalf("pixel %d: %v, want pure red at any opacity", x, p)
		}
	}

	// Past MaxBlurSigma the blur is clamped, not overflowed.
	big := regionPicture(64, 64)
	BlurRect(big, big.Bounds(), 1e6)
}

type stats struct{ mass, variance float64 }

// moment is the brightness mass of the red channel and its variance
// about the centroid, along x.
func moment(m *image.NRGBA) stats {
	var mass, mx float64
	b := m.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			v := float64(m.NRGBAAt(x, y).R)
			mass += v
			mx += v * float64(x)
		}
	}
	cx := mx / mass
	var vx float64
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			d := float64(x) - cx
			vx += float64(m.NRGBAAt(x, y).R) * d * d
		}
	}
	return stats{mass, vx / mass}
}
