package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	_ "image/jpeg"

	"github.com/opaprules/opaprules/internal/imageio"
	"github.com/opaprules/opaprules/internal/reftest"
	"github.com/opaprules/opaprules/rules"
)

const snapshotRules = `
rules:
  - name: frames
    when: ext == "mp4"
    actions:
      - snapshot: {at: "${ query.t == '' ? '1s' : query.t }", width: 320}
`

// logBuffer keeps the log lines a handler writes.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// requestLine waits for the n-th "request" line logged (from 1): the
// handler logs it after the client has its answer.
func (l *logBuffer) requestLine(t *testing.T, n int) map[string]any {
	t.Helper()
	for range 500 {
		l.mu.Lock()
		var lines []map[string]any
		for _, line := range bytes.Split(l.b.Bytes(), []byte("\n")) {
			var m map[string]any
			if json.Unmarshal(line, &m) == nil && m["msg"] == "request" {
				lines = append(lines, m)
			}
		}
		l.mu.Unlock()
		if len(lines) >= n {
			return lines[n-1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no request line %d in %s", n, l.b.String())
	return nil
}

// makeVideo encodes seconds of ffmpeg's testsrc2 at bitrate into
// e.dir/name, with more args (-movflags +faststart).
func makeVideo(t testing.TB, path string, seconds int, size, bitrate string, extra ...string) int64 {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{"-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
		fmt.Sprintf("testsrc2=size=%s:rate=25:duration=%d", size, seconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-b:v", bitrate, "-pix_fmt", "yuv420p", "-g", "50"}
	reftest.Run(t, "ffmpeg", append(append(args, extra...), path)...)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// A frame of a video through the access point: ffmpeg reads the object
// from OSS through the relay with ranges, and the request's bytes_in is a
// small part of it, with the index at the front or at the end.
func TestSnapshotReadsPartOfTheVideo(t *testing.T) {
	reftest.Tool(t, "ffmpeg")
	e := newEnv(t, snapshotRules, nil)
	var logs logBuffer
	e.handler.cfg.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	mb, _ := strconv.Atoi(os.Getenv("OPAPRULES_SNAPSHOT_MB"))
	requests := 0
	for _, tc := range []struct {
		name  string
		extra []string
	}{
		{"moov at the end", nil},
		{"faststart", []string{"-movflags", "+faststart"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "videos/" + map[bool]string{true: "fast", false: "end"}[tc.extra != nil] + ".mp4"
			// 24 s of 640×360 at 2 Mbit/s, ≈6 MB, a keyframe every 2 s
			// (0.5 MB); OPAPRULES_SNAPSHOT_MB=100 makes a 1080p one of
			// about that many megabytes instead.
			seconds, size, rate := 24, "640x360", "2M"
			if mb > 0 {
				seconds, size, rate = mb/3, "1920x1080", "24M"
			}
			total := makeVideo(t, filepath.Join(e.dir, key), seconds, size, rate, tc.extra...)
			sent := e.srv.Stats().OriginBytes
			r := e.get("/" + key)
			requests++
			line := logs.requestLine(t, requests)
			if r.status != http.StatusOK || r.header.Get("Content-Type") != "image/jpeg" {
				t.Fatalf("%d %s: %s (%v)", r.status, r.header.Get("Content-Type"), r.body, line["cause"])
			}
			cfg, err := imageio.DecodeConfig([]byte(r.body))
			if err != nil || cfg.Width != 320 {
				t.Fatalf("frame %+v, %v", cfg, err)
			}
			in := int64(line["bytes_in"].(float64))
			t.Logf("a frame at 1 s read %d of %d bytes (%.2f%%)", in, total, 100*float64(in)/float64(total))
			// What ffmpeg needs (the index, a group of pictures) and what
			// the relay reads ahead (a piece, loopback buffers): a third
			// of the file at most, whatever the load.
			if in <= 0 || in > total/3 {
				t.Errorf("bytes_in %d of a %d-byte video", in, total)
			}
			// Nor does the origin send more: before ffmpeg starts, only the
			// original's headers are read (one byte of body), not a whole
			// read that fills buffers until it is dropped.
			if out := e.srv.Stats().OriginBytes - sent; out > total/3 {
				t.Errorf("the origin sent %d bytes of a %d-byte video", out, total)
			}
			// Later in the video, still a part.
			r = e.get("/" + key + "?t=17s")
			requests++
			line = logs.requestLine(t, requests)
			if r.status != http.StatusOK {
				t.Fatalf("at 17 s: %d %s (%v)", r.status, r.body, line["cause"])
			}
			if in := int64(line["bytes_in"].(float64)); in > total/3 {
				t.Errorf("at 17 s: bytes_in %d of %d", in, total)
			}
		})
	}
	t.Run("past the end", func(t *testing.T) {
		r := e.get("/videos/end.mp4?t=1h")
		if r.status != http.StatusBadRequest || r.errorCode() != "SnapshotOutOfRange" {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
}

// dry-run --input and the playground: the local file is served to ffmpeg
// the same way.
func TestSnapshotLocalRun(t *testing.T) {
	reftest.Tool(t, "ffmpeg")
	e := newEnv(t, snapshotRules, nil)
	path := filepath.Join(t.TempDir(), "clip.mp4")
	makeVideo(t, path, 3, "320x240", "1M")
	req := &rules.Request{Method: "GET", Header: http.Header{}, Bucket: "bucket"}
	req.Key, req.RawQuery, _ = rules.ParseTarget("clips/clip.mp4?t=2s")
	for name, run := range map[string]LocalRun{
		"path": {Object: path},
		"fs":   {FS: os.DirFS(filepath.Dir(path)), Object: "clip.mp4"},
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			run.Request, run.Body = req, &out
			res, err := e.handler.RunLocal(context.Background(), run)
			if err != nil || res.Status != http.StatusOK {
				t.Fatalf("%+v %v", res, err)
			}
			m, _, err := image.DecodeConfig(&out)
			if err != nil || m.Width != 320 || m.Height != 240 {
				t.Fatalf("frame %+v, %v", m, err)
			}
		})
	}
}
