package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/qiuai/parking/occupancy"
)

// The driver page as a phone app: touch targets, contrast, gestures,
// installing, sleep and offline (steps of TestBrowserDriverMap), and the
// WeChat in-app browser.

// minTouchPx is the smallest touch target allowed: 44 CSS pixels (WCAG
// 2.5.5, Apple's guidelines).
const minTouchPx = 44

// minContrast is the contrast every text must have against its background:
// 7:1, WCAG's enhanced level (1.4.6), so that it reads in sunlight.
const minContrast = 7.0

// checkTouchTargets fails for any visible button, link or select smaller
// than minTouchPx either way.
func checkTouchTargets(t *testing.T, b *tab) {
	t.Helper()
	small := eval[[]string](b, fmt.Sprintf(`[...document.querySelectorAll('button, a[href], select, input')]
	  .filter(e => e.checkVisibility() && !e.closest('.sr-only'))
	  .map(e => [e, e.getBoundingClientRect()])
	  .filter(([e, r]) => r.width > 0 && r.right > 0 && r.bottom > 0 && (r.width < %[1]d - 0.5 || r.height < %[1]d - 0.5))
	  .map(([e, r]) => (e.id || e.className || e.tagName) + ' "' + e.textContent.trim().slice(0, 20) + '" ' + r.width.toFixed(0) + 'x' + r.height.toFixed(0))`, minTouchPx))
	for _, s := range small {
		t.Errorf("touch target under %d px: %s", minTouchPx, s)
	}
}

// contrastJS computes, for every visible text node's element, the WCAG
// contrast ratio of its colour over the first opaque background behind it
// (walking up the ancestors; the page's own colours have no transparency
// but the map controls' 95 % white, taken as white).
const contrastJS = `(() => {
  const rgb = (s) => (s.match(/[\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => { const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const bgOf = (el) => { for (let e = el; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] >= 0.9)) return c.slice(0, 3); } return [255, 255, 255]; };
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || seen.has(el) || !el.checkVisibility() || el.closest('.sr-only, svg')) continue;
    seen.add(el);
    const fg = rgb(getComputedStyle(el).color), bg = bgOf(el);
    const [a, b] = [lum(fg) + 0.05, lum(bg) + 0.05];
    out.push([(el.id || el.className || el.tagName) + ' "' + n.textContent.trim().slice(0, 24) + '"', Math.max(a, b) / Math.min(a, b)]);
  }
  return out;
})()`

// checkContrast fails for every visible text under minContrast.
func checkContrast(t *testing.T, b *tab) {
	t.Helper()
	worst := 100.0
	for _, c := range eval[[][2]any](b, contrastJS) {
		ratio := c[1].(float64)
		worst = min(worst, ratio)
		if ratio < minContrast {
			t.Errorf("text %s has contrast %.2f:1, under %.0f:1", c[0], ratio, minContrast)
		}
	}
	t.Logf("lowest text contrast on the page: %.2f:1", worst)
}

// touch sends one touch event of points (x, y pairs) to the page.
func touch(b *tab, typ input.DispatchTouchEventType, pts ...[2]float64) {
	b.t.Helper()
	tps := make([]*input.TouchPoint, len(pts))
	for i, p := range pts {
		tps[i] = &input.TouchPoint{X: p[0], Y: p[1], ID: new(float64(i))}
	}
	b.do(5*time.Second, "touch "+string(typ), chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, input.DispatchTouchEvent, input.DispatchTouchEventParams{Type: typ, TouchPoints: tps})
		return err
	}))
}

// viewJS is the map's view box and zoom.
const viewJS = `(() => { const m = document.querySelector('#map'); return [...m.getAttribute('viewBox').split(' ').map(Number), Number(m.dataset.zoom)]; })()`

// checkGestures drags the map with a finger (the view moves with it),
// spreads two fingers (it zooms in about their middle) and taps twice (it
// zooms in one level).
func checkGestures(t *testing.T, b *tab) {
	t.Helper()
	r := eval[[4]float64](b, `(() => { const r = document.querySelector('#map').getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`)
	cx, cy := r[0]+r[2]/2, r[1]+r[3]/2
	before := eval[[5]float64](b, viewJS)
	touch(b, input.DispatchTouchEventTypeTouchStart, [2]float64{cx, cy})
	for i := 1; i <= 10; i++ {
		touch(b, input.DispatchTouchEventTypeTouchMove, [2]float64{cx - float64(i)*8, cy - float64(i)*5})
	}
	touch(b, input.DispatchTouchEventTypeTouchEnd)
	after := eval[[5]float64](b, viewJS)
	unitsPerPx := before[2] / r[2]
	if dx, dy := after[0]-before[0], after[1]-before[1]; abs(dx-80*unitsPerPx) > 2*unitsPerPx || abs(dy-50*unitsPerPx) > 2*unitsPerPx {
		t.Errorf("a drag of (-80, -50) px moved the view by (%.1f, %.1f) units, want (%.1f, %.1f)", dx, dy, 80*unitsPerPx, 50*unitsPerPx)
	}
	touch(b, input.DispatchTouchEventTypeTouchStart, [2]float64{cx - 40, cy}, [2]float64{cx + 40, cy})
	for i := 1; i <= 10; i++ {
		touch(b, input.DispatchTouchEventTypeTouchMove, [2]float64{cx - 40 - float64(i)*4, cy}, [2]float64{cx + 40 + float64(i)*4, cy})
	}
	touch(b, input.DispatchTouchEventTypeTouchEnd)
	pinched := eval[[5]float64](b, viewJS)
	if dz := pinched[4] - after[4]; abs(dz-1) > 0.1 { // the fingers went from 80 to 160 px apart
		t.Errorf("spreading two fingers from 80 to 160 px zoomed by %.2f levels, want 1", dz)
	}
	// The two taps must reach the page within 300 ms, as a finger's do; on
	// a machine too busy to deliver them that fast, a try may come as two
	// single taps, so up to three tries.
	want := pinched[4] + 1
	for try := 0; ; try++ {
		for range 2 {
			touch(b, input.DispatchTouchEventTypeTouchStart, [2]float64{cx, cy})
			touch(b, input.DispatchTouchEventTypeTouchEnd)
		}
		_, err := b.waitJS(2*time.Second, fmt.Sprintf(`Math.abs(Number(document.querySelector('#map').dataset.zoom) - %f) < 0.05`, want))
		if err == nil {
			break
		}
		if got := eval[[5]float64](b, viewJS)[4]; try == 2 || abs(got-pinched[4]) > 0.05 {
			t.Errorf("a double tap left the zoom at %.2f, want %.2f", got, want)
			break
		}
	}
	t.Logf("gestures: drag, pinch %.2f → %.2f, double tap → %.2f", after[4], pinched[4], eval[[5]float64](b, viewJS)[4])
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

// checkInstallable asks Chromium what it thinks of the page as an app: no
// manifest error, no installability error, and a service worker that
// controls the page.
func checkInstallable(t *testing.T, b *tab) {
	t.Helper()
	b.mustWaitJS(15*time.Second, "the service worker active", `document.body.dataset.sw === '1'`)
	b.load("/") // now under the worker's control: it keeps the shell, the map and the tiles
	b.mustWaitJS(10*time.Second, "the page controlled by its service worker", `navigator.serviceWorker.controller !== null`)
	waitTiles(t, b)
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	m, err := chromedp.Call(ctx, page.GetAppManifest, page.GetAppManifestParams{})
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	for _, e := range m.Errors {
		t.Errorf("manifest %s: %s (line %d)", m.URL, e.Message, e.Line)
	}
	inst, err := chromedp.Call(ctx, page.GetInstallabilityErrors, cdp.Empty{})
	if err != nil {
		t.Fatalf("installability: %v", err)
	}
	for _, e := range inst.InstallabilityErrors {
		var args []string
		for _, a := range e.ErrorArguments {
			args = append(args, a.Name+"="+a.Value)
		}
		t.Errorf("not installable: %s %v", e.ErrorID, args)
	}
	t.Logf("installable: manifest %s, %d installability errors", m.URL, len(inst.InstallabilityErrors))
}

// checkResumeAfterSleep takes the network away under an open page as a
// phone going to sleep does: every connection cut, and the reconnection
// refused with a 503 (a gateway while the service is unreachable), after
// which a browser's EventSource gives up for good. The page is frozen, a
// space changes, the network comes back, the page resumes: it must open
// its feed again and show the change.
func checkResumeAfterSleep(t *testing.T, b *tab, s *mapSite) {
	t.Helper()
	if _, err := b.waitJS(10*time.Second, `document.body.dataset.live === '1'`); err != nil {
		_, metrics := s.p.get(t, "/metrics", nil) // streams held by pages gone from view hold the browser's connections
		streams, _, _ := strings.Cut(metrics[strings.Index(metrics, "\nparkd_events_streams ")+1:], "\n")
		t.Fatalf("the feed is not live: %s; parkd: %s; problems %v", eval[string](b, `document.querySelector('#live').textContent + ' ' + JSON.stringify(document.body.dataset)`), streams, b.takeProblems())
	}
	sp := s.space(t, eval[string](b, `document.querySelector('#map .space[data-status="free"]').dataset.id`))
	s.proxy.set("503")
	s.proxy.cut()
	eventually(t, 10*time.Second, "the event stream's reconnection refused", func() error {
		for _, l := range s.proxy.refusedLines() {
			if strings.Contains(l, "/api/v1/events") {
				return nil
			}
		}
		return fmt.Errorf("refused so far: %v", s.proxy.refusedLines())
	})
	b.mustWaitJS(5*time.Second, "the page not live", `document.body.dataset.live !== '1'`)
	lifecycle(b, page.SetWebLifecycleStateStateFrozen)
	publish(t, s.pub, sp.SensorID, msg(true, time.Now(), 2))
	s.proxy.set("")
	start := time.Now()
	lifecycle(b, page.SetWebLifecycleStateStateActive)
	b.mustWaitJS(10*time.Second, sp.ID+" occupied after the page resumed", statusJS(sp.ID)+` === 'occupied'`)
	b.mustWaitJS(10*time.Second, "the feed live again", `document.body.dataset.live === '1'`)
	t.Logf("after the sleep the page showed %s's change %s after it resumed (load %s)", sp.ID, time.Since(start).Round(time.Millisecond), loadavg())
	for _, p := range b.takeProblems() { // the refused requests are the only problems allowed
		if !strings.Contains(p, "503") && !strings.Contains(p, "ERR_") {
			t.Errorf("sleep: %s", p)
		}
	}
}

func lifecycle(b *tab, state page.SetWebLifecycleStateState) {
	b.t.Helper()
	b.do(5*time.Second, "page lifecycle "+string(state), chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, page.SetWebLifecycleState, page.SetWebLifecycleStateParams{State: state})
		return err
	}))
}

// checkOffline takes parkd and the tile server away after a visit and
// reloads: the service worker opens the page with the last map and the
// tiles it kept, every space drawn, and the page says its map is old.
func checkOffline(t *testing.T, b *tab, s *mapSite) {
	t.Helper()
	s.proxy.set("down")
	s.proxy.cut()
	s.tiles.CloseClientConnections()
	s.tiles.Close()
	b.load("/")
	b.mustWaitJS(5*time.Second, "the stale notice", `document.body.dataset.stale === '1' && document.querySelector('#stale').checkVisibility()`)
	notice := eval[string](b, `document.querySelector('#stale').textContent`)
	if !strings.Contains(notice, "离线") {
		t.Errorf("offline notice %q does not say the page is offline", notice)
	}
	if n := eval[int](b, `document.querySelectorAll('#map .space').length`); n != len(s.reg.Spaces()) {
		t.Errorf("offline the map draws %d spaces, want %d", n, len(s.reg.Spaces()))
	}
	waitTiles(t, b)
	b.screenshot("driver-offline-mobile")
	t.Logf("offline: %q", notice)
	for _, p := range b.takeProblems() { // the live feed's attempts, and the browser's own of the manifest, are allowed
		if !strings.Contains(p, "/api/v1/events") && !strings.Contains(p, "/manifest.webmanifest") {
			t.Errorf("offline: %s", p)
		}
	}
}

// lacksJS takes away, before any page script runs, what WeChat's in-app
// browsers may lack: service workers, the share sheet and the clipboard.
const lacksJS = `for (const k of ['serviceWorker', 'share', 'clipboard']) delete Navigator.prototype[k];`

// checkWeChat opens a shared link in a second Chromium that identifies as
// WeChat's in-app browser and has none of lacksJS's features: the page
// works (map, tiles, the space's card), its navigate links are the
// providers' web maps (WeChat opens no app links) with the hint to open the
// page in a browser, and sharing shows the link to copy.
func checkWeChat(t *testing.T, s *mapSite, sp occupancy.Space) {
	t.Helper()
	b := newTab(t, s.proxy.URL, 390, 844, sp.Lat, sp.Lon)
	b.allow(s.tiles.URL)
	b.do(10*time.Second, "be WeChat on a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch),
		setUA(wechatUA), chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: lacksJS})
			return err
		}))
	b.load("/?space=" + url.QueryEscape(sp.ID))
	if ua := eval[string](b, `navigator.userAgent`); !strings.Contains(ua, "MicroMessenger") || eval[bool](b, `'serviceWorker' in navigator`) {
		t.Fatalf("not WeChat-like: %s, serviceWorker %v", ua, eval[bool](b, `'serviceWorker' in navigator`))
	}
	waitTiles(t, b)
	checkNavLinks(t, b, sp, false)
	if !eval[bool](b, `document.querySelector('#space-card [data-card="wechat"]').checkVisibility()`) {
		t.Error("WeChat: the hint to open the page in a browser is not shown")
	}
	b.do(5*time.Second, "tap share", chromedp.Click(chromedp.CSS(`#space-card [data-card="share"]`)))
	b.mustWaitJS(5*time.Second, "the link to copy", fmt.Sprintf(`document.querySelector('#space-card [data-card="copy"]').textContent.includes('/?space=%s')`, sp.ID))
	b.mustWaitJS(10*time.Second, "the feed live in WeChat", `document.body.dataset.live === '1'`)
	b.screenshot("driver-wechat-mobile")
	b.checkClean("driver page in WeChat")
	b.do(10*time.Second, "leave the page", chromedp.Navigate("about:blank")) // its feed would fail when the test takes the network away
}

// framesJS pans the map n times with its arrow keys (then zooms out and in
// with -/+), waiting for the frame after each, and returns the time each
// step took to draw, sorted, in ms.
const framesJS = `(async () => {
  const m = document.querySelector('#map'), keys = [];
  for (let i = 0; i < 30; i++) keys.push(i % 2 ? 'ArrowRight' : 'ArrowLeft');
  for (let i = 0; i < 10; i++) keys.push(i % 2 ? '+' : '-');
  const out = [];
  for (const key of keys) {
    const t0 = performance.now();
    m.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true }));
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    out.push(performance.now() - t0);
  }
  return out.sort((a, b) => a - b);
})()`

// logFrames measures how smoothly the map moves with every space drawn
// (a figure for docs/web.md, not a pass/fail check: it depends on the
// machine's load).
func logFrames(t *testing.T, b *tab, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	ms, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](framesJS, chromedp.EvalAwaitPromise))
	if err != nil || len(ms) == 0 {
		t.Fatalf("frames: %v", err)
	}
	n := eval[int](b, `[...document.querySelectorAll('#map .space')].length`)
	t.Logf("%s, %d spaces: a pan or zoom step is drawn in %.1f ms (median), %.1f ms (90th percentile), %.1f ms (worst) of %d (two frames each; load %s)",
		what, n, ms[len(ms)/2], ms[len(ms)*9/10], ms[len(ms)-1], len(ms), loadavg())
}
