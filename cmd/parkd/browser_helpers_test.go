package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The browser tests drive Debian's Chromium (package chromium) through the
// DevTools protocol. These variables steer them:
const (
	// skipBrowserEnv=1 skips the browser tests (as -short does); without it
	// a missing Chromium fails them, with how to install it.
	skipBrowserEnv = "PARKD_SKIP_BROWSER"
	// artifactsEnv names the folder for screenshots; default
	// <repo root>/artifacts/browser.
	artifactsEnv = "PARKD_ARTIFACTS"
	// chromiumEnv names another Chromium or Chrome binary (a path or a name
	// on PATH); default /usr/bin/chromium, else chromium or
	// chromium-browser on PATH.
	chromiumEnv = "PARKD_CHROMIUM"
)

// chromiumPath returns the Chromium to run ($PARKD_CHROMIUM, else
// /usr/bin/chromium, else chromium or chromium-browser on PATH). It skips
// under -short or PARKD_SKIP_BROWSER=1 and fails, saying how to install
// it, when none is found.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	if os.Getenv(skipBrowserEnv) == "1" {
		t.Skipf("browser test: skipped, %s=1", skipBrowserEnv)
	}
	names := []string{"/usr/bin/chromium", "chromium", "chromium-browser"}
	if env := os.Getenv(chromiumEnv); env != "" {
		names = []string{env}
	}
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatalf("browser test: Chromium not found (tried %s).\n"+
		"Install Debian's chromium package: `make deps` as root does it, or run\n"+
		"  apt-get update && apt-get install -y chromium\n"+
		"To skip the browser tests instead, set %s=1.", strings.Join(names, ", "), skipBrowserEnv)
	return ""
}

// tab is one headless Chromium with one tab, closed when the test ends. It
// records every console error, uncaught exception, browser log error,
// failed or 4xx/5xx request and request to another origin than origin.
type tab struct {
	t      *testing.T
	ctx    context.Context
	origin string
	others []string // other origins the page may load from (a tile server)

	mu       sync.Mutex
	problems []string
	warnings []string // console and browser log warnings: logged, not failures
	urls     map[network.RequestID]string
}

// readyProbe runs before any page script: it notes performance.now() (ms
// since navigation start) when <body data-ready="1"> first appears.
const readyProbe = `(() => {
  const mark = () => {
    if (window.__parkdReadyAt === undefined && document.body && document.body.dataset.ready === '1')
      window.__parkdReadyAt = performance.now();
  };
  new MutationObserver(mark).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-ready']});
})();`

// newTab starts Chromium with a fresh profile and a width x height window,
// with geolocation granted and set to lat, lon, for pages served at origin.
func newTab(t *testing.T, origin string, width, height int, lat, lon float64) *tab {
	t.Helper()
	exe := chromiumPath(t)
	out := &syncWriter{w: &bytes.Buffer{}}
	profile := t.TempDir()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun, chromedp.UserDataDir(profile), chromedp.WindowSize(width, height),
		chromedp.CombinedOutput(out))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &tab{t: t, origin: origin, urls: map[network.RequestID]string{}}
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithListener(b.listen))
	b.ctx = ctx
	t.Cleanup(func() { b.close(cancel, cancelAlloc, out) })
	start := time.Now()
	// The first Do binds Chromium's life to its context: no timeout here.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium %s: %v", exe, err)
	}
	b.do(10*time.Second, "set up the tab", setUpTab(origin, lat, lon))
	t.Logf("chromium %s started in %s", exe, time.Since(start).Round(time.Millisecond))
	return b
}

// setUpTab grants origin the geolocation permission, puts the browser at
// lat, lon and installs readyProbe.
func setUpTab(origin string, lat, lon float64) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: "geolocation"},
			Setting:    browser.PermissionSettingGranted, Origin: origin})
		if err != nil {
			return err
		}
		if _, err = chromedp.Call(ctx, emulation.SetGeolocationOverride, emulation.SetGeolocationOverrideParams{
			Latitude: &lat, Longitude: &lon, Accuracy: new(10.0)}); err != nil {
			return err
		}
		_, err = chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: readyProbe})
		return err
	})
}

// close reports the problems not checked yet and the warnings, closes
// Chromium and checks that none of its processes is left.
func (b *tab) close(cancel, cancelAlloc context.CancelFunc, out *syncWriter) {
	t := b.t
	b.checkClean("unchecked at the end")
	b.mu.Lock()
	for _, w := range b.warnings {
		t.Logf("page warning (not a failure): %s", w)
	}
	b.mu.Unlock()
	procs := chromiumProcs(b.ctx)
	if err := chromedp.Cancel(b.ctx); err != nil {
		t.Logf("closing chromium: %v", err)
	}
	cancel()
	cancelAlloc() // waits for the process to end
	checkGone(t, procs)
	if t.Failed() {
		t.Logf("chromium output (without its D-Bus complaints):\n%s", out.tail(40))
	} else {
		t.Logf("chromium closed: its %d processes are gone", len(procs))
	}
}

// listen runs in the tab's event loop: it only records.
func (b *tab) listen(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		var args []string
		for _, a := range ev.Args {
			args = append(args, strings.Trim(string(a.Value), `"`)+a.Description)
		}
		switch ev.Type {
		case runtime.ConsoleAPICalledTypeError:
			b.problems = append(b.problems, "console.error: "+strings.Join(args, " "))
		case runtime.ConsoleAPICalledTypeWarning:
			b.warnings = append(b.warnings, "console.warn: "+strings.Join(args, " "))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		b.problems = append(b.problems, fmt.Sprintf("uncaught exception at %s:%d: %s", d.URL, d.LineNumber+1, msg))
	case *cdplog.EventEntryAdded:
		entry := fmt.Sprintf("browser log (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
		switch ev.Entry.Level {
		case cdplog.EntryLevelError:
			b.problems = append(b.problems, entry)
		case cdplog.EntryLevelWarning:
			b.warnings = append(b.warnings, entry)
		}
	case *network.EventRequestWillBeSent:
		u := ev.Request.URL
		b.urls[ev.RequestID] = u
		if !strings.HasPrefix(u, b.origin+"/") && !strings.HasPrefix(u, "data:") && !strings.HasPrefix(u, "blob:") &&
			!slices.ContainsFunc(b.others, func(o string) bool { return strings.HasPrefix(u, o+"/") }) {
			b.problems = append(b.problems, "request to another origin: "+u)
		}
	case *network.EventResponseReceived:
		if ev.Response.Status >= 400 {
			b.problems = append(b.problems, fmt.Sprintf("HTTP %d for %s", ev.Response.Status, ev.Response.URL))
		}
	case *network.EventLoadingFailed:
		if !ev.Canceled { // a navigation cancels the open event stream: not a failure
			b.problems = append(b.problems, fmt.Sprintf("request failed: %s: %s %s", b.urls[ev.RequestID], ev.ErrorText, ev.BlockedReason))
		}
	}
}

// allow lets the page load from origin too (a tile server).
func (b *tab) allow(origin string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.others = append(b.others, origin)
}

// takeProblems returns the problems recorded so far and forgets them.
func (b *tab) takeProblems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.problems
	b.problems = nil
	return p
}

// checkClean fails the test for every problem recorded so far.
func (b *tab) checkClean(when string) {
	b.t.Helper()
	for _, p := range b.takeProblems() {
		b.t.Errorf("%s: %s", when, p)
	}
}

// do runs actions with a timeout and fails the test, naming what, on error.
func (b *tab) do(timeout time.Duration, what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the page and decodes its value.
func eval[T any](b *tab, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitJS waits until the expression is truthy, evaluating it in the page
// every 50 ms, and returns the time waited and the error on a timeout.
func (b *tab) waitJS(timeout time.Duration, expr string) (time.Duration, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(b.ctx, timeout+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	return time.Since(start), err
}

// mustWaitJS is waitJS that fails the test, naming what, on a timeout.
func (b *tab) mustWaitJS(timeout time.Duration, what, expr string) time.Duration {
	b.t.Helper()
	d, err := b.waitJS(timeout, expr)
	if err != nil {
		b.t.Fatalf("%s: not within %s (%s): %v", what, timeout, expr, err)
	}
	return d
}

// load opens path and waits for body[data-ready="1"]; it returns the
// first-render time (navigation start to data-ready) the probe measured.
func (b *tab) load(path string) time.Duration {
	b.t.Helper()
	b.open(path)
	b.mustWaitJS(15*time.Second, path+" ready", `document.body && document.body.dataset.ready === '1'`)
	ms := eval[float64](b, `window.__parkdReadyAt || 0`)
	return time.Duration(ms * float64(time.Millisecond))
}

// open navigates to path and fails unless it answers 200.
func (b *tab) open(path string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(b.origin+path))
	if err != nil {
		b.t.Fatalf("open %s: %v", path, err)
	}
	if resp.Status != 200 {
		b.t.Fatalf("open %s: HTTP %d %s", path, resp.Status, resp.StatusText)
	}
}

// screenshot saves the visible page as name.png in the artifacts folder.
func (b *tab) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := artifactsDir(b.t)
	file := filepath.Join(dir, name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	b.t.Logf("screenshot %s (%d KB)", file, len(png)>>10)
}

// artifactsDir is $PARKD_ARTIFACTS, or artifacts/browser at the repository
// root (the folder holding go.mod), created if needed.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(artifactsEnv)
	if dir == "" {
		root, err := filepath.Abs(".")
		if err != nil {
			t.Fatal(err)
		}
		for _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil; _, err = os.Stat(filepath.Join(root, "go.mod")) {
			if filepath.Dir(root) == root {
				t.Fatal("artifacts: no go.mod above the test's folder; set " + artifactsEnv)
			}
			root = filepath.Dir(root)
		}
		dir = filepath.Join(root, "artifacts", "browser")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifacts: %v", err)
	}
	return dir
}

// chromiumProcs returns the pid of the browser of ctx and of all its
// descendants (renderers, GPU, zygotes, utilities).
func chromiumProcs(ctx context.Context) []int {
	c := chromedp.FromContext(ctx)
	if c == nil || c.Browser == nil || c.Browser.Process() == nil {
		return nil
	}
	parent := map[int]int{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		if pid, ppid, _, ok := procStat(f); ok {
			parent[pid] = ppid
		}
	}
	root := c.Browser.Process().Pid
	out := []int{root}
	for pid := range parent {
		for p := parent[pid]; p > 1; p = parent[p] {
			if p == root {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

// procStat reads pid, parent pid and state from a /proc/PID/stat file.
func procStat(file string) (pid, ppid int, state string, ok bool) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, 0, "", false
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return 0, 0, "", false
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 2 {
		return 0, 0, "", false
	}
	pid, err1 := strconv.Atoi(strings.TrimSpace(s[:open]))
	ppid, err2 := strconv.Atoi(f[1])
	return pid, ppid, f[0], err1 == nil && err2 == nil
}

// checkGone fails the test if one of pids (Chromium's processes, taken
// before it was closed) still runs 5 s later. Zombies waiting for their
// parent to reap them do not count.
func checkGone(t *testing.T, pids []int) {
	t.Helper()
	var left []int
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		left = left[:0]
		for _, pid := range pids {
			if _, _, state, ok := procStat(fmt.Sprintf("/proc/%d/stat", pid)); ok && state != "Z" {
				left = append(left, pid)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(left) > 0 {
		t.Errorf("chromium processes %v (of %v) still run 5 s after the browser was closed", left, pids)
	}
}

// syncWriter serializes writes from Chromium's output copier.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// tail returns the last n lines written, leaving out the D-Bus errors a
// machine without a session bus makes Chromium print.
func (s *syncWriter) tail(n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keep []string
	for _, l := range strings.Split(s.w.String(), "\n") {
		if !strings.Contains(l, "dbus") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep[max(0, len(keep)-n):], "\n")
}

// TestBrowserHarnessSeesErrors checks the harness itself on a page that
// errs in every way it watches for: were it blind, the page tests could not
// fail on a console error.
func TestBrowserHarnessSeesErrors(t *testing.T) {
	chromiumPath(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, `<!doctype html><body><script>
console.error("boom");
fetch("/missing");
fetch("http://other.invalid/x").catch(() => {});
setTimeout(() => { document.body.dataset.ready = "1"; throw new Error("uncaught"); }, 10);
</script></body>`)
	}))
	t.Cleanup(srv.Close)
	b := newTab(t, srv.URL, 800, 600, 0, 0)
	if d := b.load("/"); d <= 0 {
		t.Errorf("first-render probe measured %s", d)
	}
	want := []string{"console.error: boom", "uncaught exception", "HTTP 404 for " + srv.URL + "/missing",
		"request to another origin: http://other.invalid/x"}
	var got []string
	eventually(t, 5*time.Second, "the page's errors recorded", func() error {
		got = append(got, b.takeProblems()...)
		for _, w := range want {
			if !slices.ContainsFunc(got, func(p string) bool { return strings.HasPrefix(p, w) }) {
				return fmt.Errorf("no %q in %q", w, got)
			}
		}
		return nil
	})
}
