package httpapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"io/fs"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/qiuai/parking/configs"
	"github.com/qiuai/parking/httpapi/web"
	"github.com/qiuai/parking/occupancy"
)

func init() {
	// The pages' answers are text: validate them as strings.
	for _, ct := range []string{"text/html", "text/css", "text/javascript"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
	}
}

// fetch sends GET target with extra headers ("Name: value") and returns the
// answer.
func (e *env) fetch(tb testing.TB, target string, headers ...string) *httptest.ResponseRecorder {
	tb.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.router.ServeHTTP(w, req)
	return w
}

// gunzip decodes a gzip body.
func gunzip(tb testing.TB, b []byte) []byte {
	tb.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		tb.Fatalf("gunzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatalf("gunzip: %v", err)
	}
	return out
}

func TestPagesServeTheEmbeddedFiles(t *testing.T) {
	e := newEnv(t)
	v := embeddedPages().version
	cases := []struct {
		name, target, ctype, cache, holds string
	}{
		{"driver page", "/", "text/html; charset=utf-8", "no-cache", `<svg id="map"`},
		{"staff page", "/staff", "text/html; charset=utf-8", "no-cache", `<form id="login">`},
		{"style sheet, versioned", "/static/app.css?v=" + v, "text/css; charset=utf-8", cacheImmutable, ".space"},
		{"module, versioned", "/static/common.js?v=" + v, "text/javascript; charset=utf-8", cacheImmutable, "export class TownMap"},
		{"module, old version", "/static/driver.js?v=0ld", "text/javascript; charset=utf-8", "no-cache", "common.js?v=" + v},
		{"module, no version", "/static/staff.js", "text/javascript; charset=utf-8", "no-cache", "common.js?v=" + v},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := e.fetch(t, tc.target)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d; body %.200s", w.Code, w.Body)
			}
			if got := w.Header().Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type %q, want %q", got, tc.ctype)
			}
			if got := w.Header().Get("Cache-Control"); got != tc.cache {
				t.Errorf("Cache-Control %q, want %q", got, tc.cache)
			}
			if w.Header().Get("ETag") == "" || w.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("headers %v: want an ETag and nosniff", w.Header())
			}
			if !strings.Contains(w.Body.String(), tc.holds) {
				t.Errorf("body does not hold %q", tc.holds)
			}
			if strings.Contains(w.Body.String(), versionMarker) {
				t.Errorf("body still holds the marker %s", versionMarker)
			}
		})
	}
	t.Run("pages carry a content security policy of self only", func(t *testing.T) {
		for _, p := range []string{"/", "/staff"} {
			csp := e.fetch(t, p).Header().Get("Content-Security-Policy")
			if !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "http") {
				t.Errorf("%s: CSP %q", p, csp)
			}
		}
	})
	t.Run("gzip when taken, same bytes", func(t *testing.T) {
		plain := e.fetch(t, "/static/common.js?v="+v)
		gz := e.fetch(t, "/static/common.js?v="+v, "Accept-Encoding: br, gzip;q=0.8")
		if gz.Header().Get("Content-Encoding") != "gzip" || gz.Header().Get("Vary") != "Accept-Encoding" {
			t.Fatalf("headers %v", gz.Header())
		}
		if !bytes.Equal(gunzip(t, gz.Body.Bytes()), plain.Body.Bytes()) {
			t.Error("gzipped body differs from the plain one")
		}
		if gz.Header().Get("ETag") == plain.Header().Get("ETag") {
			t.Error("the gzip variant has the plain variant's ETag")
		}
		if e.fetch(t, "/", "Accept-Encoding: gzip;q=0").Header().Get("Content-Encoding") != "" {
			t.Error("gzip sent although refused with q=0")
		}
	})
	t.Run("304 for a current ETag", func(t *testing.T) {
		etag := e.fetch(t, "/").Header().Get("ETag")
		if w := e.fetch(t, "/", "If-None-Match: "+etag); w.Code != http.StatusNotModified || w.Body.Len() != 0 {
			t.Errorf("status %d, body %d bytes; want 304 and none", w.Code, w.Body.Len())
		}
		if w := e.fetch(t, "/", `If-None-Match: "stale"`); w.Code != http.StatusOK {
			t.Errorf("stale ETag: status %d, want 200", w.Code)
		}
	})
	t.Run("unknown files are 404 in the error shape", func(t *testing.T) {
		for _, p := range []string{"/static/nope.js", "/static/index.html", "/static/..%2fpages.go", "/index.html"} {
			expectError(t, e.fetch(t, p), http.StatusNotFound, occupancy.ENOTFOUND)
		}
	})
}

// assetRefs finds what a page or module loads: src/href attributes and
// module imports, as paths under /static/.
var assetRefs = regexp.MustCompile(`(?:src|href)="(/static/[^"]+)"|from '\./([^']+)'`)

// pageAssets returns every asset the page at target loads, recursively
// through module imports.
func pageAssets(t *testing.T, e *env, target string) []string {
	t.Helper()
	seen := map[string]bool{}
	var walk func(body string)
	var out []string
	walk = func(body string) {
		for _, m := range assetRefs.FindAllStringSubmatch(body, -1) {
			ref := m[1]
			if ref == "" {
				ref = "/static/" + m[2]
			}
			if seen[ref] {
				continue
			}
			seen[ref] = true
			out = append(out, ref)
			w := e.fetch(t, ref)
			if w.Code != http.StatusOK {
				t.Fatalf("%s loads %s: status %d", target, ref, w.Code)
			}
			walk(w.Body.String())
		}
	}
	walk(e.fetch(t, target).Body.String())
	return out
}

func TestPagesLinkEveryAssetByVersion(t *testing.T) {
	e := newEnv(t)
	v := embeddedPages().version
	for _, page := range []string{"/", "/staff"} {
		refs := pageAssets(t, e, page)
		if len(refs) < 3 {
			t.Errorf("%s loads only %v", page, refs)
		}
		for _, ref := range refs {
			if !strings.HasSuffix(ref, "?v="+v) {
				t.Errorf("%s loads %s without the version %s: it would not be cached", page, ref, v)
			}
			if cc := e.fetch(t, ref).Header().Get("Cache-Control"); cc != cacheImmutable {
				t.Errorf("%s: Cache-Control %q", ref, cc)
			}
		}
	}
}

// allowedURLs are absolute URLs that are names, not requests: the SVG
// namespace passed to createElementNS, and the map providers' pages that
// the navigation links of nav.js lead to (followed only when a driver taps
// one, never loaded by the page).
var allowedURLs = map[string]bool{"http://www.w3.org/2000/svg": true,
	"https://uri.amap.com/navigation": true, "https://api.map.baidu.com/marker": true, "https://apis.map.qq.com/uri/v1/marker": true}

var (
	absURL   = regexp.MustCompile(`(?i)https?://[^\s'"()<>]*`)
	attrURL  = regexp.MustCompile(`(?i)\s(?:src|href|action)=["']([^"']*)["']`)
	cssURL   = regexp.MustCompile(`(?i)url\(\s*['"]?([^'")]*)`)
	cssImpor = regexp.MustCompile(`(?i)@import`)
)

// TestPagesLoadNothingFromOutside checks every embedded file: no absolute
// http(s) URL but the SVG namespace name, no src/href/url() that is not
// relative to parkd (or a data: URL), no CSS @import.
func TestPagesLoadNothingFromOutside(t *testing.T) {
	files := web.Files()
	names, err := fs.Glob(files, "*")
	if err != nil || len(names) == 0 {
		t.Fatalf("no embedded files: %v", err)
	}
	for _, name := range names {
		b, err := fs.ReadFile(files, name)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for _, u := range absURL.FindAllString(s, -1) {
			if !allowedURLs[u] {
				t.Errorf("%s: absolute URL %s", name, u)
			}
		}
		var refs [][]string
		switch path.Ext(name) {
		case ".html":
			refs = attrURL.FindAllStringSubmatch(s, -1)
		case ".css":
			refs = cssURL.FindAllStringSubmatch(s, -1)
		}
		for _, m := range refs {
			if u := m[1]; !(strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//")) && !strings.HasPrefix(u, "#") && !strings.HasPrefix(u, "data:") {
				t.Errorf("%s: reference %q is not relative to parkd", name, u)
			}
		}
		if cssImpor.MatchString(s) {
			t.Errorf("%s: CSS @import", name)
		}
	}
}

// TestDriverPageWeight loads the driver page as a browser does (gzip), with
// the Qiuai registry of 3718 spaces in mixed states, and checks that the
// page, its style sheet, its modules and the map data stay within 300 KB.
func TestDriverPageWeight(t *testing.T) {
	reg, err := occupancy.LoadRegistryFS(configs.FS, "qiuai")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvReg(t, reg)
	mixStates(t, e, reg, 1)
	const budget = 300 << 10
	total := 0
	size := func(w *httptest.ResponseRecorder) int {
		n := w.Body.Len()
		for k, vs := range w.Header() {
			for _, v := range vs {
				n += len(k) + len(v) + 4
			}
		}
		return n
	}
	gz := "Accept-Encoding: gzip, deflate, br"
	for _, target := range append([]string{"/", "/api/v1/map", "/manifest.webmanifest", "/sw.js"}, pageAssets(t, e, "/")...) {
		w := e.fetch(t, target, gz)
		if w.Code != http.StatusOK {
			t.Fatalf("%s: status %d", target, w.Code)
		}
		if w.Header().Get("Content-Encoding") != "gzip" && !strings.HasPrefix(w.Header().Get("Content-Type"), "image/") {
			t.Errorf("%s is not gzipped", target)
		}
		t.Logf("%-40s %7d bytes", target, size(w))
		total += size(w)
	}
	t.Logf("driver page with its data: %d bytes (budget %d)", total, budget)
	if total > budget {
		t.Errorf("the driver page weighs %d bytes, over the budget of %d", total, budget)
	}
}

// mixStates gives every space of reg a reading, 60 % occupied, through
// the store as ingest would, in one pipelined batch per call.
func mixStates(t *testing.T, e *env, reg *occupancy.Registry, seed int64) {
	t.Helper()
	rng := rand.New(rand.NewSource(seed))
	ctx := context.Background()
	for i, sp := range reg.Spaces() {
		r := occupancy.Reading{SensorID: sp.SensorID, Occupied: rng.Float64() < 0.6,
			TS: t0.Add(-time.Duration(i) * time.Second), BatteryMV: 3600}
		if _, err := e.store.Apply(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
}

// pagesOpenAPICases validates the pages and the map against the document
// (called from TestOpenAPI, which checks that every operation is covered).
func pagesOpenAPICases(t *testing.T, e *env, s *spec) {
	v := embeddedPages().version
	s.call(t, e, "/", "", 200)
	s.call(t, e, "/staff", "", 200)
	s.call(t, e, "/static/app.css?v="+v, "", 200)
	s.call(t, e, "/static/driver.js", "", 200)
	s.call(t, e, "/static/nope.css", "", 404)
	s.call(t, e, "HEAD /", "", 200)
	s.call(t, e, "HEAD /staff", "", 200)
	s.call(t, e, "HEAD /static/app.css?v="+v, "", 200)
	req := httptest.NewRequest(http.MethodGet, "/static/app.css?v="+v, nil)
	req.Header.Set("If-None-Match", e.fetch(t, "/static/app.css?v="+v).Header().Get("ETag"))
	w := httptest.NewRecorder()
	e.router.ServeHTTP(w, req)
	if w.Code != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d, want 304", w.Code)
	}
	s.check(t, req, w)
	s.call(t, e, "/api/v1/map", "", 200)
	s.call(t, e, "/manifest.webmanifest", "", 200)
	s.call(t, e, "HEAD /manifest.webmanifest", "", 200)
	s.call(t, e, "/sw.js", "", 200)
	s.call(t, e, "HEAD /sw.js", "", 200)
}

// TestPagesHoldTheDOMContract checks the elements that the browser tests
// and the pages' scripts rely on (notes: the DOM contract): ids, the
// language button, the kind filter's values, the labelled password field.
func TestPagesHoldTheDOMContract(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		page  string
		holds []string
	}{
		{"/", []string{`<html lang="zh-CN">`, `<button id="lang"`, `<svg id="map"`, `<ol id="nearest"`, `<ul id="zones"`,
			`<select id="kind">`, `<option value="any"`, `<option value="accessible"`, `<option value="ev"`,
			`<option value="loading"`, `<option value="standard"`, `aria-live="polite"`, `<label for="kind"`,
			`<link rel="manifest" href="/manifest.webmanifest">`, `<section id="space-card"`, `data-card="links"`,
			`data-card="share"`, `<p id="stale"`}},
		{"/staff", []string{`<html lang="zh-CN">`, `<button id="lang"`, `<svg id="map"`, `<form id="login">`,
			`<label for="token"`, `<input id="token" name="token" type="password"`, `<ul id="zones"`, `<table id="incidents">`,
			`<table id="sensors">`, `<svg id="chart"`, `<select id="chart-zone">`, `<section id="space-panel"`,
			`<button type="button" data-action="close"`, `<button type="button" data-action="open"`, `aria-live="polite"`}},
	}
	for _, tc := range cases {
		body := e.fetch(t, tc.page).Body.String()
		for _, h := range tc.holds {
			if !strings.Contains(body, h) {
				t.Errorf("%s does not hold %s", tc.page, h)
			}
		}
	}
}

// TestPagesAnswerHEAD checks that uptime checks and link checkers get the
// pages' headers with HEAD, through a real server (which drops the body).
func TestPagesAnswerHEAD(t *testing.T) {
	e := newEnv(t)
	srv := httptest.NewServer(e.router)
	t.Cleanup(srv.Close)
	for _, target := range []string{"/", "/staff", "/static/app.css"} {
		resp, err := http.Head(srv.URL + target)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/") {
			t.Errorf("HEAD %s: %d, ETag %q, Content-Type %q; want 200 with the GET answer's headers",
				target, resp.StatusCode, resp.Header.Get("ETag"), resp.Header.Get("Content-Type"))
		}
	}
}
