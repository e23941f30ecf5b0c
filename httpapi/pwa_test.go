package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/qiuai/parking/occupancy/geo"
)

// TestTilesReachThePages checks that a tile source reaches the pages: in
// /api/v1/map for the scripts, and in the pages' Content-Security-Policy,
// which lets images come from each of its hosts (one per subdomain) and
// from nowhere else.
func TestTilesReachThePages(t *testing.T) {
	src := TileSource{URL: "https://webrd0{s}.example.com/appmaptile?x={x}&y={y}&z={z}", Subdomains: "12",
		Attribution: "© Example", CRS: geo.GCJ02, MinZoom: 3, MaxZoom: 18}
	e := newEnv(t, func(o *Options) { o.Tiles = src })
	loadSpec(t, e).call(t, e, "/api/v1/map", "", http.StatusOK) // tiles as the document says
	var m struct{ Tiles *tilesJSON }
	if err := json.Unmarshal(e.fetch(t, "/api/v1/map").Body.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	want := tilesJSON{URL: src.URL, Subdomains: "12", Attribution: "© Example", CRS: geo.GCJ02, MinZoom: 3, MaxZoom: 18}
	if m.Tiles == nil || *m.Tiles != want {
		t.Errorf("/api/v1/map tiles %+v, want %+v", m.Tiles, want)
	}
	for _, page := range []string{"/", "/staff"} {
		csp := e.fetch(t, page).Header().Get("Content-Security-Policy")
		if !strings.Contains(csp, "img-src 'self' data: https://webrd01.example.com https://webrd02.example.com;") {
			t.Errorf("%s: CSP %q does not let the tiles in", page, csp)
		}
	}

	plain := newEnv(t)
	if body := plain.fetch(t, "/api/v1/map").Body.String(); strings.Contains(body, `"tiles"`) {
		t.Errorf("/api/v1/map without a tile source names tiles: %.200s", body)
	}
	if csp := plain.fetch(t, "/").Header().Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data:;") {
		t.Errorf("CSP without tiles: %q", csp)
	}
}

func TestNewRouterRefusesBadTiles(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "attribution") {
			t.Errorf("recovered %v, want a panic about the attribution", r)
		}
	}()
	newEnv(t, func(o *Options) { o.Tiles = TileSource{URL: "https://tile.example.org/{z}/{x}/{y}.png"} })
}

// TestManifestMakesTheDriverPageInstallable checks the web app manifest
// against what browsers ask of an installable app: a name, a start URL in
// its scope, standalone display, and PNG icons of 192 and 512 pixels (one
// maskable) that are what they say.
func TestManifestMakesTheDriverPageInstallable(t *testing.T) {
	e := newEnv(t)
	w := e.fetch(t, "/manifest.webmanifest")
	if ct := w.Header().Get("Content-Type"); ct != manifestType {
		t.Errorf("Content-Type %q", ct)
	}
	var m struct {
		Name, ShortName, StartURL, Scope, Display string
		Icons                                     []struct{ Src, Sizes, Type, Purpose string }
	}
	body := strings.NewReplacer("short_name", "shortname", "start_url", "starturl").Replace(w.Body.String())
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	if m.Name == "" || m.ShortName == "" || m.StartURL != "/" || m.Scope != "/" || m.Display != "standalone" {
		t.Errorf("manifest %+v", m)
	}
	sizes := map[string]bool{}
	for _, ic := range m.Icons {
		r := e.fetch(t, ic.Src)
		img, err := png.DecodeConfig(bytes.NewReader(r.Body.Bytes()))
		if r.Code != http.StatusOK || err != nil || ic.Type != "image/png" {
			t.Errorf("icon %s: %d, %v", ic.Src, r.Code, err)
			continue
		}
		if got := fmt.Sprintf("%dx%d", img.Width, img.Height); got != ic.Sizes {
			t.Errorf("icon %s is %s, the manifest says %s", ic.Src, got, ic.Sizes)
		}
		sizes[ic.Sizes+" "+ic.Purpose] = true
	}
	for _, want := range []string{"192x192 any", "512x512 any", "512x512 maskable"} {
		if !sizes[want] {
			t.Errorf("no %s icon in %v", want, sizes)
		}
	}
}

// TestServiceWorkerKeepsTheWholeShell checks that the service worker,
// served at the root so that it controls /, keeps every file the driver
// page loads, the manifest and its icons: a file it missed would break the
// page offline.
func TestServiceWorkerKeepsTheWholeShell(t *testing.T) {
	e := newEnv(t)
	v := embeddedPages().version
	w := e.fetch(t, "/sw.js")
	if w.Code != http.StatusOK || w.Header().Get("Cache-Control") != cacheRevalidate ||
		!strings.HasPrefix(w.Header().Get("Content-Type"), "text/javascript") {
		t.Fatalf("/sw.js: %d %v", w.Code, w.Header())
	}
	list := regexp.MustCompile(`(?s)SHELL_FILES = \[(.*?)\];`).FindStringSubmatch(w.Body.String())
	if list == nil {
		t.Fatal("/sw.js has no SHELL_FILES list")
	}
	kept := regexp.MustCompile(`'([^']+)'`).FindAllStringSubmatch(list[1], -1)
	var files []string
	for _, k := range kept {
		files = append(files, k[1])
	}
	want := append([]string{"/", "/manifest.webmanifest"}, pageAssets(t, e, "/")...)
	var m struct{ Icons []struct{ Src string } }
	_ = json.Unmarshal(e.fetch(t, "/manifest.webmanifest").Body.Bytes(), &m)
	for _, ic := range m.Icons {
		want = append(want, ic.Src)
	}
	for _, f := range want {
		if !slices.Contains(files, f) {
			t.Errorf("/sw.js does not keep %s (it keeps %v)", f, files)
		}
	}
	for _, f := range files {
		if r := e.fetch(t, f); r.Code != http.StatusOK {
			t.Errorf("/sw.js keeps %s, which answers %d", f, r.Code)
		}
		if strings.HasPrefix(f, "/static/") && !strings.HasSuffix(f, "?v="+v) {
			t.Errorf("/sw.js keeps %s without the version %s", f, v)
		}
	}
}
