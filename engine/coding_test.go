package engine

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opaprules/opaprules/actions"
	"github.com/opaprules/opaprules/internal/spool"
	"github.com/opaprules/opaprules/rules"
)

// gzipMember compresses data as one gzip member. gzip readers take a
// concatenation of members as one stream, so a bomb of any size is a
// member repeated: no need to compress a gigabyte to replay one.
func gzipMember(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zw.Write(data)
	zw.Close()
	return b.Bytes()
}

func deflated(data []byte) []byte {
	var b bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&b, zlib.BestCompression)
	zw.Write(data)
	zw.Close()
	return b.Bytes()
}

// textOf is compressible text of n bytes that is not a bomb: log lines of
// varied numbers compress about 5:1.
func textOf(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%d,%x,%d\n", i, uint64(i)*2654435761, i%977)
	}
	return b.Bytes()[:n]
}

// Issue #10, finding 2: decodedBody unpacked gzip with no limit.
func TestDecodedBodyLimits(t *testing.T) {
	text := textOf(3 << 20)
	mib := bytes.Repeat([]byte{'a'}, 1<<20)
	bomb := bytes.Repeat(gzipMember(t, mib), 64) // 64 MiB from about 64 KB
	for _, tc := range []struct {
		name     string
		coding   string
		body     []byte
		limits   actions.Limits
		want     []byte // the whole decoded body, or nil when refused
		wantCode string
		wantMsg  string
		maxOut   int64 // most bytes handed out before a refusal
	}{
		{name: "text within the limit", coding: "gzip", body: gzipMember(t, text), limits: actions.Limits{MaxDecodedBytes: 4 << 20}, want: text},
		{name: "deflate within the limit", coding: "deflate", body: deflated(text), limits: actions.Limits{MaxDecodedBytes: 4 << 20}, want: text},
		{name: "text over max_decoded_bytes", coding: "gzip", body: gzipMember(t, text), limits: actions.Limits{MaxDecodedBytes: 2 << 20},
			wantCode: actions.CodeEntityTooLarge, wantMsg: "max_decoded_bytes", maxOut: 2 << 20},
		{name: "bomb past the ratio", coding: "x-gzip", body: bomb,
			wantCode: actions.CodeEntityTooLarge, wantMsg: "max_decode_ratio", maxOut: 2 << 20},
		{name: "deflate bomb past the ratio", coding: "deflate", body: deflated(bytes.Repeat(mib, 16)),
			wantCode: actions.CodeEntityTooLarge, wantMsg: "max_decode_ratio", maxOut: 2 << 20},
		{name: "bomb with the ratio raised stops at max_decoded_bytes", coding: "gzip", body: bomb, limits: actions.Limits{MaxDecodeRatio: 1 << 30, MaxDecodedBytes: 8 << 20},
			wantCode: actions.CodeEntityTooLarge, wantMsg: "max_decoded_bytes", maxOut: 8 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &originResponse{header: http.Header{"Content-Encoding": {tc.coding}}, body: io.NopCloser(bytes.NewReader(tc.body)), length: int64(len(tc.body))}
			r, size, err := decodedBody(context.Background(), src, tc.limits)
			if err != nil || size != -1 {
				t.Fatalf("decodedBody: %v, size %d", err, size)
			}
			var out countWriter
			_, err = io.Copy(&out, r)
			if tc.want != nil {
				if err != nil || out.n != int64(len(tc.want)) {
					t.Fatalf("read %d bytes, %v; want %d", out.n, err, len(tc.want))
				}
				return
			}
			e, ok := actions.AsError(err)
			if !ok || e.Status != 400 || e.Code != tc.wantCode || !strings.Contains(e.Message, tc.wantMsg) {
				t.Fatalf("got %v, want 400 %s about %s", err, tc.wantCode, tc.wantMsg)
			}
			if out.n > tc.maxOut {
				t.Errorf("handed out %d bytes before refusing", out.n)
			}
		})
	}
	src := &originResponse{header: http.Header{"Content-Encoding": {"gzip"}}, body: io.NopCloser(strings.NewReader("not gzip"))}
	if _, _, err := decodedBody(context.Background(), src, actions.Limits{}); err == nil {
		t.Error("garbage accepted as gzip")
	}
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// gzipStream writes gzip members into a pipe until the pipe's reader is
// closed, counting the members it got rid of.
type gzipStream struct {
	written atomic.Int64
	done    chan struct{}
}

func newGzipStream(t testing.TB, head, body []byte) (*gzipStream, *io.PipeReader) {
	member := gzipMember(t, body)
	pr, pw := io.Pipe()
	g := &gzipStream{done: make(chan struct{})}
	go func() {
		defer close(g.done)
		if _, err := pw.Write(gzipMember(t, head)); err != nil {
			return
		}
		for {
			if _, err := pw.Write(member); err != nil {
				return
			}
			g.written.Add(1)
		}
	}()
	return g, pr
}

// Cancellation stops the work (issue #10, finding 2: after the 503
// RequestTimeout, CPU and memory kept climbing). An endless gzip object
// feeds a redaction: CSV whose output spools, and JSON that is nothing but
// whitespace, which the parser reads without ever writing (so no write can
// notice the context). Once the request's context is cancelled, the
// redaction returns, nothing reads the origin any more, the spool's file
// and budget are given back, and the heap falls back. The test watches each
// of these happen; it does not time anything.
func TestCancelStopsDecodingAndRedaction(t *testing.T) {
	var recs bytes.Buffer
	for i := range 4096 {
		fmt.Fprintf(&recs, "user%d,user%d@example.com,%d\n", i, i, i*7)
	}
	disk := spool.BudgetOf(100 << 30)
	for _, tc := range []struct {
		name, key, contentType string
		head, body             []byte
		working                func(*gzipStream) bool
	}{
		{"CSV, spooling", "exports/endless.csv", "text/csv", []byte("name,email,n\n"), recs.Bytes(),
			func(*gzipStream) bool { return disk.InUse() >= 4<<20 }},
		{"JSON whitespace, writing nothing", "exports/endless.json", "application/json", []byte("["), bytes.Repeat([]byte(" "), 1<<20),
			func(g *gzipStream) bool { return g.written.Load() >= 64 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			rs, err := rules.Load("rules.yaml", []byte(`version: 1
limits: {max_decoded_bytes: 100GiB, max_decode_ratio: 100000000, max_buffer_bytes: 1MiB, max_spool_bytes: 100GiB, spool_budget: 100GiB, timeout: 1h}
rules:
  - name: mask
    actions:
      - redact: {detectors: [email], style: replace, replace: "[e]", csv_columns: [name]}
`))
			if err != nil {
				t.Fatal(err)
			}
			plan, err := rs.Evaluate(&rules.Request{Key: tc.key})
			if err != nil {
				t.Fatal(err)
			}
			runtime.GC()
			var base runtime.MemStats
			runtime.ReadMemStats(&base)
			goroutines := runtime.NumGoroutine()

			stream, pr := newGzipStream(t, tc.head, tc.body)
			ctx, cancel := context.WithCancel(context.Background())
			src := &originResponse{header: http.Header{"Content-Encoding": {"gzip"}}, body: pr, length: -1}
			body, _, err := decodedBody(ctx, src, plan.Limits)
			if err != nil {
				t.Fatal(err)
			}
			obj := actions.NewObject(&actions.Request{Key: tc.key, Header: http.Header{}}, body,
				-1, http.Header{"Content-Type": {tc.contentType}}, plan.Limits)
			ran := make(chan error, 1)
			go func() { ran <- Run(ctx, plan, obj) }()

			for !tc.working(stream) {
				select {
				case err := <-ran:
					t.Fatalf("the redaction of an endless stream returned: %v", err)
				default:
					runtime.Gosched()
				}
			}
			cancel()
			select {
			case err = <-ran:
			case <-time.After(time.Minute):
				t.Fatal("the redaction goes on after its context was cancelled")
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Run: %v, want context.Canceled", err)
			}
			// Nothing reads the origin any more: the producer is stuck on
			// a write nobody takes, its count frozen.
			frozen := stream.written.Load()
			for range 20 {
				runtime.Gosched()
			}
			if n := stream.written.Load(); n != frozen {
				t.Errorf("the origin was still read after the redaction returned: %d members, then %d", frozen, n)
			}
			obj.Close()
			src.Close()
			<-stream.done
			if n := disk.InUse(); n != 0 {
				t.Errorf("%d bytes of spool budget still charged", n)
			}
			if fds := openFilesUnder(t, tmp); fds != 0 {
				t.Errorf("%d temporary files still open", fds)
			}
			runtime.GC()
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if grown := int64(after.HeapInuse) - int64(base.HeapInuse); grown > 16<<20 {
				t.Errorf("heap in use %d MiB above where it started", grown>>20)
			}
			// The goroutines end on their own once cancelled; a loaded
			// machine (other packages' tests beside this one) may take a
			// while to schedule them, so the bound is generous.
			for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine() > goroutines; {
				if time.Now().After(deadline) {
					t.Fatalf("%d goroutines, %d before", runtime.NumGoroutine(), goroutines)
				}
				runtime.Gosched()
				time.Sleep(time.Millisecond)
			}
		})
	}
}

// openFilesUnder counts this process's open files in dir, deleted ones
// included.
func openFilesUnder(t *testing.T, dir string) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	n := 0
	for _, e := range ents {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && strings.HasPrefix(target, dir) {
			n++
		}
	}
	return n
}

// FuzzDecodedBody: whatever bytes claim to be gzip or deflate, decoding
// never hands out more than max_decoded_bytes, and fails only with a 400
// naming the object's fault.
func FuzzDecodedBody(f *testing.F) {
	f.Add([]byte("plain text, not gzip"), false)
	f.Add(gzipMember(f, []byte("name,note\nalice,hello\n")), false)
	f.Add(gzipMember(f, bytes.Repeat([]byte{'a'}, 200_000)), false)
	f.Add(deflated(bytes.Repeat([]byte("a,b\n"), 50_000)), true)
	bad := gzipMember(f, textOf(10_000))
	bad[len(bad)/2] ^= 0xFF
	f.Add(bad, false)
	f.Add(append(gzipMember(f, []byte("x")), 0x1f, 0x8b, 8, 0), false)
	const limit = 64 << 10
	f.Fuzz(func(t *testing.T, body []byte, deflate bool) {
		coding := "gzip"
		if deflate {
			coding = "deflate"
		}
		src := &originResponse{header: http.Header{"Content-Encoding": {coding}}, body: io.NopCloser(bytes.NewReader(body)), length: int64(len(body))}
		r, _, err := decodedBody(context.Background(), src, actions.Limits{MaxDecodedBytes: limit, MaxDecodeRatio: 50})
		if err == nil {
			var out countWriter
			_, err = io.Copy(&out, r)
			if out.n > limit {
				t.Fatalf("handed out %d bytes, over the limit of %d", out.n, limit)
			}
		}
		if err != nil {
			if e, ok := actions.AsError(err); !ok || e.Status != 400 {
				t.Fatalf("error %v (%T), want a 400", err, err)
			}
		}
	})
}
