package pii

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
)

// logCorpus builds size bytes of log-like lines: timestamps, levels,
// paths, request ids, durations, user agents, hex ids, version strings,
// ports, clock times. One line in a hundred carries a piece of (fake)
// personal data. The same seed gives the same corpus.
func logCorpus(size int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	var b bytes.Buffer
	b.Grow(size + 1024)
	levels := []string{"INFO", "DEBUG", "WARN", "ERROR", "TRACE"}
	methods := []string{"GET", "POST", "PUT", "DELETE"}
	paths := []string{"/api/v1/users/%d/orders", "/static/js/app.%x.js", "/healthz", "/api/v2/items?page=%d&size=50", "/oss/bucket-%d/object.log"}
	uas := []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.118 Safari/537.36",
		"curl/8.5.0",
		"aliyun-sdk-go/3.0.2 (linux/6.1.0; amd64) go1.26.8",
		"okhttp/4.12.0",
	}
	pii := []func() string{
		func() string { return fmt.Sprintf("user=zhang.san%d@example.com", rng.IntN(1000)) },
		func() string { return fmt.Sprintf("phone=138%08d", rng.IntN(1e8)) },
		func() string { return "contact +86 139-1234-5678" },
		func() string { return "id_no=11010519491231002X" },
		func() string { return "card=4111 1111 1111 1111" },
		func() string { return fmt.Sprintf("client=203.0.%d.%d", rng.IntN(256), rng.IntN(256)) },
		func() string { return "peer=2001:db8:85a3::8a2e:370:7334" },
		func() string { return "ak=LTAI5tQwErTyUiOpAsDf" },
		func() string {
			return "auth=Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
		},
	}
	for b.Len() < size {
		h, m, s := rng.IntN(24), rng.IntN(60), rng.IntN(60)
		fmt.Fprintf(&b, "2024-05-%02dT%02d:%02d:%02d.%03dZ %-5s [worker-%d] req_id=%08x-%04x-%04x-%04x-%012x %s ",
			1+rng.IntN(28), h, m, s, rng.IntN(1000), levels[rng.IntN(len(levels))], rng.IntN(64),
			rng.Uint32(), rng.IntN(1<<16), rng.IntN(1<<16), rng.IntN(1<<16), rng.Uint64()&(1<<48-1),
			methods[rng.IntN(len(methods))])
		fmt.Fprintf(&b, paths[rng.IntN(len(paths))], rng.IntN(100000))
		fmt.Fprintf(&b, " status=%d dur=%d.%dms bytes=%d v=%d.%d.%d port=%d at %02d:%02d:%02d trace=%016x%016x ua=%q",
			[]int{200, 201, 204, 301, 404, 500}[rng.IntN(6)], rng.IntN(900), rng.IntN(10), rng.IntN(1<<20),
			rng.IntN(5), rng.IntN(30), rng.IntN(200), 1024+rng.IntN(60000), h, m, s, rng.Uint64(), rng.Uint64(),
			uas[rng.IntN(len(uas))])
		if rng.IntN(100) == 0 {
			b.WriteByte(' ')
			b.WriteString(pii[rng.IntN(len(pii))]())
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

var benchCorpus = func() func() []byte {
	var c []byte
	return func() []byte {
		if c == nil {
			c = logCorpus(16<<20, 1)
		}
		return c
	}
}()

func benchReader(b *testing.B, cfg Config) {
	r, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	in := benchCorpus()
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.ResetTimer()
	for b.Loop() {
		n, err := io.Copy(io.Discard, r.Reader(bytes.NewReader(in)))
		if err != nil || n != int64(len(in)) && r.PreservesLength() {
			b.Fatal(n, err)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	mb := float64(len(in)) * float64(b.N) / 1e6
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/mb, "allocs/MB")
}

// BenchmarkText redacts the log corpus through Reader with each built-in
// detector alone, and all together.
func BenchmarkText(b *testing.B) {
	b.Run("all", func(b *testing.B) { benchReader(b, Config{}) })
	b.Run("all-entity", func(b *testing.B) { benchReader(b, Config{Style: StyleEntity}) })
	b.Run("all-hash", func(b *testing.B) { benchReader(b, Config{Style: StyleHash, HashKey: []byte("bench-key")}) })
	for _, d := range DetectorNames() {
		b.Run(d, func(b *testing.B) { benchReader(b, Config{Detectors: []string{d}}) })
	}
}

// BenchmarkPatterns measures operator patterns, which cost a regexp pass
// each, apart from the built-ins.
func BenchmarkPatterns(b *testing.B) {
	b.Run("literal-prefix", func(b *testing.B) {
		benchReader(b, Config{Detectors: []string{"none"}, Patterns: []Pattern{{Name: "order", Regex: `ORD-[0-9]{10}`}}})
	})
	b.Run("no-prefix", func(b *testing.B) {
		benchReader(b, Config{Detectors: []string{"none"}, Patterns: []Pattern{{Name: "emp", Regex: `\b[A-Z]{2}[0-9]{6}\b`}}})
	})
	b.Run("all+2patterns", func(b *testing.B) {
		benchReader(b, Config{Patterns: []Pattern{
			{Name: "order", Regex: `ORD-[0-9]{10}`},
			{Name: "emp", Regex: `\b[A-Z]{2}[0-9]{6}\b`},
		}})
	})
}

func BenchmarkStructured(b *testing.B) {
	r, err := New(Config{JSONKeys: []string{"user"}, CSVColumns: []string{"email"}})
	if err != nil {
		b.Fatal(err)
	}
	var nd, csvb bytes.Buffer
	rng := rand.New(rand.NewPCG(2, 2))
	for nd.Len() < 4<<20 {
		fmt.Fprintf(&nd, `{"ts":"2024-05-01T12:30:45Z","level":"info","user":"u%d@example.com","msg":"GET /api/v1/items/%d 200","dur":%d.5,"tags":["a","b"],"ok":true}`+"\n", rng.IntN(1e6), rng.IntN(1e6), rng.IntN(1000))
	}
	csvb.WriteString("id,email,note,amount\n")
	for csvb.Len() < 4<<20 {
		fmt.Fprintf(&csvb, "%d,u%d@example.com,\"order, shipped\",%d.%02d\n", rng.IntN(1e9), rng.IntN(1e6), rng.IntN(1e4), rng.IntN(100))
	}
	for _, tc := range []struct {
		name string
		kind Kind
		in   []byte
	}{{"ndjson", KindNDJSON, nd.Bytes()}, {"csv", KindCSV, csvb.Bytes()}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.Redact(io.Discard, bytes.NewReader(tc.in), tc.kind); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// repeatReader yields the corpus over and over up to n bytes, so a huge
// stream costs no memory to produce.
type repeatReader struct {
	data []byte
	off  int
	left int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n := copy(p, r.data[r.off:])
	r.off = (r.off + n) % len(r.data)
	r.left -= int64(n)
	return n, nil
}

// BenchmarkStream1GiB streams 1 GiB through Reader and reports how much
// the process's memory grew. It is gated (PII_BENCH_1GIB=1) to keep
// ordinary runs fast.
func BenchmarkStream1GiB(b *testing.B) {
	if os.Getenv("PII_BENCH_1GIB") == "" {
		b.Skip("set PII_BENCH_1GIB=1 to stream 1 GiB")
	}
	r, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	const size = 1 << 30
	src := logCorpus(4<<20, 3)
	b.SetBytes(size)
	sample := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	runtime.GC()
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	var peakTotal, peakHeap uint64
	rss0 := vmRSS()
	peakRSS := rss0
	for b.Loop() {
		rd := r.Reader(&repeatReader{data: src, left: size})
		buf := make([]byte, 256<<10)
		var n int64
		for k := 0; ; k++ {
			m, err := rd.Read(buf)
			n += int64(m)
			if k%256 == 0 {
				metrics.Read(sample)
				peakTotal = max(peakTotal, sample[0].Value.Uint64())
				peakHeap = max(peakHeap, sample[1].Value.Uint64())
				peakRSS = max(peakRSS, vmRSS())
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		if n != size {
			b.Fatalf("got %d bytes", n)
		}
	}
	b.ReportMetric((float64(peakTotal)-float64(base))/(1<<20), "MiB-runtime-growth")
	b.ReportMetric(float64(peakRSS-rss0)/(1<<20), "MiB-RSS-growth")
	b.ReportMetric(float64(peakHeap)/(1<<20), "MiB-heap-peak")
}

// vmRSS reads the process's resident set size from /proc (0 elsewhere).
func vmRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, ln := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(ln, "VmRSS:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), &kb)
			return kb << 10
		}
	}
	return 0
}
