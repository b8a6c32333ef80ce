package imageio

import (
	"reflect"
	"sync"

	"github.com/disintegration/imaging"
)

// A server resizes to the same few sizes over and over (thumbnail widths
// in the rules), and each axis' weights cost a kernel evaluation (two
// sines for Lanczos) per tap: 5% of a 1200×800 → 300×200 request's CPU.
// So packed weights are kept per axis geometry, filter and subsampling,
// read-only once made and shared between requests; the cache forgets
// everything when it holds too many.

type tapsKey struct {
	dst, n, sub int
	x0, x1      float64
	kernel      uintptr
	// The kernel's code pointer alone does not tell closures over
	// different parameters apart: its values at a few points do.
	support, k1, k2, k3 float64
}

const maxCachedTaps = 256

var tapsCache struct {
	sync.Mutex
	m map[tapsKey]*cachedTaps
}

type cachedTaps struct {
	p  packedTaps
	ok bool
}

// packedAxis is packTaps(makeTaps(...), planeLen), cached.
func packedAxis(dst, n int, x0, x1 float64, filter imaging.ResampleFilter, sub, planeLen int) (packedTaps, bool) {
	k := tapsKey{dst: dst, n: n, sub: sub, x0: x0, x1: x1, support: filter.Support}
	if filter.Kernel != nil {
		k.kernel = reflect.ValueOf(filter.Kernel).Pointer()
		k.k1, k.k2, k.k3 = filter.Kernel(0.3), filter.Kernel(1.1), filter.Kernel(2.7)
	}
	tapsCache.Lock()
	c := tapsCache.m[k]
	tapsCache.Unlock()
	if c != nil {
		return c.p, c.ok
	}
	p, ok := packTaps(makeTaps(dst, n, x0, x1, filter, sub), planeLen)
	tapsCache.Lock()
	if tapsCache.m == nil || len(tapsCache.m) >= maxCachedTaps {
		tapsCache.m = make(map[tapsKey]*cachedTaps)
	}
	tapsCache.m[k] = &cachedTaps{p, ok}
	tapsCache.Unlock()
	return p, ok
}
