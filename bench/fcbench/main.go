// Command fcbench measures what instance concurrency buys the custom
// runtime: one `opaprules fc-server` process, driven through the local OSS
// by FC's side of the contract (fcserver/fcemu), with 1, 4 and 16
// GetObjects in flight against an origin that takes a fixed time per read.
// For each level it starts a fresh server and reports throughput and the
// server's peak RSS (VmHWM), both also as ratios to 1 in flight measured
// in the same run.
//
//	fcbench -bin dist/opaprules [-inflight 1,4,16] [-delay 50ms] [-duration 5s] [-cases passthrough,thumbnail]
//
// Cases: passthrough streams a 64 KiB object unchanged (the request is
// almost all waiting on OSS); thumbnail resizes a 1600x1200 JPEG to 200 px
// (CPU and memory per request, bounded by the rules' memory budget).
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opaprules/opaprules/fcserver/fcemu"
	"github.com/opaprules/opaprules/localoss"
)

const rulesYAML = `version: 1
rules:
  - name: thumbnail
    when: key startsWith "photos/"
    actions:
      - resize: {width: 200}
      - convert: {format: jpeg, quality: 80}
`

var benchCases = map[string]string{
	"passthrough": "/objects/blob.bin",
	"thumbnail":   "/photos/photo.jpg",
}

func main() {
	bin := flag.String("bin", "", "the opaprules binary (make build: dist/main)")
	levels := flag.String("inflight", "1,4,16", "invocations in flight, comma-separated; the first is the reference")
	delay := flag.Duration("delay", 50*time.Millisecond, "time the origin takes per read")
	duration := flag.Duration("duration", 5*time.Second, "measuring time per level")
	caseList := flag.String("cases", "passthrough,thumbnail", "cases to run: passthrough, thumbnail")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "fcbench: -bin is required")
		os.Exit(2)
	}
	var ns []int
	for _, s := range strings.Split(*levels, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "fcbench: bad -inflight %q\n", s)
			os.Exit(2)
		}
		ns = append(ns, n)
	}
	work, err := os.MkdirTemp("", "fcbench")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(work)
	if err := writeBucket(work); err != nil {
		fail(err)
	}
	fmt.Printf("fc-server, origin %v per read, %v per level, GOMAXPROCS of the server: its default\n", *delay, *duration)
	for _, c := range strings.Split(*caseList, ",") {
		path, ok := benchCases[c]
		if !ok {
			fail(fmt.Errorf("unknown case %q", c))
		}
		fmt.Printf("\n%s (GET %s)\n", c, path)
		fmt.Printf("  %9s %10s %8s %9s %9s %11s %8s %7s\n", "in flight", "req/s", "ratio", "p50 ms", "p99 ms", "peak RSS MiB", "ratio", "errors")
		var ref result
		for i, n := range ns {
			r, err := run(*bin, work, path, n, *delay, *duration)
			if err != nil {
				fail(err)
			}
			if i == 0 {
				ref = r
			}
			fmt.Printf("  %9d %10.1f %7.2fx %9.1f %9.1f %11.1f %7.2fx %7d\n", n, r.rps, r.rps/ref.rps,
				ms(r.p50), ms(r.p99), float64(r.peakKB)/1024, float64(r.peakKB)/float64(ref.peakKB), r.errors)
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "fcbench:", err)
	os.Exit(1)
}

// writeBucket writes the objects and the rules into dir.
func writeBucket(dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, "bucket", "objects"), 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "bucket", "photos"), 0o755); err != nil {
		return err
	}
	blob := make([]byte, 64<<10)
	for i := range blob {
		blob[i] = byte(i * 7)
	}
	if err := os.WriteFile(filepath.Join(dir, "bucket", "objects", "blob.bin"), blob, 0o644); err != nil {
		return err
	}
	img := image.NewRGBA(image.Rect(0, 0, 1600, 1200))
	for y := range 1200 {
		for x := range 1600 {
			img.Set(x, y, color.RGBA{uint8(x * 255 / 1600), uint8(y * 255 / 1200), uint8((x ^ y) & 0xff), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bucket", "photos", "photo.jpg"), buf.Bytes(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(rulesYAML), 0o644)
}

type result struct {
	rps      float64
	p50, p99 time.Duration
	peakKB   int64
	errors   int64
}

// run measures one level with a fresh server, so its peak RSS is its own.
func run(bin, work, path string, inflight int, delay, duration time.Duration) (result, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	const ak, sk, token = "STS.benchkey", "benchsecret", "CAIS-bench"
	emu := &fcemu.Emulator{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Region: localoss.DefaultRegion, MemoryMB: 1024, Timeout: 60 * time.Second,
		Credentials: func(int64) fcemu.Credentials {
			return fcemu.Credentials{AccessKeyID: ak, AccessKeySecret: sk, SecurityToken: token}
		}}
	oss, err := localoss.New(localoss.Config{
		Dir: filepath.Join(work, "bucket"), AccessKeyID: ak, AccessKeySecret: sk, SecurityToken: token,
		Invoke:        emu.InvokeFunc,
		InvokeTimeout: time.Minute,
		OriginFault: func(method, key string) *localoss.Fault {
			return &localoss.Fault{Delay: delay}
		},
	})
	if err != nil {
		return result{}, err
	}
	defer oss.Close()
	ossSrv := httptest.NewServer(oss)
	defer ossSrv.Close()

	cmd := exec.Command(bin, "fc-server", "--addr", fmt.Sprintf("127.0.0.1:%d", port))
	cmd.Env = append(os.Environ(),
		"OPAPRULES_RULES="+filepath.Join(work, "rules.yaml"),
		"OPAPRULES_BUCKET="+localoss.DefaultBucket,
		"OPAPRULES_ENDPOINT="+ossSrv.URL,
	)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return result{}, err
	}
	var lines atomic.Int64
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines.Add(1)
		}
	}()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			return result{}, fmt.Errorf("fc-server never listened")
		}
	}
	ctx := context.Background()
	if c := emu.Initialize(ctx); c.Failed() {
		return result{}, fmt.Errorf("initialize: %+v", c)
	}

	t := &http.Transport{MaxIdleConnsPerHost: 256}
	client := &http.Client{Transport: t, Timeout: time.Minute}
	get := func() (time.Duration, error) {
		start := time.Now()
		resp, err := client.Get(ossSrv.URL + path)
		if err != nil {
			return 0, err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		return time.Since(start), err
	}
	// Warm up every connection and code path at this level first.
	var wg sync.WaitGroup
	for range inflight {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = get() }()
	}
	wg.Wait()

	var (
		mu        sync.Mutex
		latencies []time.Duration
		errs      atomic.Int64
	)
	stop := time.Now().Add(duration)
	begin := time.Now()
	for range inflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				d, err := get()
				if err != nil {
					errs.Add(1)
					continue
				}
				mu.Lock()
				latencies = append(latencies, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(begin)
	peak, err := vmHWM(cmd.Process.Pid)
	if err != nil {
		return result{}, err
	}
	if len(latencies) == 0 {
		return result{}, fmt.Errorf("no request succeeded (%d errors)", errs.Load())
	}
	slices.Sort(latencies)
	return result{
		rps:    float64(len(latencies)) / elapsed.Seconds(),
		p50:    latencies[len(latencies)/2],
		p99:    latencies[len(latencies)*99/100],
		peakKB: peak,
		errors: errs.Load(),
	}, nil
}

// vmHWM is a process's peak resident set size in KiB.
func vmHWM(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmHWM for pid %d", pid)
}
