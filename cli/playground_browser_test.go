package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/opaprules/opaprules/rules"
)

// findChromium returns the browser to drive. Locally the test skips
// without one; in CI (CI=true, or OPAPRULES_REQUIRE_TOOLS set as .ci/run
// does, which installs Debian's chromium package) a missing browser fails
// it.
func findChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("OPAPRULES_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if requireBrowser() {
		t.Fatal("no Chromium on PATH (set OPAPRULES_CHROMIUM, or install Debian's chromium package as .ci/run does)")
	}
	t.Skip("no Chromium on PATH: install Debian's chromium package to drive the playground in a browser")
	return ""
}

func requireBrowser() bool {
	return os.Getenv("CI") == "true" || os.Getenv("OPAPRULES_REQUIRE_TOOLS") != ""
}

// browser is one headless Chromium tab on the playground.
type browser struct {
	t   *testing.T
	ctx context.Context
	// shots, when set, is where screenshots go (OPAPRULES_SCREENSHOTS).
	shots string

	mu       sync.Mutex
	requests []string
	console  []string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	exe := findChromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 1000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, shots: os.Getenv("OPAPRULES_SCREENSHOTS")}

	// Every request the page makes, and everything it logs: the page must
	// reach nothing but serve, and a script error or a refused asset
	// (the page's policy forbids other origins) fails the test.
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			b.mu.Lock()
			b.requests = append(b.requests, e.Request.URL)
			b.mu.Unlock()
		}
	}); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{})
		return err
	})); err != nil {
		t.Fatal(err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() || m.Type == chromedp.ConsoleWarning {
				b.mu.Lock()
				b.console = append(b.console, m.String())
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// do runs steps with a deadline, failing the test on an error.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.shot("failed")
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval returns the value of a JavaScript expression.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// wait waits until a JavaScript expression is true.
func (b *browser) wait(what, expr string) {
	b.t.Helper()
	b.do(what, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(10*time.Second))(ctx, t)
		return err
	}))
}

// byRole finds elements as assistive technology does: by their role and
// accessible name, computed by the browser.
func byRole(role, name string) chromedp.QueryOption {
	return chromedp.ByFunc(func(ctx context.Context, t *chromedp.Target, n *chromedp.Node) ([]cdp.NodeID, error) {
		res, err := cdp.Call(ctx, t, accessibility.QueryAXTree, accessibility.QueryAXTreeParams{NodeID: n.NodeID, AccessibleName: name, Role: role})
		if err != nil {
			return nil, err
		}
		var ids []cdp.BackendNodeID
		for _, ax := range res.Nodes {
			if !ax.Ignored && ax.BackendDOMNodeID != 0 {
				ids = append(ids, ax.BackendDOMNodeID)
			}
		}
		if len(ids) == 0 {
			return nil, nil // not yet: the query tries again
		}
		pushed, err := cdp.Call(ctx, t, dom.PushNodesByBackendIDsToFrontend, dom.PushNodesByBackendIDsToFrontendParams{BackendNodeIDs: ids})
		return pushed.NodeIDs, err
	})
}

// fill replaces the text of the field with that role and name as a user
// pasting would: focus, select all, insert.
func (b *browser) fill(role, name, text string) {
	b.t.Helper()
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.Focus("", byRole(role, name)),
		chromedp.KeyEvent("a", chromedp.KeyModifiers(kb.ModifierCtrl)),
		chromedp.KeyEvent(kb.Backspace),
	}
	if text != "" {
		steps = append(steps, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, input.InsertText, input.InsertTextParams{Text: text})
			return err
		}))
	}
	b.do("fill "+name, steps...)
}

// shot saves a screenshot of what the window shows when OPAPRULES_SCREENSHOTS
// names a folder.
func (b *browser) shot(name string) {
	if b.shots == "" {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(b.shots, "playground-"+name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Logf("screenshot: %v", err)
	}
	b.t.Logf("screenshot: %s", path)
}

const browserRules = `version: 1
rules:
  - name: private
    when: key startsWith "private/"
    actions:
      - deny: {status: 403, code: Private, message: "not for you"}
  - name: thumbs
    when: ext == "jpg" && "w" in query
    actions:
      - resize: {width: "${ query.w }"}
  - name: modern
    when: ext == "jpg" && accepts("image/webp")
    actions:
      - convert: {format: auto, prefer: [webp]}
`

// The playground in headless Chromium: serve as an operator starts it on
// the bundled samples, the page driven by role and accessible name, as a
// screen reader user or a keyboard would.
func TestPlaygroundInBrowser(t *testing.T) {
	if testing.Short() && !requireBrowser() {
		t.Skip("drives a browser")
	}
	b := newBrowser(t)

	defaults, err := os.ReadFile("../rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	env := &Env{Stdout: io.Discard, Stderr: stderr, DefaultRules: defaults, Samples: os.DirFS("../samples"), Getenv: os.Getenv}
	s, code := setupServe(env, []string{"--addr", "127.0.0.1:0"})
	if s == nil {
		t.Fatalf("serve exited %d: %s", code, stderr.String())
	}
	go func() { _ = s.hs.Serve(s.ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.hs.Shutdown(ctx)
		s.srv.Close()
	})
	// The page's address is in serve's start-up lines.
	m := regexp.MustCompile(`playground: (http://\S+/-/playground) \(embedded rules: nothing to save to\)`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no playground line in serve's start-up lines:\n%s", stderr.String())
	}
	page := m[1]
	origin := strings.TrimSuffix(page, "/-/playground")

	b.do("load the page", chromedp.Navigate(page))
	shipped, err := rules.Load("rules.yaml", defaults)
	if err != nil {
		t.Fatal(err)
	}
	b.wait("serve's rules checked", fmt.Sprintf(`document.getElementById("validity").textContent.includes("valid: %d rules")`, len(shipped.Rules)))
	// The rules are the embedded ones: there is no file to save to, and the
	// page says so.
	if !eval[bool](b, `document.getElementById("save").disabled`) ||
		!strings.Contains(eval[string](b, `document.getElementById("save-note").textContent`), "embedded rules: there is no file to save to") {
		t.Error("Save is offered for the embedded rules")
	}
	b.shot("loaded")

	b.fill("textbox", "Rules", browserRules)
	b.wait("the edited rules checked", `document.getElementById("validity").textContent.includes("valid: 3 rules")`)
	b.fill("combobox", "Request", "photos/landscape.jpg?w=120")
	b.fill("textbox", "Headers", "Accept: image/webp,*/*")
	b.fill("textbox", "Access point", "local")
	// Run from the keyboard, wherever the focus is.
	b.do("run with Ctrl+Enter", chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(kb.ModifierCtrl)))
	b.wait("the result picture", `(() => { const i = document.querySelector("img[alt=Result]"); return i && i.complete && i.naturalWidth > 0 })()`)
	b.shot("picture")

	// The result picture as the browser decoded it: 1600×1067 fit to 120
	// wide; the original beside it, whole.
	for _, c := range []struct {
		alt  string
		w, h int
	}{{"Result", 120, 80}, {"Original", 1600, 1067}} {
		b.wait(c.alt+" loaded", fmt.Sprintf(`document.querySelector("img[alt=%s]").complete`, c.alt))
		b.do("find the picture "+c.alt, chromedp.WaitVisible("", byRole("image", c.alt)))
		size := eval[[]int](b, fmt.Sprintf(`(() => { const i = document.querySelector("img[alt=%s]"); return [i.naturalWidth, i.naturalHeight] })()`, c.alt))
		if len(size) != 2 || size[0] != c.w || size[1] != c.h {
			t.Errorf("%s: natural size %v, want %d×%d", c.alt, size, c.w, c.h)
		}
	}
	// The trace: each rule with its verdict, the failing part of a
	// condition that was false.
	trace := b.listItems("Trace")
	want := []string{
		`private not matched false: key startsWith "private/"`,
		`thumbs matched`,
		`modern matched`,
	}
	if strings.Join(trace, "\n") != strings.Join(want, "\n") {
		t.Errorf("trace:\n%s\nwant:\n%s", strings.Join(trace, "\n"), strings.Join(want, "\n"))
	}
	if got := eval[string](b, `document.getElementById("status").textContent`); got != "200 OK" {
		t.Errorf("status %q", got)
	}
	if got := eval[string](b, `document.getElementById("vary").textContent`); got != "Accept" {
		t.Errorf("Vary %q", got)
	}
	if got := eval[string](b, `document.getElementById("result-meta").textContent`); !strings.Contains(got, "120×80 px") || !strings.Contains(got, "image/webp") {
		t.Errorf("result caption %q", got)
	}
	if tc := eval[string](b, `document.getElementById("test-case").textContent`); !strings.Contains(tc, "rules: [thumbs, modern]") || !strings.Contains(tc, "key: photos/landscape.jpg?w=120") {
		t.Errorf("test case:\n%s", tc)
	}

	// The names the page promises, as assistive technology computes them.
	for _, c := range [][2]string{
		{"textbox", "Rules"}, {"combobox", "Request"}, {"textbox", "Headers"}, {"textbox", "Access point"},
		{"button", "Run"}, {"list", "Trace"}, {"list", "Problems"}, {"image", "Original"}, {"image", "Result"},
	} {
		b.do(fmt.Sprintf("%s named %q", c[0], c[1]), chromedp.Query("", byRole(c[0], c[1])))
	}

	// A deny answers with its status and the OSS XML a client gets.
	b.fill("combobox", "Request", "private/payroll.txt")
	b.do("click Run", chromedp.Click("", byRole("button", "Run")))
	b.wait("the deny", `document.getElementById("status").textContent === "403 Forbidden"`)
	if x := eval[string](b, `document.querySelector("#result-view pre").textContent`); !strings.Contains(x, "<Code>Private</Code>") || !strings.Contains(x, "<Message>not for you</Message>") {
		t.Errorf("error body %q", x)
	}
	b.shot("deny")

	// A broken rules file: its problems listed with line and column as
	// validate gives them; choosing one puts the cursor on that line.
	broken := strings.Replace(browserRules, `when: ext == "jpg" && "w" in query`, `when: ext == "jpg" && "w" in`, 1)
	_, diags := rules.Check("rules.yaml", []byte(broken))
	if len(diags) == 0 {
		t.Fatal("the broken rules load")
	}
	b.fill("textbox", "Rules", broken)
	b.wait("problems listed", `document.querySelectorAll("#problems li").length > 0 && document.getElementById("validity").textContent.includes("error")`)
	problems := b.listItems("Problems")
	wantFirst := fmt.Sprintf("%d:%d", diags[0].Line, diags[0].Column)
	if len(problems) != len(diags) || !strings.HasPrefix(problems[0], wantFirst) || !strings.Contains(problems[0], diags[0].Message) {
		t.Errorf("problems %q, want %s %s", problems, wantFirst, diags[0].Message)
	}
	if line := strings.Count(broken[:strings.Index(broken, `"w" in`)], "\n") + 1; diags[0].Line != line {
		t.Errorf("the loader put the problem on line %d, not the condition's line %d", diags[0].Line, line)
	}
	b.do("choose the problem", chromedp.Click("#problems button"))
	if line := eval[int](b, `(() => { const r = document.activeElement; return r.id === "rules" ? r.value.slice(0, r.selectionStart).split("\n").length : -1 })()`); line != diags[0].Line {
		t.Errorf("after choosing the problem the cursor is on line %d, want %d", line, diags[0].Line)
	}
	b.shot("problems")

	b.mu.Lock()
	defer b.mu.Unlock()
	for _, u := range b.requests {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "data" && p.Scheme+"://"+p.Host != origin) {
			t.Errorf("the page reached beyond serve: %s", u)
		}
	}
	for _, m := range b.console {
		t.Errorf("console: %s", m)
	}
}

// listItems returns the text of the items of the list labelled name,
// spaces folded.
func (b *browser) listItems(name string) []string {
	b.t.Helper()
	b.do("the list "+name, chromedp.Query("", byRole("list", name)))
	return eval[[]string](b, fmt.Sprintf(`[...document.querySelectorAll('[aria-label=%q] > li')].map(li => li.innerText.replace(/\s+/g, " ").trim())`, name))
}
