package engine

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// BenchmarkPassthrough1KiB measures one GetObject of a 1 KiB object that
// no rule transforms, through the local OSS server over loopback HTTP:
// the handler's own time (event decoding, rules, the origin GET and the
// WriteGetObjectResponse upload) as invoke-p50-ms, and the client's whole
// round trip as roundtrip-p50-ms. The target is a handler median under 1 ms.
func BenchmarkPassthrough1KiB(b *testing.B) {
	e := newEnv(b, baseRules, map[string]string{"docs/a.txt": strings.Repeat("x", 1024)})
	e.durations = make(chan time.Duration, 1)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	get := func() {
		resp, err := client.Get(e.ts.URL + "/docs/a.txt")
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("GET: %v %v", err, resp)
		}
		resp.Body.Close()
	}
	for range 50 { // warm connections and pools
		get()
		<-e.durations
	}
	var invoke, roundtrip []time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		get()
		roundtrip = append(roundtrip, time.Since(start))
		invoke = append(invoke, <-e.durations)
	}
	b.ReportMetric(median(invoke), "invoke-p50-ms")
	b.ReportMetric(median(roundtrip), "roundtrip-p50-ms")
}

func median(ds []time.Duration) float64 {
	slices.Sort(ds)
	return float64(ds[len(ds)/2].Microseconds()) / 1000
}
