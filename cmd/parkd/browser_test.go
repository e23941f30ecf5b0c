package main

import (
	"fmt"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
)

// The browser tests load the driver and staff pages in headless Chromium
// against a parkd on real Redis and Mosquitto with the full Qiuai
// registry, and check them by the DOM contract of the pages (docs/web.md):
// #map .space[data-id][data-status],
// body[data-ready], body[data-live], #nearest, #lang, form#login,
// #incidents tr[data-incident][data-status]. browser_helpers_test.go
// drives Chromium.

// qiuaiRegistry is the full registry the browser tests serve.
const qiuaiRegistry = "../../configs/qiuai"

// liveUpdateLimit is how soon a status change published over MQTT must show
// in an open page.
const liveUpdateLimit = 2 * time.Second

// browserSite is a parkd over the Qiuai registry with every space's sensor
// heard from: about 60% occupied, the rest free, and the spaces of skipped
// left unknown.
type browserSite struct {
	p   *parkd
	reg *occupancy.Registry
	pub paho.Client
}

// startBrowserSite starts Mosquitto, Redis and parkd (cfg adjusted by
// tune) and publishes one status message for every space not in skip.
func startBrowserSite(t *testing.T, tune func(*Config), skip map[string]bool) *browserSite {
	t.Helper()
	mosq, rds := testenv.MustStartMosquitto(t), testenv.MustStartRedis(t)
	cfg := testConfig(mosq.URL, rds.URL, qiuaiRegistry)
	if tune != nil {
		tune(&cfg)
	}
	s := &browserSite{p: startParkd(t, cfg), pub: publisher(t, mosq.URL)}
	var err error
	if s.reg, err = occupancy.LoadRegistry(qiuaiRegistry); err != nil {
		t.Fatal(err)
	}
	ts := time.Now().Add(-time.Minute)
	var toks []paho.Token
	unknown := 0
	for i, sp := range s.reg.Spaces() {
		if skip[sp.ID] || sp.ZoneID == "Z14" {
			unknown++
			continue
		}
		toks = append(toks, s.pub.Publish("parking/v1/sensors/"+sp.SensorID+"/up", 1, false, msg(i%5 < 3, ts, 1)))
	}
	for _, tok := range toks {
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
	eventually(t, 20*time.Second, "every published space applied", func() error {
		var sum countsJSON
		s.p.get(t, "/api/v1/summary", &sum)
		if sum.Unknown != unknown {
			return fmt.Errorf("summary %+v, want %d unknown", sum, unknown)
		}
		return nil
	})
	return s
}

// space returns the registry entry of id.
func (s *browserSite) space(t *testing.T, id string) occupancy.Space {
	t.Helper()
	sp, ok := s.reg.Space(id)
	if !ok {
		t.Fatalf("space %s is not in the registry", id)
	}
	return sp
}

// statusJS is the data-status of the map element of space id.
func statusJS(id string) string {
	return fmt.Sprintf(`document.querySelector('#map .space[data-id=%q]')?.dataset.status`, id)
}

// checkMap asserts that the map draws every registered space once, each
// with a valid status, that the statuses agree with the API's counts, and
// that free and occupied spaces are drawn in different colours.
func checkMap(t *testing.T, b *tab, s *browserSite) {
	t.Helper()
	want := len(s.reg.Spaces())
	type mapStats struct {
		Count    int                 `json:"count"`
		Distinct int                 `json:"distinct"`
		By       map[string]int      `json:"by"`
		Fill     map[string][]string `json:"fill"`
	}
	got := eval[mapStats](b, `(() => {
	  const els = [...document.querySelectorAll('#map .space')];
	  const by = {}, fill = {};
	  for (const el of els) {
	    const st = el.dataset.status;
	    by[st] = (by[st] || 0) + 1;
	    const f = getComputedStyle(el).fill;
	    fill[st] = fill[st] || [];
	    if (!fill[st].includes(f)) fill[st].push(f);
	  }
	  return {count: els.length, distinct: new Set(els.map(e => e.dataset.id)).size, by, fill};
	})()`)
	if got.Count != want || got.Distinct != want {
		t.Errorf("#map draws %d .space elements (%d distinct data-id), want the registry's %d", got.Count, got.Distinct, want)
	}
	var sum countsJSON
	s.p.get(t, "/api/v1/summary", &sum)
	wantBy := map[string]int{"free": sum.Free, "occupied": sum.Occupied, "unknown": sum.Unknown, "closed": sum.Closed}
	for st, n := range wantBy {
		if got.By[st] != n {
			t.Errorf("map shows %d %s spaces, the API %d (map: %v)", got.By[st], st, n, got.By)
		}
	}
	t.Logf("map: %d spaces %v, fills %v", got.Count, got.By, got.Fill)
	free, occ := got.Fill["free"], got.Fill["occupied"]
	if len(free) != 1 || len(occ) != 1 || free[0] == occ[0] || free[0] == "none" || occ[0] == "none" {
		t.Errorf("free spaces are filled %q and occupied ones %q: want one colour each, different", free, occ)
	}
}

// publishAndWatch publishes a status for space sp and asserts that its map
// element shows want within liveUpdateLimit, without a page reload.
func publishAndWatch(t *testing.T, b *tab, s *browserSite, sp occupancy.Space, occupied bool, seq int, want string) {
	t.Helper()
	eval[bool](b, `window.__parkdNoReload = true`)
	start := time.Now()
	publish(t, s.pub, sp.SensorID, msg(occupied, time.Now(), seq))
	_, err := b.waitJS(liveUpdateLimit-time.Since(start), statusJS(sp.ID)+` === '`+want+`'`)
	took := time.Since(start)
	if err != nil {
		// Say whether it is late or never comes.
		if _, late := b.waitJS(5*time.Second, statusJS(sp.ID)+` === '`+want+`'`); late == nil {
			t.Errorf("%s became %s only after %s, want within %s", sp.ID, want, time.Since(start).Round(time.Millisecond), liveUpdateLimit)
		} else {
			t.Fatalf("%s did not become %s in the page (it shows %q) within %s of the MQTT publish",
				sp.ID, want, eval[string](b, statusJS(sp.ID)+` || ''`), time.Since(start).Round(time.Millisecond))
		}
	}
	t.Logf("%s -> %s in the page %s after the MQTT publish (load %s)", sp.ID, want, took.Round(time.Millisecond), loadavg())
	if !eval[bool](b, `window.__parkdNoReload === true`) {
		t.Errorf("the page reloaded to show the change")
	}
}

// TestBrowserDriverPage loads the driver page / in Chromium: every space is
// drawn, a status published over MQTT shows within 2 s without reload, the
// nearest free spaces to the browser's location are listed (by kind too),
// the zones with their levels, the English switch works and is remembered,
// and nothing errs in the console or on the network. It saves desktop and
// mobile screenshots.
func TestBrowserDriverPage(t *testing.T) {
	chromiumPath(t) // fail or skip before starting the servers
	s := startBrowserSite(t, nil, nil)
	z, _ := s.reg.Zone("Z05")
	b := newTab(t, s.p.base, 1280, 900, z.Lat, z.Lon)

	render := b.load("/")
	t.Logf("first render of / (navigation start to body[data-ready=1]): %s (load %s)", render.Round(time.Millisecond), loadavg())
	if lang := eval[string](b, `document.documentElement.lang`); lang != "zh-CN" {
		t.Errorf("<html lang=%q>, want zh-CN by default", lang)
	}
	checkMap(t, b, s)
	checkZones(t, b, s)
	b.mustWaitJS(5*time.Second, "event stream open", `document.body.dataset.live === '1'`)
	first := checkNearest(t, b, s, z, "")

	// A car parks on the nearest free space: the map and the list follow.
	sp := s.space(t, first)
	publishAndWatch(t, b, s, sp, true, 2, "occupied")
	if _, err := b.waitJS(5*time.Second, fmt.Sprintf(`!document.querySelector('#nearest li[data-id=%q]')`, sp.ID)); err != nil {
		t.Errorf("#nearest still offers %s 5 s after it became occupied", sp.ID)
	}
	publishAndWatch(t, b, s, sp, false, 3, "free")
	b.screenshot("driver-desktop")
	logFrames(t, b, "desktop 1280x900, schematic")
	checkNearest(t, b, s, z, "accessible")
	b.checkClean("driver page /")

	checkLanguageSwitch(t, b)
	b.checkClean("driver page / language switch")

	b.do(10*time.Second, "emulate a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))
	t.Logf("first render of / on a 390x844 phone: %s", b.load("/").Round(time.Millisecond))
	b.screenshot("driver-mobile")
	b.checkClean("driver page / on a phone")
}

// checkNearest chooses kind ("" for any) in select#kind and asserts that
// #nearest lists only free spaces of that kind, starting with the one the
// API finds nearest to z's centre (the browser's location). It returns
// that space's id.
func checkNearest(t *testing.T, b *tab, s *browserSite, z occupancy.Zone, kind string) string {
	t.Helper()
	eval[bool](b, fmt.Sprintf(`(() => { const k = document.querySelector('select#kind'); k.value = %q;
	  k.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`, kind))
	var near struct{ Spaces []spaceJSON }
	q := url.Values{"lat": {fmt.Sprint(z.Lat)}, "lon": {fmt.Sprint(z.Lon)}, "radius_m": {"3000"}, "limit": {"1"}}
	if kind != "" {
		q.Set("kind", kind)
	}
	s.p.get(t, "/api/v1/nearby?"+q.Encode(), &near)
	if len(near.Spaces) != 1 {
		t.Fatalf("the API finds no free %s space near %v,%v", kind, z.Lat, z.Lon)
	}
	first := near.Spaces[0].ID
	listed := `[...document.querySelectorAll('#nearest li[data-id]')].map(li => li.dataset.id)`
	if _, err := b.waitJS(5*time.Second, listed+fmt.Sprintf(`[0] === %q`, first)); err != nil {
		t.Errorf("#nearest (kind %q) does not start with %s, the nearest free space to the browser's location: it lists %v",
			kind, first, eval[[]string](b, listed+`.slice(0, 5)`))
	}
	for _, id := range eval[[]string](b, listed) {
		st := eval[string](b, statusJS(id)+` || ''`)
		if sp, ok := s.reg.Space(id); !ok || st != "free" || (kind != "" && string(sp.Kind) != kind) {
			t.Errorf("#nearest (kind %q) lists %s, %s on the map, of kind %s", kind, id, st, sp.Kind)
		}
	}
	return first
}

// checkZones asserts that #zones lists every zone once, each with the
// level the API gives it.
func checkZones(t *testing.T, b *tab, s *browserSite) {
	t.Helper()
	var api struct {
		Zones []struct{ ID, Level string }
	}
	s.p.get(t, "/api/v1/zones", &api)
	got := eval[map[string]string](b, `Object.fromEntries([...document.querySelectorAll('#zones li[data-zone]')].map(li => [li.dataset.zone, li.dataset.level || '']))`)
	if len(got) != len(s.reg.Zones()) || len(api.Zones) != len(got) {
		t.Errorf("#zones lists %d zones, the registry has %d", len(got), len(s.reg.Zones()))
	}
	for _, z := range api.Zones {
		if got[z.ID] != z.Level {
			t.Errorf("#zones shows %s at level %q, the API %q", z.ID, got[z.ID], z.Level)
		}
	}
}

// checkLanguageSwitch clicks #lang: the page turns English, stays English
// across a reload, and a second click brings Chinese back.
func checkLanguageSwitch(t *testing.T, b *tab) {
	t.Helper()
	zh := eval[string](b, `document.body.innerText`)
	b.do(5*time.Second, "click #lang", chromedp.Click(chromedp.CSS("#lang")))
	b.mustWaitJS(3*time.Second, "English after #lang", `document.documentElement.lang === 'en'`)
	if en := eval[string](b, `document.body.innerText`); en == zh {
		t.Errorf("the page text did not change when switched to English")
	}
	b.load("/")
	if lang := eval[string](b, `document.documentElement.lang`); lang != "en" {
		t.Errorf("after a reload <html lang=%q>, want the chosen en", lang)
	}
	b.do(5*time.Second, "click #lang", chromedp.Click(chromedp.CSS("#lang")))
	b.mustWaitJS(3*time.Second, "Chinese after a second #lang", `document.documentElement.lang === 'zh-CN'`)
}

// TestBrowserStaffPage logs in to /staff in Chromium, first with a wrong
// token (the form comes back with a message), then with an operator token:
// every space is drawn and coloured, an overstay incident detected while
// the page is open shows in #incidents, acknowledging it there moves it to
// acknowledged in the page and in the API, and a space closed and opened
// from its panel (reached by keyboard) is closed and open in the API and on
// the map; a sensor with a low battery is in #sensors; #chart draws a
// zone's forecast; nothing else errs in the console or on the network. It
// saves a desktop screenshot.
func TestBrowserStaffPage(t *testing.T) {
	chromiumPath(t)
	// The overstay space: the first with a time limit. It is left unknown
	// until the page is open.
	var over occupancy.Space
	reg, err := occupancy.LoadRegistry(qiuaiRegistry)
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range reg.Spaces() {
		if sp.MaxStayMin > 0 && sp.ZoneID != "Z14" {
			over = sp
			break
		}
	}
	s := startBrowserSite(t, func(c *Config) {
		c.HTTP.Tokens += ",operator:" + testOperatorToken
		c.DetectInterval = 100 * time.Millisecond
	},
		map[string]bool{over.ID: true})
	// A sensor whose battery runs low (default threshold 3000 mV).
	weak := s.reg.SpacesInZone("Z02")[0]
	publish(t, s.pub, weak.SensorID, []byte(fmt.Sprintf(`{"occupied":false,"ts":%q,"seq":2,"kind":"status","battery_mv":2800}`,
		time.Now().Add(-30*time.Second).UTC().Format(time.RFC3339Nano))))
	eventually(t, 10*time.Second, "the low battery in the API", func() error {
		if _, body := s.p.get(t, "/api/v1/sensors?health=low_battery", nil); !strings.Contains(body, weak.SensorID) {
			return fmt.Errorf("%s not in %s", weak.SensorID, body)
		}
		return nil
	})
	z, _ := s.reg.Zone(over.ZoneID)
	b := newTab(t, s.p.base, 1280, 900, z.Lat, z.Lon)

	b.open("/staff")
	b.do(10*time.Second, "login form", chromedp.WaitVisible(chromedp.CSS("form#login input#token")))
	b.mustWaitJS(10*time.Second, "the page's scripts loaded", `document.readyState === 'complete'`)
	checkWrongToken(t, b)
	start := time.Now()
	staffLogin(b, testOperatorToken)
	b.mustWaitJS(15*time.Second, "staff page ready after login", `document.body.dataset.ready === '1'`)
	t.Logf("first render of /staff: login click to body[data-ready=1] %s (load %s)", time.Since(start).Round(time.Millisecond), loadavg())
	checkMap(t, b, s)
	b.mustWaitJS(5*time.Second, "staff event stream open", `document.body.dataset.live === '1'`)
	if _, err := b.waitJS(5*time.Second, fmt.Sprintf(`document.querySelector('#sensors').innerText.includes(%q)`, weak.SensorID)); err != nil {
		t.Errorf("#sensors does not list %s, whose battery reads 2800 mV: %q", weak.SensorID, eval[string](b, `document.querySelector('#sensors').innerText`))
	}

	checkChart(t, b, s, "Z03")
	checkIncidentAck(t, b, s, over)
	b.checkClean("staff page /staff")
	checkSpacePanel(t, b, s)
	b.checkClean("staff page /staff, space panel")
}

// staffLogin types token into the login form and clicks its submit button.
func staffLogin(b *tab, token string) {
	b.t.Helper()
	// Not chromedp.Clear: it empties the value attribute, which leaves a
	// field the user typed in unchanged.
	b.do(10*time.Second, "log in", chromedp.Evaluate[chromedp.Void](`document.querySelector('input#token').value = ''`),
		chromedp.SendKeys(chromedp.CSS("input#token"), token),
		chromedp.Click(chromedp.JSPath(`document.querySelector('form#login').querySelector('button:not([type]), [type=submit]')`)))
}

// checkWrongToken logs in with a token parkd does not know: the API
// answers 401 and the login form stays, with a message. The 401s are the
// only problems it lets through.
func checkWrongToken(t *testing.T, b *tab) {
	t.Helper()
	eval[bool](b, `(window.__parkdLoginText = document.querySelector('form#login').innerText, true)`)
	staffLogin(b, "not-a-staff-token-0123456789")
	b.mustWaitJS(10*time.Second, "the login form back with a message after a wrong token",
		`(() => { const f = document.querySelector('form#login');
		  return f && f.checkVisibility() && f.innerText.trim() !== window.__parkdLoginText.trim(); })()`)
	if eval[string](b, `document.body.dataset.ready || ''`) == "1" {
		t.Errorf("body[data-ready=1] after a wrong token")
	}
	got := b.takeProblems()
	for _, p := range got {
		if !strings.Contains(p, "401") {
			t.Errorf("wrong token: %s", p)
		}
	}
	if len(got) == 0 {
		t.Errorf("wrong token: the page sent no request that got a 401")
	}
}

// checkIncidentAck publishes a car parked max_stay_min + 5 minutes ago on
// over: the detector opens an overstay incident, which must show as open in
// #incidents without reload; clicking its ack button must make the row and
// the API say acknowledged.
func checkIncidentAck(t *testing.T, b *tab, s *browserSite, over occupancy.Space) {
	t.Helper()
	publish(t, s.pub, over.SensorID, msg(true, time.Now().Add(-time.Duration(over.MaxStayMin+5)*time.Minute), 1))
	var id string
	eventually(t, 10*time.Second, "the overstay incident in the API", func() error {
		if id = s.incidentStatus(t, over.ID, ""); id == "" {
			return fmt.Errorf("no overstay incident for %s", over.ID)
		}
		return nil
	})
	row := fmt.Sprintf(`document.querySelector('#incidents tr[data-incident=%q]')`, id)
	b.mustWaitJS(5*time.Second, "the incident open in #incidents without reload", row+`?.dataset.status === 'open'`)
	b.screenshot("staff-desktop")
	b.do(5*time.Second, "click ack", chromedp.Click(chromedp.JSPath(row+`.querySelector('button[data-action="ack"]')`)))
	b.mustWaitJS(5*time.Second, "the row acknowledged", row+`?.dataset.status === 'acknowledged'`)
	if got := s.incidentStatus(t, over.ID, id); got != "acknowledged" {
		t.Errorf("the API says incident %s is %q after the ack in the page, want acknowledged", id, got)
	}
}

// checkChart asserts that select#chart-zone offers every zone and that,
// with zone chosen, #chart draws a dashed line (the forecast) spanning some
// hours: the dashed "now" marker alone has no width.
func checkChart(t *testing.T, b *tab, s *browserSite, zone string) {
	t.Helper()
	opts := eval[[]string](b, `[...document.querySelectorAll('select#chart-zone option')].map(o => o.value)`)
	for _, z := range s.reg.Zones() {
		if !slices.Contains(opts, z.ID) {
			t.Errorf("select#chart-zone offers %v: no %s", opts, z.ID)
		}
	}
	eval[bool](b, fmt.Sprintf(`(() => { const k = document.querySelector('select#chart-zone'); k.value = %q;
	  k.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`, zone))
	if _, err := b.waitJS(5*time.Second, `[...document.querySelectorAll('#chart *')].some(e =>
	    getComputedStyle(e).strokeDasharray !== 'none' && e.getBBox && e.getBBox().width > 20)`); err != nil {
		t.Errorf("#chart for %s draws no dashed forecast line: %s", zone, eval[string](b, `document.querySelector('#chart').outerHTML.slice(0, 500)`))
	}
}

// checkSpacePanel focuses a free space on the map and presses Enter:
// #space-panel opens for it; its close button closes the space (API and
// map say closed), then its open button opens it again.
func checkSpacePanel(t *testing.T, b *tab, s *browserSite) {
	t.Helper()
	id := eval[string](b, `document.querySelector('#map .space[data-status="free"]').dataset.id`)
	panel := `document.querySelector('#space-panel')`
	b.do(5*time.Second, "focus "+id+" and press Enter", chromedp.Focus(chromedp.CSS(fmt.Sprintf(`#map .space[data-id=%q]`, id))),
		chromedp.KeyEvent("\r"))
	b.mustWaitJS(5*time.Second, "#space-panel open for "+id, panel+`.checkVisibility() && `+panel+fmt.Sprintf(`.innerText.includes(%q)`, id))
	for _, step := range []struct{ action, want string }{{"close", "closed"}, {"open", "free"}} {
		b.do(5*time.Second, step.action+" "+id, chromedp.Click(chromedp.JSPath(panel+fmt.Sprintf(`.querySelector('button[data-action=%q]')`, step.action))))
		b.mustWaitJS(5*time.Second, id+" "+step.want+" on the map", statusJS(id)+fmt.Sprintf(` === %q`, step.want))
		var sp spaceJSON
		if s.p.get(t, "/api/v1/spaces/"+id, &sp); sp.Status != step.want {
			t.Errorf("after %s in the panel the API says %s is %s, want %s", step.action, id, sp.Status, step.want)
		}
	}
}

// incidentStatus returns, with id "", the id of the overstay incident of
// space; with an id, that incident's status ("" when there is none).
func (s *browserSite) incidentStatus(t *testing.T, space, id string) string {
	t.Helper()
	var body struct {
		Incidents []struct {
			ID, Status string
			SpaceID    string `json:"space_id"`
		}
	}
	if code, raw := s.p.get(t, "/api/v1/incidents?type=overstay&limit=100", &body); code != 200 {
		t.Fatalf("incidents: %d %s", code, raw)
	}
	for _, inc := range body.Incidents {
		switch {
		case id == "" && inc.SpaceID == space:
			return inc.ID
		case id != "" && inc.ID == id:
			return inc.Status
		}
	}
	return ""
}

// loadavg is the 1-minute load average, for timings in the log.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0] + " on " + fmt.Sprint(runtime.NumCPU()) + " CPUs"
}
