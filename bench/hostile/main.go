// Command hostile replays the attacks of issue #10 against an `opaprules
// serve` process and watches what they cost it: status and time of each
// answer, the server's peak RSS, its RSS and CPU time after the answer (does
// the work stop?), the bytes it holds in temporary files, and whether its
// event log leaks a credential.
//
//	hostile -bin ./opaprules -scenario gzip-csv     one attack, alone
//	hostile -bin ./opaprules -scenario all          every attack, one after another
//	hostile -bin ./opaprules -mix -n 2000 -c 100    all of them mixed, 100 in flight
//
// A server whose RSS passes -rsscap is killed and reported as such, so an
// unfixed build can be measured without taking the machine down. The work
// folder (-work) keeps the generated objects between runs. bench/hostile.sh
// builds the binary and runs the mixed load.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// rulesYAML is the shipped rules' spirit plus one rule per attack. It only
// uses what every build since 0fa1674 understands, so the same file measures
// a build before and after the fixes.
var rulesYAML = `version: 1
limits:
  timeout: 20s
  memory_budget: 1GiB
rules:
  - name: private-prefix
    when: key startsWith "private/"
    actions:
      - deny: {status: 404, message: "The specified key does not exist."}
  - name: secret-glob
    when: glob("secret/**")
    actions:
      - deny: {status: 403, code: SecretDenied}
  - name: internal-network
    when: key startsWith "internal/" && !cidr(ip, "10.0.0.0/8")
    actions:
      - deny: {status: 403, code: NetworkDenied}
  - name: legacy-thumbnails
    when: glob("thumbs/**")
    actions:
      - redirect: {status: 301, location: "/photos/${ base }?w=320"}
  - name: thumbnails
    when: ext in ["jpg", "jpeg", "png"] && "w" in query
    actions:
      - resize: {width: "${ query.w }", mode: fit, max_width: 2048}
  - name: mask-pii
    when: key startsWith "exports/"
    actions:
      - redact: {detectors: [all], csv_columns: [name]}
  - name: spool-logs
    when: key startsWith "spool/"
    actions:
      - redact: {detectors: [email], style: replace, replace: "[email removed]"}
`

// A scenario is one kind of request and what a hardened server answers.
type scenario struct {
	name    string
	finding string
	method  string
	path    string
	header  map[string]string
	// want checks the answer; it returns "" when it is right.
	want func(status int, h http.Header) string
	// weight is its share of the mixed load.
	weight int
}

func statusIs(codes ...int) func(int, http.Header) string {
	return func(s int, _ http.Header) string {
		if slices.Contains(codes, s) {
			return ""
		}
		return fmt.Sprintf("status %d, want %v", s, codes)
	}
}

// secretValue is what the event log must never show.
const secretValue = "aGFja2VyOnN1cGVyc2VjcmV0"

var scenarios = []scenario{
	{name: "thumbnail", finding: "-", method: "GET", path: "/photos/small.jpg?w=200", want: statusIs(200, 503), weight: 30}, // 503: timed out waiting for the memory budget under overload
	{name: "passthrough", finding: "-", method: "GET", path: "/docs/readme.txt", want: statusIs(200), weight: 20},
	{name: "glob-newline", finding: "1", method: "GET", path: "/secret/a%0Ab.txt", want: statusIs(403), weight: 5},
	{name: "glob-plain", finding: "1", method: "GET", path: "/secret/ab.txt", want: statusIs(403), weight: 2},
	{name: "gzip-csv", finding: "2", method: "GET", path: "/exports/bomb.csv", want: statusIs(400), weight: 3},
	// 4 MB of gzip that unpacks to 4 GiB: single runs only.
	{name: "gzip-csv-4g", finding: "2", method: "GET", path: "/exports/bomb4g.csv", want: statusIs(400), weight: 0},
	{name: "xff-spoof", finding: "3", method: "GET", path: "/internal/report.txt", header: map[string]string{"X-Forwarded-For": "10.0.0.1"}, want: statusIs(403), weight: 4},
	{name: "xff-appended", finding: "3", method: "GET", path: "/internal/report.txt", header: map[string]string{"X-Forwarded-For": "10.0.0.1, 203.0.113.9"}, want: statusIs(403), weight: 3},
	{name: "x-real-ip", finding: "3", method: "GET", path: "/internal/report.txt", header: map[string]string{"X-Real-Ip": "10.0.0.1"}, want: statusIs(403), weight: 2},
	// HEAD goes to the supporting access point, as on OSS: documented, not refused.
	{name: "head-private", finding: "4", method: "HEAD", path: "/private/payroll.txt", want: statusIs(200), weight: 2},
	{name: "progressive-8000x6000", finding: "6", method: "GET", path: "/photos/prog-8000x6000.jpg?w=2000", want: statusIs(200, 503), weight: 3},
	{name: "log-leak", finding: "7", method: "GET", path: "/docs/readme.txt?sig=" + secretValue, header: map[string]string{"Proxy-Authorization": "Basic " + secretValue, "X-Api-Key": secretValue}, want: statusIs(200), weight: 3},
	{name: "fifo-get", finding: "8", method: "GET", path: "/fifo/pipe.txt", want: statusIs(404, 403), weight: 2},
	{name: "fifo-head", finding: "8", method: "HEAD", path: "/fifo/pipe.txt", want: statusIs(404, 403), weight: 2},
	{name: "fifo-sidecar", finding: "8", method: "GET", path: "/fifo/side.txt", want: statusIs(500, 503), weight: 1}, // the origin's 500 as the handler reports it
	{name: "redirect-escape", finding: "10", method: "GET", path: "/thumbs/a%20b%3Fx%23y%E2%80%AE.jpg", want: func(s int, h http.Header) string {
		if s != 301 {
			return fmt.Sprintf("status %d, want 301", s)
		}
		if loc, want := h.Get("Location"), "/photos/a%20b%3Fx%23y%E2%80%AE.jpg?w=320"; loc != want {
			return fmt.Sprintf("Location %q, want %q", loc, want)
		}
		return ""
	}, weight: 3},
	{name: "spool-log", finding: "11", method: "GET", path: "/spool/big.log", want: statusIs(200, 400, 503), weight: 6},
}

func main() {
	bin := flag.String("bin", "", "opaprules binary to test (required)")
	work := flag.String("work", filepath.Join(os.TempDir(), "opaprules-hostile"), "folder for generated objects (kept between runs)")
	only := flag.String("scenario", "", "run one scenario alone (or all, one after another)")
	mix := flag.Bool("mix", false, "run the mixed hostile load")
	n := flag.Int("n", 2000, "requests of the mixed load")
	c := flag.Int("c", 100, "requests in flight in the mixed load")
	rssCap := flag.Int64("rsscap", 4<<30, "kill the server when its RSS passes this many bytes")
	reqTimeout := flag.Duration("timeout", 90*time.Second, "client timeout per request")
	after := flag.Duration("after", 3*time.Second, "how long to watch the server after a single attack's answer")
	cli := flag.Bool("cli", false, "run the CLI file-reading attacks (finding 5)")
	idle := flag.Bool("idle", false, "measure how long serve keeps an idle keep-alive connection (finding 9)")
	seed := flag.Uint64("seed", 1, "seed of the mixed load's order")
	mixOf := flag.String("mixof", "", "scenario weights for -mix instead of the built-in ones: name=weight,name=weight")
	budget := flag.String("memory-budget", "1GiB", "limits.memory_budget of the rules serve runs")
	rssBound := flag.Int64("rss-bound", 0, "with -mix, fail when the peak RSS passes the idle RSS by more than this many bytes (0: no check)")
	flag.Parse()
	rulesYAML = strings.Replace(rulesYAML, "memory_budget: 1GiB", "memory_budget: "+*budget, 1)
	if *mixOf != "" {
		for i := range scenarios {
			scenarios[i].weight = 0
		}
		for _, kv := range strings.Split(*mixOf, ",") {
			name, w, _ := strings.Cut(kv, "=")
			n, err := strconv.Atoi(w)
			found := false
			for i := range scenarios {
				if scenarios[i].name == name {
					scenarios[i].weight, found = n, err == nil
				}
			}
			if !found {
				fatal(fmt.Errorf("-mixof: %q is not name=weight of a known scenario", kv))
			}
		}
	}
	if *bin == "" {
		flag.Usage()
		os.Exit(2)
	}
	// /proc/PID/fd links are absolute: so must the folders be.
	if abs, err := filepath.Abs(*work); err == nil {
		*work = abs
	}
	if abs, err := filepath.Abs(*bin); err == nil {
		*bin = abs
	}
	if err := prepare(*work); err != nil {
		fatal(err)
	}
	switch {
	case *cli:
		runCLI(*bin, *work, *rssCap)
	case *idle:
		runIdle(*bin, *work, *rssCap)
	case *mix:
		runMix(*bin, *work, *n, *c, *rssCap, *reqTimeout, *seed, *rssBound)
	case *only != "":
		for _, sc := range scenarios {
			if *only == "all" || sc.name == *only {
				runOne(*bin, *work, sc, *rssCap, *reqTimeout, *after)
			}
		}
	default:
		flag.Usage()
		os.Exit(2)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "hostile:", err)
	os.Exit(1)
}

// prepare writes the origin folder, once.
func prepare(work string) error {
	origin := filepath.Join(work, "origin")
	if err := writeFile(filepath.Join(work, "rules.yaml"), []byte(rulesYAML)); err != nil {
		return err
	}
	stamp := filepath.Join(work, "ready-v2")
	if _, err := os.Stat(stamp); err == nil {
		return nil
	}
	os.RemoveAll(origin)
	files := map[string]string{
		"secret/a\nb.txt":     "SECRET a-newline-b\n",
		"secret/ab.txt":       "SECRET ab\n",
		"internal/report.txt": "internal numbers\n",
		"private/payroll.txt": "alice 100\n",
		"docs/readme.txt":     "hello\n",
		"fifo/side.txt":       "a file whose sidecar is a FIFO\n",
	}
	for name, body := range files {
		if err := writeFile(filepath.Join(origin, name), []byte(body)); err != nil {
			return err
		}
	}
	for _, p := range []string{"fifo/pipe.txt", "fifo/side.txt.ossmeta.json"} {
		if err := syscall.Mkfifo(filepath.Join(origin, p), 0o644); err != nil {
			return err
		}
	}
	// 1 GiB (and 4 GiB) of CSV on one line, gzip-compressed to about 1 MB
	// (4 MB).
	fmt.Fprintln(os.Stderr, "hostile: generating the gzip CSV bombs…")
	for name, gib := range map[string]int{"exports/bomb.csv": 1, "exports/bomb4g.csv": 4} {
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		io.WriteString(zw, "name,note\nalice,")
		chunk := bytes.Repeat([]byte{'a'}, 1<<20)
		for range 1024 * gib {
			zw.Write(chunk)
		}
		zw.Close()
		if err := writeFile(filepath.Join(origin, name), gz.Bytes()); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(origin, name+".ossmeta.json"), []byte(`{"Content-Type":"text/csv","Content-Encoding":"gzip"}`)); err != nil {
			return err
		}
	}
	// 48 MiB of log lines with an address each: a length-changing
	// redaction spools all of it.
	var log bytes.Buffer
	for i := 0; log.Len() < 48<<20; i++ {
		fmt.Fprintf(&log, "%08d user%d@example.com fetched /photos/%d.jpg in 12 ms\n", i, i%9973, i%1000)
	}
	if err := writeFile(filepath.Join(origin, "spool/big.log"), log.Bytes()); err != nil {
		return err
	}
	// A small photo for the ordinary traffic, and an 8000×6000 progressive
	// 4:4:4 JPEG of noise: the decoder keeps every coefficient until the
	// last scan.
	if err := makeJPEG(filepath.Join(origin, "photos/small.jpg"), 1200, 800, false); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "hostile: generating the 8000×6000 progressive JPEG (cjpeg)…")
	if err := makeJPEG(filepath.Join(origin, "photos/prog-8000x6000.jpg"), 8000, 6000, true); err != nil {
		return err
	}
	return os.WriteFile(stamp, nil, 0o644)
}

func writeFile(name string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return os.WriteFile(name, b, 0o644)
}

// makeJPEG encodes a w×h noisy gradient with cjpeg (libjpeg-turbo-progs).
func makeJPEG(name string, w, h int, progressive bool) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	args := []string{"-quality", "90", "-outfile", name}
	if progressive {
		args = append(args, "-progressive", "-sample", "1x1")
	}
	cmd := exec.Command("cjpeg", args...)
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cjpeg (apt-get install libjpeg-turbo-progs): %w", err)
	}
	bw := bufio.NewWriterSize(in, 1<<20)
	fmt.Fprintf(bw, "P6\n%d %d\n255\n", w, h)
	r := rand.New(rand.NewPCG(1, 2))
	row := make([]byte, 3*w)
	for y := range h {
		for x := range w {
			n := byte(r.IntN(48))
			row[3*x] = byte(x*200/w) + n
			row[3*x+1] = byte(y*200/h) + n
			row[3*x+2] = byte((x+y)*100/(w+h)) + n
		}
		bw.Write(row)
	}
	bw.Flush()
	in.Close()
	return cmd.Wait()
}

// server is a running `opaprules serve`.
type server struct {
	cmd     *exec.Cmd
	base    string
	logPath string
	tmp     string
	watch   *watcher
}

var addrRE = regexp.MustCompile(`on http://([0-9.]+:[0-9]+)`)

func startServer(bin, work string, rssCap int64) (*server, error) {
	tmp := filepath.Join(work, "tmp")
	os.RemoveAll(tmp)
	os.MkdirAll(tmp, 0o755)
	logPath := filepath.Join(work, "serve.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "--rules", filepath.Join(work, "rules.yaml"),
		"--origin", filepath.Join(work, "origin"), "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "OPAPRULES_LOG_EVENT=1", "TMPDIR="+tmp)
	pr, pw := io.Pipe()
	cmd.Stderr = io.MultiWriter(logf, pw)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		sent := false
		for sc.Scan() {
			if m := addrRE.FindStringSubmatch(sc.Text()); m != nil && !sent {
				addr <- m[1]
				sent = true
			}
		}
	}()
	s := &server{cmd: cmd, logPath: logPath, tmp: tmp}
	select {
	case a := <-addr:
		s.base = "http://" + a
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		b, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("serve did not start: %s", b)
	}
	s.watch = watch(cmd.Process.Pid, rssCap, tmp)
	return s, nil
}

func (s *server) stop() {
	s.watch.stop()
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

// leaked reports whether the event log shows the secret.
func (s *server) leaked() bool {
	b, _ := os.ReadFile(s.logPath)
	return bytes.Contains(b, []byte(secretValue))
}

// watcher samples the server's RSS, CPU time and spool bytes.
type watcher struct {
	pid     int
	mu      sync.Mutex
	peakRSS int64
	peakTmp int64
	killed  atomic.Bool
	done    chan struct{}
	wg      sync.WaitGroup
}

func watch(pid int, rssCap int64, tmp string) *watcher {
	w := &watcher{pid: pid, done: make(chan struct{})}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-t.C:
			}
			rss := rssOf(pid)
			spool := spoolBytes(pid, tmp)
			w.mu.Lock()
			w.peakRSS = max(w.peakRSS, rss)
			w.peakTmp = max(w.peakTmp, spool)
			w.mu.Unlock()
			if rss > rssCap && !w.killed.Load() {
				w.killed.Store(true)
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}()
	return w
}

func (w *watcher) stop() { close(w.done); w.wg.Wait() }

func (w *watcher) peaks() (rss, tmp int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return max(w.peakRSS, hwmOf(w.pid)), w.peakTmp
}

func procField(pid int, name string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, name+":"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

func rssOf(pid int) int64 { return procField(pid, "VmRSS") }
func hwmOf(pid int) int64 { return procField(pid, "VmHWM") }

// cpuOf is the process's user+system CPU time.
func cpuOf(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+k) * time.Second / 100 // USER_HZ
}

// spoolBytes sums the sizes of the files under tmp the process holds
// open, deleted ones included.
func spoolBytes(pid int, tmp string) int64 {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var total int64
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil || !strings.HasPrefix(target, tmp) {
			continue
		}
		if st, err := os.Stat(filepath.Join(dir, e.Name())); err == nil && st.Mode().IsRegular() {
			total += st.Size()
		}
	}
	return total
}

type result struct {
	sc      *scenario
	status  int
	header  http.Header
	elapsed time.Duration
	err     error
}

func newClient(timeout time.Duration) *http.Client {
	t := &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}
	return &http.Client{Transport: t, Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func do(ctx context.Context, c *http.Client, base string, sc *scenario) result {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, sc.method, base+sc.path, nil)
	if err != nil {
		return result{sc: sc, err: err}
	}
	for k, v := range sc.header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return result{sc: sc, err: err, elapsed: time.Since(start)}
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return result{sc: sc, status: resp.StatusCode, header: resp.Header, elapsed: time.Since(start)}
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// runOne runs one attack against a fresh server and watches it for a
// while after the answer: RSS and CPU still climbing mean the work did not
// stop.
func runOne(bin, work string, sc scenario, rssCap int64, timeout, after time.Duration) {
	s, err := startServer(bin, work, rssCap)
	if err != nil {
		fatal(err)
	}
	defer s.stop()
	pid := s.cmd.Process.Pid
	idle := rssOf(pid)
	r := do(context.Background(), newClient(timeout), s.base, &sc)
	rssAt, cpuAt := rssOf(pid), cpuOf(pid)
	time.Sleep(after)
	rssAfter, cpuAfter := rssOf(pid), cpuOf(pid)
	peak, tmp := s.watch.peaks()
	verdict := "ok"
	switch {
	case s.watch.killed.Load():
		verdict = "KILLED at RSS cap " + mib(rssCap)
	case r.err != nil:
		verdict = "no answer: " + r.err.Error()
	default:
		if why := sc.want(r.status, r.header); why != "" {
			verdict = "WRONG: " + why
		}
	}
	if sc.name == "log-leak" && s.leaked() {
		verdict = "WRONG: the event log shows the credential"
	}
	fmt.Printf("%-22s finding %-3s status %3d in %7.2fs | RSS idle %s peak %s at-answer %s +%v %s | CPU after answer %.2fs | spool peak %s | %s\n",
		sc.name, sc.finding, r.status, r.elapsed.Seconds(), mib(idle), mib(peak), mib(rssAt), after, mib(rssAfter),
		(cpuAfter - cpuAt).Seconds(), mib(tmp), verdict)
}

// runMix sends n requests, c in flight, in a seeded random order of the
// scenarios by weight, and checks that the server stayed up, answered each
// request and kept its RSS bounded.
func runMix(bin, work string, n, c int, rssCap int64, timeout time.Duration, seed uint64, rssBound int64) {
	s, err := startServer(bin, work, rssCap)
	if err != nil {
		fatal(err)
	}
	pid := s.cmd.Process.Pid
	idle := rssOf(pid)
	var deck []*scenario
	for i := range scenarios {
		for range scenarios[i].weight {
			deck = append(deck, &scenarios[i])
		}
	}
	r := rand.New(rand.NewPCG(seed, 99))
	jobs := make(chan *scenario)
	results := make(chan result, n)
	client := newClient(timeout)
	start := time.Now()
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sc := range jobs {
				results <- do(context.Background(), client, s.base, sc)
			}
		}()
	}
	for range n {
		jobs <- deck[r.IntN(len(deck))]
	}
	close(jobs)
	wg.Wait()
	close(results)
	wall := time.Since(start)
	alive := s.cmd.ProcessState == nil && syscall.Kill(pid, 0) == nil && !s.watch.killed.Load()
	// One more request proves the server still answers.
	if alive {
		if rr := do(context.Background(), newClient(10*time.Second), s.base, &scenarios[1]); rr.err != nil || rr.status != 200 {
			alive = false
		}
	}
	rssEnd := rssOf(pid)
	peak, tmp := s.watch.peaks()
	leak := s.leaked()
	s.stop()

	type agg struct {
		count, answered, wrong int
		statuses               map[int]int
		times                  []time.Duration
		example                string
	}
	byName := map[string]*agg{}
	total, answered, wrong := 0, 0, 0
	for res := range results {
		a := byName[res.sc.name]
		if a == nil {
			a = &agg{statuses: map[int]int{}}
			byName[res.sc.name] = a
		}
		a.count++
		total++
		if res.err != nil {
			if a.example == "" {
				a.example = res.err.Error()
			}
			continue
		}
		a.answered++
		answered++
		a.statuses[res.status]++
		a.times = append(a.times, res.elapsed)
		if why := res.sc.want(res.status, res.header); why != "" {
			a.wrong++
			wrong++
			if a.example == "" {
				a.example = why
			}
		}
	}
	fmt.Printf("mixed hostile load: %d requests, %d in flight, seed %d, %s\n", n, c, seed, bin)
	fmt.Printf("%-22s %-7s %5s %8s %6s %9s %9s  %s\n", "scenario", "finding", "sent", "answered", "wrong", "p50", "max", "statuses / first problem")
	names := make([]string, 0, len(byName))
	for k := range byName {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		a := byName[name]
		var sc *scenario
		for i := range scenarios {
			if scenarios[i].name == name {
				sc = &scenarios[i]
			}
		}
		slices.Sort(a.times)
		p50, mx := time.Duration(0), time.Duration(0)
		if len(a.times) > 0 {
			p50, mx = a.times[len(a.times)/2], a.times[len(a.times)-1]
		}
		var st []string
		for code, k := range a.statuses {
			st = append(st, fmt.Sprintf("%d×%d", code, k))
		}
		sort.Strings(st)
		fmt.Printf("%-22s %-7s %5d %8d %6d %8.2fs %8.2fs  %s %s\n", name, sc.finding, a.count, a.answered, a.wrong,
			p50.Seconds(), mx.Seconds(), strings.Join(st, " "), a.example)
	}
	fmt.Printf("total: %d sent, %d answered, %d wrong answers; wall %.1fs\n", total, answered, wrong, wall.Seconds())
	fmt.Printf("server: alive after the load: %v; RSS idle %s, peak %s, end %s; spool peak %s; event log leaks a credential: %v\n",
		alive, mib(idle), mib(peak), mib(rssEnd), mib(tmp), leak)
	if s.watch.killed.Load() {
		fmt.Printf("server: KILLED when its RSS passed %s\n", mib(rssCap))
	}
	failed := !alive || answered != total || s.watch.killed.Load()
	if rssBound > 0 {
		verdict := "within"
		if peak-idle > rssBound {
			verdict, failed = "OVER", true
		}
		fmt.Printf("peak RSS over idle: %s, %s the bound of %s\n", mib(peak-idle), verdict, mib(rssBound))
	}
	if failed {
		os.Exit(1)
	}
}

// runCLI reads hostile files through the CLI (finding 5): each command
// runs at most 10 s, and its peak RSS and exit are reported.
func runCLI(bin, work string, rssCap int64) {
	big := filepath.Join(work, "sparse-1GiB.yaml")
	if f, err := os.Create(big); err == nil {
		f.Truncate(1 << 30)
		f.Close()
	}
	fifo := filepath.Join(work, "rules.fifo")
	os.Remove(fifo)
	syscall.Mkfifo(fifo, 0o644)
	cases := [][]string{
		{"validate", "/dev/zero"},
		{"serve", "--rules", "/dev/zero", "--addr", "127.0.0.1:0"},
		{"dry-run", "--rules", "/dev/zero", "docs/readme.txt"},
		{"serve", "--rules", big, "--addr", "127.0.0.1:0"},
		{"dry-run", "--rules", big, "docs/readme.txt"},
		{"serve", "--rules", fifo, "--addr", "127.0.0.1:0"},
		{"test", fifo},
	}
	for _, args := range cases {
		cmd := exec.Command(bin, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		if err := cmd.Start(); err != nil {
			fatal(err)
		}
		w := watch(cmd.Process.Pid, rssCap, "/nonexistent")
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		verdict := ""
		select {
		case err := <-done:
			verdict = fmt.Sprintf("exited (%v)", err)
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
			verdict = "still running after 10 s: killed"
		}
		w.stop()
		peak := w.peakRSS
		if cmd.ProcessState != nil {
			peak = max(peak, int64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)<<10) // Maxrss is int32 on 32-bit platforms
		}
		if w.killed.Load() {
			verdict = "KILLED at RSS cap " + mib(rssCap)
		}
		first, _, _ := strings.Cut(strings.TrimSpace(out.String()), "\n")
		if len(first) > 100 {
			first = first[:100] + "…"
		}
		fmt.Printf("%-60s %6.2fs peak RSS %-9s %s | %s\n", strings.Join(args, " "), time.Since(start).Seconds(), mib(peak), verdict, first)
	}
}

// runIdle opens a keep-alive connection, makes one request and waits for
// the server to close it, up to 100 s (finding 9).
func runIdle(bin, work string, rssCap int64) {
	s, err := startServer(bin, work, rssCap)
	if err != nil {
		fatal(err)
	}
	defer s.stop()
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
	if err != nil {
		fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /docs/readme.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	start := time.Now()
	conn.SetReadDeadline(time.Now().Add(100 * time.Second))
	_, err = br.ReadByte()
	fmt.Printf("idle keep-alive connection: %v after %.1fs\n", errText(err), time.Since(start).Seconds())

	// A client that sends half a header line and stops.
	conn2, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
	if err != nil {
		fatal(err)
	}
	defer conn2.Close()
	fmt.Fprintf(conn2, "GET /docs/readme.txt HTTP/1.1\r\nHost: x\r\nX-Slow: ")
	start = time.Now()
	conn2.SetReadDeadline(time.Now().Add(100 * time.Second))
	_, err = bufio.NewReader(conn2).ReadByte()
	fmt.Printf("half-sent header: %v after %.1fs\n", errText(err), time.Since(start).Seconds())
}

func errText(err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return "server sent data"
	case errors.Is(err, io.EOF):
		return "closed by the server"
	case errors.As(err, &ne) && ne.Timeout():
		return "STILL OPEN (client gave up)"
	}
	return err.Error()
}
