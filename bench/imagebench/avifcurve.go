package main

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"os"

	"github.com/disintegration/imaging"

	"github.com/opaprules/opaprules/internal/imageio"
)

// avifCurve measures the AVIF encoder's size/quality/time trade-off on
// what a thumbnail request encodes: SOURCE decoded at full size, resized
// to 800 px wide with Lanczos, encoded at each speed × quality (lists,
// comma-separated) RUNS times (the fastest run reported, wall and the
// process's CPU time: a shared machine's noise only adds, and CPU time
// less than wall time). Quality is PSNR over RGB and SSIM over luma
// of the decoded AVIF against that 800 px picture. One JSON line each.
func avifCurve(source, speeds, qualities string, runs int) error {
	data, err := os.ReadFile(source)
	if err != nil {
		return err
	}
	src, err := decodeAll(data)
	if err != nil {
		return err
	}
	full := src.Frames[0].Image
	b := full.Bounds()
	ref := imaging.Resize(full, 800, int(math.Round(float64(b.Dy())*800/float64(b.Dx()))), imaging.Lanczos)
	img := &imageio.Image{Frames: []imageio.Frame{{Image: ref}}}
	if _, err := imageio.WarmAVIF(); err != nil {
		return err
	}
	ints := func(s string) []int {
		var out []int
		for f := range strings.SplitSeq(s, ",") {
			v, _ := strconv.Atoi(f)
			out = append(out, v)
		}
		return out
	}
	for _, sp := range ints(speeds) {
		for _, q := range ints(qualities) {
			var times, cpus []float64
			var out []byte
			for range runs {
				c0 := cpuMs()
				start := time.Now()
				out, err = imageio.Encode(img, imageio.EncodeOptions{Format: "avif", Quality: q, Speed: sp})
				if err != nil {
					return err
				}
				times = append(times, float64(time.Since(start).Microseconds())/1000)
				cpus = append(cpus, cpuMs()-c0)
			}
			dec, err := decodeAll(out)
			if err != nil {
				return err
			}
			got := imaging.Clone(dec.Frames[0].Image)
			line, _ := json.Marshal(map[string]any{
				"speed": sp, "quality": q, "bytes": len(out),
				"ms":     slices.Min(times),
				"cpu_ms": math.Round(slices.Min(cpus)*10) / 10,
				"psnr":   math.Round(psnrRGB(ref, got)*100) / 100,
				"ssim":   math.Round(ssimLuma(ref, got)*10000) / 10000,
			})
			fmt.Println(string(line))
		}
	}
	return nil
}

// cpuMs is the process's user+system CPU time in milliseconds.
func cpuMs() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e6
}
