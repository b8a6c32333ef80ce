package actions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opaprules/opaprules/internal/imageio"
	"github.com/opaprules/opaprules/internal/reftest"
)

// Videos are made on the fly by Debian's ffmpeg (testsrc2: moving
// patterns and a running clock, so every frame differs), and snapshot's
// frames are compared with ffmpeg's own extraction of the same frame from
// the file. Measured: identical (∞ dB) at full size, and scaled with
// lanczos by both; the bound leaves room for swscale versions.
const snapshotMinPSNR = 45

// videoOpts are the encodes the tests use: 25 frames a second, a keyframe
// every second, with the index (moov) at the end as cameras write it, or
// at the front (-movflags +faststart) as web uploads often are.
func makeVideo(t *testing.T, dir, name string, extra ...string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	args := []string{"-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=4",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25"}
	args = append(append(args, extra...), out)
	reftest.Run(t, "ffmpeg", args...)
	return out
}

// rangeFetcher plays the engine: it serves one file over HTTP with Range
// and counts the bytes it sends.
type rangeFetcher struct {
	path string
	sent atomic.Int64
	reqs atomic.Int64
}

func (f *rangeFetcher) Fetch(context.Context, string, int64) ([]byte, error) {
	return nil, errors.New("no other objects")
}

func (f *rangeFetcher) URL(ctx context.Context, key string) (string, error) {
	if key != "" {
		return "", errors.New("only the request's object")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.reqs.Add(1)
		file, err := os.Open(f.path)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer file.Close()
		http.ServeContent(countingResponse{w, &f.sent}, r, filepath.Base(f.path), time.Time{}, file)
	}))
	context.AfterFunc(ctx, srv.Close)
	return srv.URL + "/" + filepath.Base(f.path), nil
}

type countingResponse struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c countingResponse) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n.Add(int64(n))
	return n, err
}

func videoObject(path string) (*Object, *rangeFetcher) {
	f := &rangeFetcher{path: path}
	obj := NewObject(&Request{Key: filepath.Base(path), Header: http.Header{}}, bytes.NewReader(nil), 0, http.Header{"Content-Type": {"video/mp4"}}, DefaultLimits())
	obj.Fetcher = f
	return obj, f
}

// ffmpegFrame is ffmpeg's own extraction of the frame at seconds, read
// from the file, with an optional scale filter.
func ffmpegFrame(t *testing.T, video string, seconds float64, accurate bool, vf string) *image.NRGBA {
	t.Helper()
	out := filepath.Join(t.TempDir(), "ref.png")
	args := []string{"-hide_banner", "-loglevel", "error", "-y"}
	if !accurate {
		args = append(args, "-noaccurate_seek")
	}
	args = append(args, "-ss", fmt.Sprint(seconds), "-i", video, "-frames:v", "1")
	if vf != "" {
		args = append(args, "-vf", vf)
	}
	reftest.Run(t, "ffmpeg", append(args, out)...)
	return reftest.ReadImage(t, out)
}

func snapshotOf(t *testing.T, at string, mods ...func(*Snapshot)) *Snapshot {
	t.Helper()
	s := &Snapshot{Mode: "accurate"}
	if err := s.At.UnmarshalText([]byte(at)); err != nil {
		t.Fatal(err)
	}
	for _, m := range mods {
		m(s)
	}
	return s
}

func TestSnapshotMatchesFFmpeg(t *testing.T) {
	reftest.Tool(t, "ffmpeg")
	dir := t.TempDir()
	videos := map[string]string{
		"moov at the end": makeVideo(t, dir, "end.mp4"),
		"faststart":       makeVideo(t, dir, "fast.mp4", "-movflags", "+faststart"),
	}
	for name, video := range videos {
		for _, tc := range []struct {
			name     string
			snap     *Snapshot
			refAt    float64
			accurate bool
			vf       string
			size     image.Point
		}{
			{"at 1500ms", snapshotOf(t, "1500ms"), 1.5, true, "", image.Pt(320, 240)},
			{"at 2.2s, 160 wide", snapshotOf(t, "2.2s", func(s *Snapshot) { s.Width = 160 }), 2.2, true, "scale=160:-1:flags=lanczos", image.Pt(160, 120)},
			{"at 0, 90 high", snapshotOf(t, "0", func(s *Snapshot) { s.Height = 90 }), 0, true, "scale=-1:90:flags=lanczos", image.Pt(120, 90)},
			// fast takes the keyframe before 1.5 s: the one at 1 s.
			{"fast at 1500", snapshotOf(t, "1500", func(s *Snapshot) { s.Mode = "fast" }), 1.0, true, "", image.Pt(320, 240)},
		} {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				// The frame as the plan's next action sees it, before
				// the encode at the end of the plan.
				got := frameOf(t, video, tc.snap)
				if got.Bounds().Size() != tc.size {
					t.Fatalf("frame of %v, want %v", got.Bounds().Size(), tc.size)
				}
				want := ffmpegFrame(t, video, tc.refAt, tc.accurate, tc.vf)
				if p := reftest.PSNR(got, want); p < snapshotMinPSNR {
					t.Errorf("%.1f dB from ffmpeg's own frame at %gs", p, tc.refAt)
				} else {
					t.Logf("%.1f dB from ffmpeg's own frame", p)
				}
				if tc.snap.Mode == "fast" {
					if p := reftest.PSNR(got, ffmpegFrame(t, video, 1.5, true, "")); p > 30 {
						t.Errorf("fast gave the frame at 1.5 s (%.1f dB), not the keyframe before it", p)
					}
				}
			})
		}
	}
}

// frameOf runs the snapshot alone and returns its frame.
func frameOf(t *testing.T, video string, s *Snapshot) image.Image {
	t.Helper()
	obj, _ := videoObject(video)
	defer obj.Close()
	if err := s.Apply(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
	img, err := obj.Image(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return img.Frames[0].Image
}

// The frame is the plan's image: resize and convert follow it, and a
// snapshot reads a part of the video, not all of it.
func TestSnapshotThroughAPlan(t *testing.T) {
	reftest.Tool(t, "ffmpeg")
	dir := t.TempDir()
	// 6 s at 640×360 and a high bitrate: a frame at 1 s is a small part.
	video := filepath.Join(dir, "long.mp4")
	reftest.Run(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=6",
		"-c:v", "libx264", "-preset", "ultrafast", "-b:v", "4M", "-pix_fmt", "yuv420p", "-g", "25", video)
	st, _ := os.Stat(video)
	obj, f := videoObject(video)
	out, img := run(t, obj, snapshotOf(t, "1s"), &Resize{Width: 200, Mode: "fit", Filter: "lanczos"}, newConvert("png"))
	if imageio.Sniff(out) != imageio.PNG || size(img) != image.Pt(200, 113) {
		t.Fatalf("%s %v, want a 200×113 PNG", imageio.Sniff(out), size(img))
	}
	// This test's server pushes whole ranges into loopback buffers; how
	// little the engine reads from OSS is engine/objecturl_test.go's.
	t.Logf("this server sent %d of %d bytes in %d requests", f.sent.Load(), st.Size(), f.reqs.Load())

	// Without format or convert, JPEG.
	obj, _ = videoObject(video)
	out, _ = run(t, obj, snapshotOf(t, "0"))
	if imageio.Sniff(out) != imageio.JPEG || obj.Header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("%s %q, want JPEG", imageio.Sniff(out), obj.Header.Get("Content-Type"))
	}
	obj, _ = videoObject(video)
	out, _ = run(t, obj, snapshotOf(t, "0", func(s *Snapshot) { s.Format = "webp" }))
	if imageio.Sniff(out) != imageio.WebP {
		t.Errorf("format webp gave %s", imageio.Sniff(out))
	}
}

// Rotation metadata (phones record sideways) is applied, as OSS's ar.
func TestSnapshotRotation(t *testing.T) {
	reftest.Tool(t, "ffmpeg")
	dir := t.TempDir()
	plain := makeVideo(t, dir, "plain.mp4")
	rotated := filepath.Join(dir, "rotated.mp4")
	reftest.Run(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", plain, "-c", "copy", "-metadata:s:v:0", "rotate=90", rotated)
	frame := frameOf(t, rotated, snapshotOf(t, "1s"))
	if frame.Bounds().Size() != image.Pt(240, 320) {
		t.Fatalf("rotated video's frame is %v, want 240×320", frame.Bounds().Size())
	}
	want := ffmpegFrame(t, rotated, 1, true, "")
	if p := reftest.PSNR(frame, want); p < snapshotMinPSNR {
		t.Errorf("%.1f dB from ffmpeg's own frame", p)
	}
}

func TestSnapshotErrors(t *testing.T) {
	reftest.Tool(t, "ffmpeg")
	dir := t.TempDir()
	video := makeVideo(t, dir, "v.mp4")
	audio := filepath.Join(dir, "a.m4a")
	reftest.Run(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=duration=1", audio)
	text := filepath.Join(dir, "t.txt")
	if err := os.WriteFile(text, []byte(strings.Repeat("not a video\n", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	// A playlist naming another URL: ffmpeg must not fetch it.
	var fetched atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fetched.Add(1) }))
	defer other.Close()
	playlist := filepath.Join(dir, "p.m3u8")
	if err := os.WriteFile(playlist, []byte("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\n"+other.URL+"/secret.mp4\n#EXT-X-ENDLIST\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		path   string
		snap   *Snapshot
		status int
		code   string
	}{
		{"text", text, snapshotOf(t, "0"), 400, CodeInvalidVideo},
		{"audio only", audio, snapshotOf(t, "0"), 400, CodeInvalidVideo},
		{"playlist", playlist, snapshotOf(t, "0"), 400, CodeInvalidVideo},
		{"past the end", video, snapshotOf(t, "10s"), 400, CodeSnapshotOutOfRange},
		{"wider than the output limit", video, snapshotOf(t, "0", func(s *Snapshot) { s.Width = 9000 }), 400, CodeImageTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obj, _ := videoObject(tc.path)
			defer obj.Close()
			err := tc.snap.Apply(context.Background(), obj)
			wantCode(t, err, tc.status, tc.code)
			t.Log(err)
		})
	}
	if fetched.Load() != 0 {
		t.Errorf("the playlist's URL was fetched %d times", fetched.Load())
	}

	t.Run("no ffmpeg", func(t *testing.T) {
		t.Setenv(EnvFFmpeg, filepath.Join(dir, "no-such-ffmpeg"))
		obj, _ := videoObject(video)
		err := snapshotOf(t, "0").Apply(context.Background(), obj)
		wantCode(t, err, http.StatusServiceUnavailable, CodeServiceUnavailable)
		t.Setenv(EnvFFmpeg, "")
		t.Setenv("PATH", dir)
		err = snapshotOf(t, "0").Apply(context.Background(), obj)
		wantCode(t, err, http.StatusServiceUnavailable, CodeServiceUnavailable)
		if e, _ := AsError(err); !strings.Contains(e.Message, "FFmpeg layer") {
			t.Errorf("message %q does not say what to install", e.Message)
		}
	})
	t.Run("after another image action", func(t *testing.T) {
		obj := object(encode(t, "png", photo(32, 32)), "")
		defer obj.Close()
		if _, err := obj.Image(context.Background()); err != nil {
			t.Fatal(err)
		}
		wantCode(t, snapshotOf(t, "0").Apply(context.Background(), obj), 400, CodeInvalidArgument)
	})
}

// The plan's deadline kills ffmpeg's whole process group: an origin that
// never answers does not keep it (or anything it started) alive.
func TestSnapshotTimeoutKillsFFmpeg(t *testing.T) {
	reftest.Tool(t, "ffmpeg")
	stall := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer stall.Close()
	token := fmt.Sprintf("/stall-%d.mp4", time.Now().UnixNano())
	obj := NewObject(&Request{Key: "v.mp4", Header: http.Header{}}, bytes.NewReader(nil), 0, http.Header{}, DefaultLimits())
	obj.Fetcher = stallFetcher{url: stall.URL + token}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := snapshotOf(t, "1s").Apply(ctx, obj)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want the deadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("returned %v after the deadline", d)
	}
	// No process still has the URL on its command line.
	if pids := processesWith(token); len(pids) > 0 {
		t.Errorf("ffmpeg still running: %v", pids)
	}
}

type stallFetcher struct{ url string }

func (s stallFetcher) Fetch(context.Context, string, int64) ([]byte, error) {
	return nil, errors.New("no")
}
func (s stallFetcher) URL(context.Context, string) (string, error) { return s.url, nil }

// processesWith lists the processes whose command line contains s.
func processesWith(s string) []string {
	entries, _ := os.ReadDir("/proc")
	var pids []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(s)) && !bytes.Contains(b, []byte("snapshot_test")) {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

func TestVideoTime(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"1s": time.Second, "1500ms": 1500 * time.Millisecond, "2m3s": 123 * time.Second, "1500": 1500 * time.Millisecond,
		"0": 0, "1.5s": 1500 * time.Millisecond, " 250 ": 250 * time.Millisecond,
	} {
		var v VideoTime
		if err := v.UnmarshalText([]byte(in)); err != nil || time.Duration(v) != want {
			t.Errorf("%q: %v, %v; want %v", in, time.Duration(v), err, want)
		}
	}
	for _, in := range []string{"", "-1s", "1 s", "soon", "1e9", "1s;rm -rf /"} {
		var v VideoTime
		if err := v.UnmarshalText([]byte(in)); err == nil {
			t.Errorf("%q parsed as %v", in, time.Duration(v))
		}
	}
}
