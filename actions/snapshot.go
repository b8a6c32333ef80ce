package actions

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/opaprules/opaprules/internal/imageio"
)

func init() {
	Register(Definition{
		Name:    "snapshot",
		Summary: "Take one frame of a video, at a time, as the image the rest of the plan works on (OSS's video/snapshot).",
		Doc: "The frame comes from an `ffmpeg` binary: `OPAPRULES_FFMPEG`, else the first `ffmpeg` on " +
			"PATH (on Function Compute, the official FFmpeg layer: see [sources.md](sources.md)). " +
			"ffmpeg reads the original through a URL with HTTP Range requests, so a frame at 1 s of " +
			"a 1 GB video reads only the few megabytes around it, never the whole object; what it " +
			"reads shows in the log line's `bytes_in`. The frame is the first image of the plan: " +
			"resize, watermark, convert and the rest follow it, and without a `format` or a later " +
			"convert it goes out as JPEG.\n\n" +
			"`at` is a duration (`1s`, `1500ms`, `2m3s`) or a number of milliseconds (OSS's `t_`), " +
			"from a template too (`\"${ query.t }\"`). `mode: accurate` (the default) decodes up to " +
			"the exact frame; `fast` takes the keyframe at or before `at` (OSS's `m_fast`), " +
			"quicker on long GOPs. `width` and `height` scale the frame; with only one, the other " +
			"keeps the aspect ratio. Rotation metadata and non-square pixels are applied.\n\n" +
			"Bounded: ffmpeg runs in its own process group, without a shell, its arguments a list; " +
			"the plan's `timeout` kills the group. Only common video containers are opened (no " +
			"playlists, which could make ffmpeg fetch other URLs), only over the loopback HTTP URL. " +
			"Errors: not a video, or no video stream: 400 `InvalidVideo`; nothing at `at` (past " +
			"the end): 400 `SnapshotOutOfRange`; no ffmpeg: 503 `ServiceUnavailable` saying what to " +
			"install.",
		Class: Transform,
		New:   func() Action { return &Snapshot{Mode: "accurate"} },
	})
}

// Snapshot replaces a video with one of its frames.
type Snapshot struct {
	At     VideoTime `yaml:"at" required:"true" doc:"when: a duration (1s, 1500ms, 2m3s) or milliseconds"`
	Width  int       `yaml:"width" min:"0" max:"65535" doc:"scale the frame to this width; 0 or absent follows from height"`
	Height int       `yaml:"height" min:"0" max:"65535" doc:"scale the frame to this height; 0 or absent follows from width"`
	Mode   string    `yaml:"mode" enum:"accurate,fast" doc:"accurate (default): the frame at that time; fast: the keyframe at or before it"`
	Format string    `yaml:"format" enum:"jpeg,png,webp" doc:"output format, unless a later convert says otherwise (default jpeg)"`
}

// EnvFFmpeg names the ffmpeg binary snapshot runs; without it, the first
// ffmpeg on PATH.
const EnvFFmpeg = "OPAPRULES_FFMPEG"

// snapshotFormats are the demuxers ffmpeg may use on an original: the
// common video containers. Playlists (hls, concat, ...) are not among
// them: they would have ffmpeg fetch URLs the object names.
const snapshotFormats = "mov,mp4,matroska,webm,avi,flv,mpegts,mpeg,ogg,asf,gif,h264,hevc,mpegvideo,m4v"

// Apply runs ffmpeg on the original and keeps the frame it writes.
func (s *Snapshot) Apply(ctx context.Context, obj *Object) error {
	if obj.img != nil && obj.img.img != nil {
		return InvalidArgument("snapshot takes a frame of the original video: make it the plan's first image action")
	}
	if s.Width > 0 || s.Height > 0 {
		if err := obj.checkOutputSize(s.Width, s.Height); err != nil {
			return err
		}
	}
	ffmpeg, err := findFFmpeg()
	if err != nil {
		return err
	}
	uf, ok := obj.Fetcher.(URLFetcher)
	if !ok {
		return errors.New("snapshot: this front door gives no URL for the original")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	src, err := uf.URL(ctx, "")
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	frame, err := s.run(ctx, obj, ffmpeg, src)
	if err != nil {
		return err
	}
	st := obj.imageState()
	b := frame.Bounds()
	// The frame is the plan's source from here on: no format to keep, no
	// metadata to carry.
	st.img = &Image{Frames: []Frame{{Image: frame}}, Orientation: 1}
	st.cfg = imageio.Config{Width: b.Dx(), Height: b.Dy(), Frames: 1, Orientation: 1}
	st.changed = true
	if s.Format != "" {
		st.out.Format = s.Format
	}
	return nil
}

func findFFmpeg() (string, error) {
	if p := os.Getenv(EnvFFmpeg); p != "" {
		if st, err := os.Stat(p); err != nil || st.IsDir() {
			return "", &Error{Status: http.StatusServiceUnavailable, Code: CodeServiceUnavailable,
				Message: fmt.Sprintf("snapshot needs ffmpeg: %s=%s is not a file", EnvFFmpeg, p), Cause: err}
		}
		return p, nil
	}
	p, err := exec.LookPath("ffmpeg")
	if err != nil {
		return "", &Error{Status: http.StatusServiceUnavailable, Code: CodeServiceUnavailable,
			Message: "snapshot needs ffmpeg, which this function does not have: attach Function Compute's " +
				"official FFmpeg layer (docs/sources.md), or set " + EnvFFmpeg + " to an ffmpeg binary",
			Cause: err}
	}
	return p, nil
}

// args is ffmpeg's command line: one frame of the first video stream,
// scaled, as a binary PPM on standard output.
func (s *Snapshot) args(src string) []string {
	args := []string{"-hide_banner", "-nostdin", "-nostats", "-loglevel", "error",
		"-protocol_whitelist", "http,tcp", "-format_whitelist", snapshotFormats}
	fast := s.Mode == "fast"
	if fast {
		// Decode keyframes only, and keep the one the seek lands on
		// rather than the frames after it up to the time asked for.
		args = append(args, "-skip_frame", "nokey", "-noaccurate_seek")
	}
	if at := time.Duration(s.At); at > 0 {
		args = append(args, "-ss", strconv.FormatFloat(at.Seconds(), 'f', 3, 64))
	}
	// Square pixels first (sar is 1 when the stream says nothing), then
	// the size asked for; ffmpeg applies rotation metadata before both.
	filter := "scale=iw*sar:ih"
	if s.Width > 0 || s.Height > 0 {
		w, h := s.Width, s.Height
		if w == 0 {
			w = -1
		}
		if h == 0 {
			h = -1
		}
		filter += fmt.Sprintf(",scale=%d:%d:flags=lanczos", w, h)
	}
	filter += ",setsar=1,format=rgb24"
	args = append(args, "-i", src, "-map", "0:v:0", "-frames:v", "1", "-an", "-sn", "-dn", "-vf", filter)
	if fast {
		// Without it, frames before the seek point (the keyframe) are
		// dropped on output. -vsync: every ffmpeg from 4 to 7 takes it.
		args = append(args, "-vsync", "passthrough")
	}
	return append(args, "-f", "image2pipe", "-c:v", "ppm", "pipe:1")
}

func (s *Snapshot) run(ctx context.Context, obj *Object, ffmpeg, src string) (*image.NRGBA, error) {
	cmd := exec.CommandContext(ctx, ffmpeg, s.args(src)...)
	inProcessGroup(cmd)
	cmd.WaitDelay = 2 * time.Second
	var stderr tailBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("snapshot: starting %s: %w", ffmpeg, err)
	}
	frame, readErr := readFrame(ctx, obj, bufio.NewReaderSize(stdout, 1<<16))
	if readErr != nil {
		// Refused (limits) or broken: stop ffmpeg rather than wait for it.
		_ = killProcessGroup(cmd)
	}
	_, _ = io.Copy(io.Discard, stdout)
	waitErr := cmd.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if waitErr != nil && readErr == nil || frame == nil && waitErr != nil {
		return nil, s.ffmpegError(waitErr, stderr.String())
	}
	if e, ok := AsError(readErr); ok {
		return nil, e
	}
	if frame == nil {
		if errors.Is(readErr, io.EOF) {
			return nil, Errorf(http.StatusBadRequest, CodeSnapshotOutOfRange,
				"the video has no frame at %s (it is shorter)", s.At)
		}
		return nil, fmt.Errorf("snapshot: reading ffmpeg's frame: %w (%s)", readErr, stderr.String())
	}
	return frame, nil
}

// ffmpegError turns a failed run into what the client should hear.
func (s *Snapshot) ffmpegError(err error, stderr string) error {
	switch {
	case strings.Contains(stderr, "matches no streams"):
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidVideo, Message: "the object has no video stream", Cause: err}
	case strings.Contains(stderr, "Invalid data found when processing input"),
		strings.Contains(stderr, "not on whitelist"),
		strings.Contains(stderr, "moov atom not found"),
		strings.Contains(stderr, "could not find codec parameters"),
		strings.Contains(stderr, "Invalid argument"):
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidVideo,
			Message: "the object is not a video in a format snapshot reads (" + strings.ReplaceAll(snapshotFormats, ",", ", ") + ")",
			Cause:   fmt.Errorf("%w: %s", err, stderr)}
	case strings.Contains(stderr, "Server returned"), strings.Contains(stderr, "Connection refused"):
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeServiceUnavailable,
			Message: "the original could not be read; retry later", Cause: fmt.Errorf("%w: %s", err, stderr)}
	}
	return fmt.Errorf("snapshot: ffmpeg: %w: %s", err, stderr)
}

// readFrame reads the binary PPM (P6, 8 bits) ffmpeg writes, checking its
// size against the limits before allocating its pixels. io.EOF: ffmpeg
// wrote nothing.
func readFrame(ctx context.Context, obj *Object, r *bufio.Reader) (*image.NRGBA, error) {
	var fields [4]string
	for i := range fields {
		tok, err := ppmToken(r)
		if err != nil {
			if i == 0 && errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("ppm header: %w", err)
		}
		fields[i] = tok
	}
	w, errW := strconv.Atoi(fields[1])
	h, errH := strconv.Atoi(fields[2])
	if fields[0] != "P6" || fields[3] != "255" || errW != nil || errH != nil || w <= 0 || h <= 0 || w > 1<<16 || h > 1<<16 {
		return nil, fmt.Errorf("not an 8-bit binary PPM: %q", fields)
	}
	px := int64(w) * int64(h)
	if l := obj.Limits; l.MaxSourcePixels > 0 && px > int64(l.MaxSourcePixels) {
		return nil, Errorf(http.StatusBadRequest, CodeImageTooLarge,
			"the video's frame is %d×%d, %d pixels, over the limit of %d (max_source_pixels)", w, h, px, l.MaxSourcePixels)
	}
	if err := obj.checkOutputSize(w, h); err != nil {
		return nil, err
	}
	release, err := acquireImageMemory(ctx, int64(obj.Limits.MemoryBudget), px*8)
	if err != nil {
		return nil, err
	}
	obj.OnClose(release)
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	row := make([]byte, 3*w)
	for y := range h {
		if _, err := io.ReadFull(r, row); err != nil {
			return nil, fmt.Errorf("ppm pixels, row %d: %w", y, err)
		}
		p := m.Pix[y*m.Stride:]
		for x := range w {
			p[4*x], p[4*x+1], p[4*x+2], p[4*x+3] = row[3*x], row[3*x+1], row[3*x+2], 255
		}
	}
	return m, nil
}

// ppmToken reads one whitespace-separated header field; the single
// whitespace byte after the last one (before the pixels) goes with it.
func ppmToken(r *bufio.Reader) (string, error) {
	var tok []byte
	for {
		c, err := r.ReadByte()
		if err != nil {
			if err == io.EOF && len(tok) == 0 {
				return "", io.EOF
			}
			return "", io.ErrUnexpectedEOF
		}
		switch {
		case c == '#' && len(tok) == 0:
			if _, err := r.ReadString('\n'); err != nil {
				return "", io.ErrUnexpectedEOF
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if len(tok) > 0 {
				return string(tok), nil
			}
		default:
			if tok = append(tok, c); len(tok) > 16 {
				return "", errors.New("header field too long")
			}
		}
	}
}

// tailBuffer keeps the last 4 KiB written: ffmpeg's last words.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 4<<10 {
		t.b = append(t.b[:0], t.b[len(t.b)-4<<10:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(bytes.TrimSpace(t.b)) }

// VideoTime is a point in a video: a Go duration ("1s", "1500ms",
// "2m3s") or a number of milliseconds, as OSS's t_ counts.
type VideoTime time.Duration

var videoTimePattern = regexp.MustCompile(`^\s*([0-9]+(\.[0-9]+)?|([0-9]+(\.[0-9]+)?(ms|s|m|h))+)\s*$`)

// UnmarshalText parses "1s", "1500ms", "2m3s" or "1500".
func (v *VideoTime) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	if !videoTimePattern.MatchString(s) {
		return fmt.Errorf("%q is not a time in the video (want e.g. 1s, 1500ms, 2m3s or a number of milliseconds)", s)
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f > float64(math.MaxInt64/int64(time.Millisecond)) {
			return fmt.Errorf("%q is too late", s)
		}
		*v = VideoTime(time.Duration(f * float64(time.Millisecond)))
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a time in the video: %v", s, err)
	}
	*v = VideoTime(d)
	return nil
}

func (v VideoTime) String() string { return time.Duration(v).String() }

// MarshalText writes the time as a duration.
func (v VideoTime) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// JSONSchema describes the accepted spellings.
func (*VideoTime) JSONSchema() map[string]any {
	return map[string]any{"anyOf": []any{
		map[string]any{"type": "integer", "minimum": 0},
		map[string]any{"type": "string", "pattern": videoTimePattern.String()},
	}}
}

// ReadsOriginalByURL: ffmpeg reads the video by ranges.
func (s *Snapshot) ReadsOriginalByURL() bool { return true }

// Interface guards (see docs/adding-an-action.md).
var (
	_ Action    = (*Snapshot)(nil)
	_ URLReader = (*Snapshot)(nil)
)
