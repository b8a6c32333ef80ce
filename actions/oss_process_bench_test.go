package actions

import (
	"context"
	"slices"
	"testing"
	"time"
)

// BenchmarkOSSProcessPlan runs image/resize,w_300/format,webp through
// oss_process and as resize + convert on the same 1600×1200 JPEG, one
// after the other in each iteration, and reports both medians and their
// ratio; BenchmarkOSSCompile is the per-request parse and mapping alone.
func BenchmarkOSSProcessPlan(b *testing.B) {
	src := encode(b, "jpeg", photo(1600, 1200))
	p := &OSSProcess{Spec: "image/resize,w_300/format,webp"}
	r := newResize(300, 0, "")
	c := newConvert("webp")
	run := func(acts ...Action) time.Duration {
		start := time.Now()
		obj := object(src, "")
		for _, a := range acts {
			if err := a.Apply(context.Background(), obj); err != nil {
				b.Fatal(err)
			}
		}
		if _, _, err := obj.Result(context.Background()); err != nil {
			b.Fatal(err)
		}
		obj.Close()
		return time.Since(start)
	}
	var ossT, actT []time.Duration
	first := true
	for b.Loop() {
		if first {
			ossT = append(ossT, run(p))
		}
		actT = append(actT, run(r, c))
		if !first {
			ossT = append(ossT, run(p))
		}
		first = !first
	}
	o, a := medianMS(ossT), medianMS(actT)
	b.ReportMetric(o, "oss-p50-ms")
	b.ReportMetric(a, "actions-p50-ms")
	b.ReportMetric(o/a, "ratio")
}

func BenchmarkOSSCompile(b *testing.B) {
	p := &OSSProcess{}
	for b.Loop() {
		if _, err := p.compile("image/resize,w_300/format,webp", false); err != nil {
			b.Fatal(err)
		}
	}
}

func medianMS(ds []time.Duration) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[len(s)/2].Microseconds()) / 1000
}
