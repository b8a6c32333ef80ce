package imageio

import (
	"image"
	"io"
	"sync"
	"time"

	"github.com/gen2brain/avif"
)

// The AVIF codec is libavif compiled to WebAssembly and run by wazero. Its
// first use in a process compiles the module (about 2 s on the reference
// machine), so the FC initializer calls WarmAVIF instead of the first client.

var (
	warmAVIFOnce sync.Once
	warmAVIFErr  error
	warmAVIFTook time.Duration
)

// WarmAVIF compiles the AVIF codec now, once per process, and reports how
// long the compilation took (0 on later calls).
func WarmAVIF() (time.Duration, error) {
	took := time.Duration(-1)
	warmAVIFOnce.Do(func() {
		start := time.Now()
		warmAVIFErr = avif.Encode(io.Discard, image.NewNRGBA(image.Rect(0, 0, 8, 8)), avif.Options{Quality: 50, Speed: 10})
		warmAVIFTook = time.Since(start)
		took = warmAVIFTook
	})
	if took < 0 {
		return 0, warmAVIFErr
	}
	return took, warmAVIFErr
}
