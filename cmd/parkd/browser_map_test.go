package main

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/geo"
)

// The driver page with a base map, as a driver uses it on a phone: tiles
// from a local tile server (GCJ-02, as AMap's), spaces on them, navigate
// links, installing, sleep and offline. The page's origin is a flakyProxy
// in front of parkd, so that the test can take the network away.

const (
	// androidUA is a phone's Chrome; wechatUA WeChat's in-app browser
	// (XWEB) on Android, as it identifies itself.
	androidUA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36"
	wechatUA  = "Mozilla/5.0 (Linux; Android 14; V2309A Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) " +
		"Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160117 MMWEBSDK/20240301 MMWEBID/2585 " +
		"MicroMessenger/8.0.48.2580(0x28003036) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64"
	// tilesMaxZoom is the test tile source's deepest level.
	tilesMaxZoom = 18
)

// mapSite is a browserSite whose parkd has a GCJ-02 tile source, reached
// through a proxy.
type mapSite struct {
	*browserSite
	tiles *tileServer
	proxy *flakyProxy
}

func startMapSite(t *testing.T) *mapSite {
	t.Helper()
	tiles := startTileServer(t)
	s := startBrowserSite(t, func(c *Config) {
		c.Map.Tiles = TilesConfig{URL: tiles.URL + "/{z}/{x}/{y}.png", Attribution: "© test tiles", CRS: "gcj02",
			MinZoom: 10, MaxZoom: tilesMaxZoom}
	}, nil)
	return &mapSite{browserSite: s, tiles: tiles, proxy: startFlakyProxy(t, s.p.base)}
}

// TestBrowserDriverMap loads the driver page with tiles in Chromium, on a
// desktop and on a 390x844 phone: the tiles asked for and shown at each
// zoom are the ones that cover the map around a shared space, its spaces
// sit on the tiles at the pixels the GCJ-02 conversion gives, the page's
// conversions are the Go package's, the navigate links carry each
// provider's coordinates, drag, pinch and double tap move and zoom the map,
// touch targets are large and text contrasted, the page installs (manifest
// and service worker), its live feed comes back after the phone sleeps
// through a network loss, and it opens again offline, saying its map is
// old; the staff page draws its map over the tiles too. Screenshots:
// driver-tiles-desktop, driver-tiles-mobile, driver-wechat-mobile,
// driver-offline-mobile, staff-tiles-desktop.
func TestBrowserDriverMap(t *testing.T) {
	chromiumPath(t)
	s := startMapSite(t)
	z, _ := s.reg.Zone("Z05")
	b := newTab(t, s.proxy.URL, 1280, 900, z.Lat, z.Lon)
	b.allow(s.tiles.URL)

	b.load("/")
	waitTiles(t, b)
	checkConversions(t, b)
	if got := eval[string](b, `document.querySelector('.attribution').textContent`); got != "© test tiles" {
		t.Errorf("attribution %q, want the configured © test tiles", got)
	}
	sp := firstFreeNear(t, b, s.browserSite)
	checkNavLinks(t, b, sp, false)
	b.screenshot("driver-tiles-desktop")
	logFrames(t, b, "desktop 1280x900 with tiles")
	checkStaffTiles(t, b, s.browserSite)
	b.checkClean("driver page with tiles, desktop")

	b.do(10*time.Second, "emulate an Android phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch),
		setUA(androidUA))
	for _, zoom := range []int{14, 16, 18, 19} {
		checkTilesAt(t, b, s, sp, zoom)
	}
	checkSpacesOnTiles(t, b, s, sp, z)
	checkNavLinks(t, b, sp, true)
	b.screenshot("driver-tiles-mobile")
	checkTouchTargets(t, b)
	checkContrast(t, b)
	checkGestures(t, b)
	b.load("/?space=" + url.QueryEscape(sp.ID) + "&z=15")
	waitTiles(t, b)
	logFrames(t, b, "phone 390x844 with tiles, zoom 15")
	b.checkClean("driver page with tiles, phone")

	checkInstallable(t, b)
	checkResumeAfterSleep(t, b, s)
	checkWeChat(t, s, sp)
	checkOffline(t, b, s)
}

// checkStaffTiles signs in to /staff: its map draws every space over the
// tiles too. Screenshot staff-tiles-desktop.
func checkStaffTiles(t *testing.T, b *tab, s *browserSite) {
	t.Helper()
	b.open("/staff")
	b.do(10*time.Second, "login form", chromedp.WaitVisible(chromedp.CSS("form#login input#token")))
	b.mustWaitJS(10*time.Second, "the page's scripts loaded", `document.readyState === 'complete'`)
	staffLogin(b, testViewerToken)
	b.mustWaitJS(15*time.Second, "staff page ready", `document.body.dataset.ready === '1'`)
	checkMap(t, b, s)
	waitTiles(t, b)
	b.screenshot("staff-tiles-desktop")
	b.checkClean("staff page with tiles")
}

// setUA makes the tab identify as ua.
func setUA(ua string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua})
		return err
	})
}

// waitTiles waits until the map shows tiles at its zoom, all loaded.
func waitTiles(t *testing.T, b *tab) {
	t.Helper()
	b.mustWaitJS(15*time.Second, "the tiles loaded", `(() => {
	  const z = document.querySelector('#map image.tile') && [...document.querySelectorAll('#map g[data-z]')].pop().dataset.z;
	  const imgs = [...document.querySelectorAll('#map image.tile[data-z="' + z + '"]')];
	  return imgs.length > 0 && imgs.every(i => i.dataset.loaded === '1');
	})()`)
}

// firstFreeNear returns a free space of zone Z05 that the page lists.
func firstFreeNear(t *testing.T, b *tab, s *browserSite) occupancy.Space {
	t.Helper()
	b.mustWaitJS(10*time.Second, "#nearest lists spaces", `document.querySelector('#nearest li[data-id]') !== null`)
	return s.space(t, eval[string](b, `document.querySelector('#nearest li[data-id]').dataset.id`))
}

// checkConversions evaluates the page's own geo.js on a grid over China and
// around Qiuai and compares with package geo: the same algorithm must give
// the same numbers (within 1e-9°, 0.1 mm).
func checkConversions(t *testing.T, b *tab) {
	t.Helper()
	var pts [][2]float64
	for lat := 18.5; lat < 53; lat += 3.7 {
		for lon := 74.0; lon < 135; lon += 6.1 {
			pts = append(pts, [2]float64{lat, lon})
		}
	}
	for i := range 20 {
		pts = append(pts, [2]float64{29.80 + float64(i)*0.005, 121.58 + float64(i)*0.006})
	}
	js := fmt.Sprintf(`(async () => {
	  const src = document.querySelector('script[type=module]').src.replace('driver.js', 'geo.js');
	  const g = await import(src);
	  return %s.map(([a, b]) => [...g.wgs84ToGcj02(a, b), ...g.gcj02ToWgs84(a, b), ...g.gcj02ToBd09(a, b)]);
	})()`, jsonOf(pts))
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[][6]float64](js, chromedp.EvalAwaitPromise))
	if err != nil || len(got) != len(pts) {
		t.Fatalf("geo.js in the page: %v (%d answers for %d points)", err, len(got), len(pts))
	}
	worst := 0.0
	for i, p := range pts {
		var want [6]float64
		want[0], want[1] = geo.WGS84ToGCJ02(p[0], p[1])
		want[2], want[3] = geo.GCJ02ToWGS84(p[0], p[1])
		want[4], want[5] = geo.GCJ02ToBD09(p[0], p[1])
		for k := range want {
			d := math.Abs(got[i][k] - want[k])
			worst = max(worst, d)
			if d > 1e-9 {
				t.Errorf("%v: geo.js gives %v, package geo %v", p, got[i], want)
				break
			}
		}
	}
	t.Logf("geo.js and package geo agree on %d points: largest difference %.2g°", len(pts), worst)
}

func jsonOf(pts [][2]float64) string {
	parts := make([]string, len(pts))
	for i, p := range pts {
		parts[i] = fmt.Sprintf("[%v,%v]", p[0], p[1])
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// mapBox returns the map element's size in CSS pixels.
func mapBox(b *tab) (float64, float64) {
	r := eval[[2]float64](b, `(() => { const r = document.querySelector('#map').getBoundingClientRect(); return [r.width, r.height]; })()`)
	return r[0], r[1]
}

// checkTilesAt opens the shared link of sp at zoom: the page must show
// (and have asked the tile server for) exactly the tiles that cover the
// map centred on sp's GCJ-02 position, at the zoom's level (the deepest
// level, enlarged, past it).
func checkTilesAt(t *testing.T, b *tab, s *mapSite, sp occupancy.Space, zoom int) {
	t.Helper()
	b.load(fmt.Sprintf("/?space=%s&z=%d", url.QueryEscape(sp.ID), zoom))
	waitTiles(t, b)
	level := min(zoom, tilesMaxZoom)
	w, h := mapBox(b)
	scale := math.Exp2(float64(zoom - level))
	glat, glon := geo.WGS84ToGCJ02(sp.Lat, sp.Lon)
	cx, cy := worldPixel(glat, glon, level)
	x0, x1 := math.Floor((cx-w/2/scale)/256), math.Ceil((cx+w/2/scale)/256)-1
	y0, y1 := math.Floor((cy-h/2/scale)/256), math.Ceil((cy+h/2/scale)/256)-1
	var want []string
	for y := y0; y <= y1; y++ {
		for x := x0; x <= x1; x++ {
			want = append(want, fmt.Sprintf("%d/%d/%d", level, int(x), int(y)))
		}
	}
	shown := eval[[]string](b, fmt.Sprintf(`[...document.querySelectorAll('#map image.tile[data-z="%d"]')].map(i => i.dataset.z + '/' + i.dataset.x + '/' + i.dataset.y)`, level))
	sort.Strings(want)
	sort.Strings(shown)
	if !slices.Equal(shown, want) {
		t.Errorf("zoom %d: the page shows tiles %v, want %v (the %gx%g map centred on %s)", zoom, shown, want, w, h, sp.ID)
	}
	asked := s.tiles.tilesAt(level)
	for _, k := range want {
		if !asked[k] {
			t.Errorf("zoom %d: the tile server was never asked for %s", zoom, k)
		}
	}
	if got := eval[string](b, `document.querySelector('#map').dataset.zoom`); math.Abs(atof(got)-float64(zoom)) > 0.01 {
		t.Errorf("zoom %d: the map's scale is that of zoom %s", zoom, got)
	}
	t.Logf("zoom %d: %d tiles of level %d shown, as computed (%d asked at that level so far)", zoom, len(shown), level, len(asked))
}

func atof(s string) float64 { f, _ := strconv.ParseFloat(s, 64); return f }

// checkSpacesOnTiles opens sp's shared link at zoom 18 and checks, for sp
// and the spaces drawn near it, and for the driver's position (the
// browser's, at here), that each sits on its tile at the pixel of its
// GCJ-02 position (within 1 px); drawn at their WGS-84 positions they would
// be hundreds of pixels off. Then a tap on one of those spaces opens its
// card.
func checkSpacesOnTiles(t *testing.T, b *tab, s *mapSite, sp occupancy.Space, here occupancy.Zone) {
	t.Helper()
	b.load(fmt.Sprintf("/?space=%s&z=18", url.QueryEscape(sp.ID)))
	waitTiles(t, b)
	ids := []string{sp.ID}
	for _, other := range s.reg.SpacesInZone(sp.ZoneID) {
		if other.ID != sp.ID && len(ids) < 4 {
			gl, gn := geo.WGS84ToGCJ02(other.Lat, other.Lon)
			ox, oy := worldPixel(gl, gn, 18)
			gl, gn = geo.WGS84ToGCJ02(sp.Lat, sp.Lon)
			cx, cy := worldPixel(gl, gn, 18)
			if math.Abs(ox-cx) < 150 && math.Abs(oy-cy) < 150 {
				ids = append(ids, other.ID)
			}
		}
	}
	b.mustWaitJS(5*time.Second, "the driver's position drawn", `document.querySelector('#map .here') !== null`)
	checkOnTile(t, b, "the driver's position", `#map .here`, here.Lat, here.Lon)
	for _, id := range ids {
		o := s.space(t, id)
		checkOnTile(t, b, id, fmt.Sprintf(`#map .space[data-id=%q]`, id), o.Lat, o.Lon)
	}
	checkTapSpace(t, b, ids[len(ids)-1])
}

// checkOnTile checks that the element sel is drawn at the pixel of the
// GCJ-02 position of lat, lon on its zoom-18 tile, within 1 px.
func checkOnTile(t *testing.T, b *tab, what, sel string, lat, lon float64) {
	t.Helper()
	{
		glat, glon := geo.WGS84ToGCJ02(lat, lon)
		px, py := worldPixel(glat, glon, 18)
		tx, ty := math.Floor(px/256), math.Floor(py/256)
		got := eval[[4]float64](b, fmt.Sprintf(`(() => {
		  const tile = document.querySelector('#map image.tile[data-z="18"][data-x="%d"][data-y="%d"]');
		  const dot = document.querySelector(%q);
		  if (!tile || !dot) return [NaN, NaN, NaN, NaN];
		  const a = tile.getBoundingClientRect(), d = dot.getBoundingClientRect();
		  return [a.left + (%f) * a.width / 256, a.top + (%f) * a.height / 256, d.left + d.width / 2, d.top + d.height / 2];
		})()`, int(tx), int(ty), sel, px-tx*256, py-ty*256))
		off := math.Hypot(got[2]-got[0], got[3]-got[1])
		wx, wy := worldPixel(lat, lon, 18)
		if math.IsNaN(off) || off > 1 {
			t.Errorf("%s is drawn at (%.1f, %.1f), its GCJ-02 pixel on tile 18/%v/%v is (%.1f, %.1f): %.1f px off",
				what, got[2], got[3], tx, ty, got[0], got[1], off)
		}
		t.Logf("%s drawn %.2f px from its GCJ-02 pixel (its WGS-84 pixel is %.0f px away)", what, off, math.Hypot(wx-px, wy-py))
	}
}

// checkTapSpace taps space id on the map with a finger: its card opens.
func checkTapSpace(t *testing.T, b *tab, id string) {
	t.Helper()
	at := eval[[2]float64](b, fmt.Sprintf(`(() => { const r = document.querySelector('#map .space[data-id=%q]').getBoundingClientRect();
	  return [r.left + r.width / 2, r.top + r.height / 2]; })()`, id))
	touch(b, input.DispatchTouchEventTypeTouchStart, at)
	touch(b, input.DispatchTouchEventTypeTouchEnd)
	b.mustWaitJS(5*time.Second, "the card of the tapped space "+id, fmt.Sprintf(`document.querySelector('#space-card').dataset.id === %q && !document.querySelector('#space-card').hidden`, id))
}

// checkNavLinks opens sp's card from #nearest (or uses the one the shared
// link opened) and checks each navigate link's coordinates: AMap and
// Tencent GCJ-02, Baidu BD-09, geo: WGS-84; app links on a phone, web maps
// on a desktop.
func checkNavLinks(t *testing.T, b *tab, sp occupancy.Space, phone bool) {
	t.Helper()
	card := `document.querySelector('#space-card')`
	if open := eval[string](b, card+`.hidden ? '' : `+card+`.dataset.id`); open != sp.ID {
		if open != "" { // on a phone the card covers the list: close it first
			b.do(5*time.Second, "close the card", chromedp.Click(chromedp.CSS(`#space-card [data-card="close"]`)))
		}
		b.do(5*time.Second, "tap 导航 of "+sp.ID, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#nearest li[data-id=%q] button[data-nav-open]`, sp.ID))))
	}
	b.mustWaitJS(5*time.Second, "the card of "+sp.ID, card+fmt.Sprintf(`.dataset.id === %q && !`, sp.ID)+card+`.hidden`)
	links := eval[map[string][2]string](b, `Object.fromEntries([...document.querySelectorAll('#space-card a[data-nav]')].map(a => [a.dataset.nav, [a.getAttribute('href'), a.dataset.web]]))`)
	glat, glon := geo.WGS84ToGCJ02(sp.Lat, sp.Lon)
	blat, blon := geo.GCJ02ToBD09(glat, glon)
	type want struct {
		scheme, param, format string
		a, b                  float64
	}
	wants := map[string]want{ // the app link's form; the web map's below
		"amap":    {"amapuri", "dlat,dlon", "%s,%s", glat, glon},
		"baidu":   {"baidumap", "destination", "latlng:%s,%s|name:", blat, blon},
		"tencent": {"qqmap", "tocoord", "%s,%s", glat, glon},
		"geo":     {"geo", "", "", sp.Lat, sp.Lon},
	}
	webs := map[string]want{
		"amap":    {"https", "to", "%[2]s,%[1]s,", glat, glon},
		"baidu":   {"https", "location", "%s,%s", blat, blon},
		"tencent": {"https", "marker", "coord:%s,%s;", glat, glon},
	}
	for id, w := range wants {
		l, ok := links[id]
		if !ok {
			t.Errorf("the card of %s has no %s link: %v", sp.ID, id, links)
			continue
		}
		if !phone && id != "geo" {
			w = webs[id]
		}
		checkLink(t, id, l[0], w.scheme, w.param, w.format, w.a, w.b)
		if id != "geo" {
			checkLink(t, id+" (web)", l[1], "https", webs[id].param, webs[id].format, webs[id].a, webs[id].b)
		}
	}
}

// checkLink parses a navigate link and checks its scheme and that its
// coordinates are (a, b) to 6 decimals.
func checkLink(t *testing.T, name, href, scheme, param, format string, a, b float64) {
	t.Helper()
	u, err := url.Parse(href)
	if err != nil || u.Scheme != scheme {
		t.Errorf("%s link %q: want a %s: link (%v)", name, href, scheme, err)
		return
	}
	f6 := func(v float64) string { return strconv.FormatFloat(v, 'f', 6, 64) }
	var got string
	switch {
	case scheme == "geo":
		got, format = u.Opaque, "%s,%s"
	case strings.Contains(param, ","):
		ps := strings.Split(param, ",")
		got, format = u.Query().Get(ps[0])+","+u.Query().Get(ps[1]), "%s,%s"
	default:
		got = u.Query().Get(param)
	}
	if want := fmt.Sprintf(format, f6(a), f6(b)); !strings.HasPrefix(got, want) {
		t.Errorf("%s link %s: %s is %q, want it to start %q", name, href, param, got, want)
	}
}
