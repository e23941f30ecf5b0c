package main

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// recordSources keeps every EventSource a page opens in
// window.__parkdSources, so a test can hand it a message.
const recordSources = `(() => {
  const ES = window.EventSource;
  window.__parkdSources = [];
  window.EventSource = class extends ES {
    constructor(...args) { super(...args); window.__parkdSources.push(this); }
  };
})();`

// mapReads is how many times the page has fetched /api/v1/map.
const mapReads = `performance.getEntriesByType('resource').filter((e) => new URL(e.name).pathname === '/api/v1/map').length`

// TestBrowserDriverPageReloadsOnReset: when its feed says reset (parkd
// sends it to a stream resuming from too far back), the driver page reads
// the map again, and goes on following the live events.
func TestBrowserDriverPageReloadsOnReset(t *testing.T) {
	chromiumPath(t)
	s := startBrowserSite(t, nil, nil)
	z, _ := s.reg.Zone("Z05")
	b := newTab(t, s.p.base, 1280, 900, z.Lat, z.Lon)
	b.do(10*time.Second, "record the event sources", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: recordSources})
		return err
	}))
	b.load("/")
	b.mustWaitJS(5*time.Second, "event stream open", `document.body.dataset.live === '1'`)
	before := eval[int](b, mapReads)
	eval[bool](b, `window.__parkdSources.at(-1).dispatchEvent(new MessageEvent('reset',
	  {data: '{"type":"reset","reason":"test"}'})) || true`)
	b.mustWaitJS(5*time.Second, "the map read again after a reset", mapReads+` > `+strconv.Itoa(before))
	sp := s.space(t, s.reg.SpacesInZone("Z05")[0].ID)
	occupied := eval[string](b, statusJS(sp.ID)) != "occupied"
	want := map[bool]string{true: "occupied", false: "free"}[occupied]
	publishAndWatch(t, b, s, sp, occupied, 2, want)
	b.checkClean("driver page / after a reset")
}
