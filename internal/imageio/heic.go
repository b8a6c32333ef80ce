package imageio

import (
	"bytes"
	_ "embed"
	"fmt"
	"image"
	"sync"
	"time"

	"github.com/gen2brain/heic"
)

// HEIC is decoded by github.com/gen2brain/heic v0.7.0: the heic crate (an
// HEVC decoder in Rust) compiled to WebAssembly and run by wazero, so the
// binary stays static. What its decode of a file is checked against is
// libheif's (heif-convert): 62-73 dB on 4:2:0 pictures, grids, rotations,
// mirrors and nclx colour (heic_reference_test.go). Versions before 0.6
// wrapped libheif/libde265 and got the chroma wrong (v0.4.5: 34-39 dB,
// with the first 24 bytes of the picture overwritten by the allocator),
// or the whole picture (v0.5.0: about 10 dB). The forms the crate renders
// as garbage are refused from the header (see heifMeta.coded).
//
// The decoder applies the clean aperture, irot and imir itself; Config
// reports the size as stored and the equivalent EXIF orientation, so
// HEIC behaves as every other format: auto_orient: false gets the pixels
// as stored. The EXIF orientation inside a HEIC is ignored, as libheif
// and the HEIF specification do: irot and imir are the ones that count.

func init() {
	// A build with cgo (go test, go run) would otherwise decode through a
	// system libheif when one is installed; the deployed static binary
	// never does. Both must decode the same way.
	heic.ForceWasmMode = true
}

// warmHEICFile is a 64×64 HEIC that heif-enc (libheif 1.15) made of a
// gradient, decoded once to compile the codec.
//
//go:embed warm.heic
var warmHEICFile []byte

var (
	warmHEICOnce sync.Once
	warmHEICErr  error
)

// WarmHEIC compiles the HEIC codec now, once per process, and reports how
// long it took (0 on later calls). The first decode in a process otherwise
// pays it.
func WarmHEIC() (took time.Duration, err error) {
	warmHEICOnce.Do(func() {
		start := time.Now()
		var m image.Image
		m, warmHEICErr = heic.Decode(bytes.NewReader(warmHEICFile))
		if warmHEICErr == nil && m.Bounds().Size() != image.Pt(64, 64) {
			warmHEICErr = fmt.Errorf("heic: warm-up picture decoded as %v", m.Bounds().Size())
		}
		took = time.Since(start)
	})
	return took, warmHEICErr
}

// heicConfig reads the header: the size as stored (after the clean
// aperture, before rotation) and the orientation irot and imir give it.
func heicConfig(data []byte) (image.Config, int, error) {
	info, err := parseHEIF(data)
	if err != nil {
		return image.Config{}, 1, err
	}
	return image.Config{Width: info.cropW, Height: info.cropH}, info.orientation, nil
}

// decodeHEIC decodes the primary image, upright; without autoOrient it
// turns it back as stored.
func decodeHEIC(data []byte, cfg Config, autoOrient bool) (image.Image, error) {
	m, err := heic.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if w, h := cfg.Upright(); m.Bounds().Dx() != w || m.Bounds().Dy() != h {
		return nil, fmt.Errorf("decoded %d×%d, the header says %d×%d", m.Bounds().Dx(), m.Bounds().Dy(), w, h)
	}
	if !autoOrient && cfg.Orientation > 1 {
		m = Orient(m, inverseOrientation(cfg.Orientation))
	}
	return m, nil
}

// readHEICMeta returns the EXIF describing the primary image and its ICC
// profile.
func readHEICMeta(data []byte) Metadata {
	info, err := parseHEIF(data)
	if err != nil {
		return Metadata{}
	}
	return Metadata{EXIF: info.exif, ICC: info.icc}
}
