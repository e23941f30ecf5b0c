package httpapi

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/qiuai/parking/httpapi/web"
	"github.com/qiuai/parking/occupancy"
)

// The web pages (package web) are served from memory: each file is read
// once when the router is built, its __V__ markers replaced by the version
// of the whole set, and gzipped once. A request for /static/NAME?v=VERSION
// is cached for a year (the URL changes with any file); anything else is
// revalidated with its ETag.

// versionMarker stands for the assets' version in the HTML and JS files.
const versionMarker = "__V__"

// manifestType is the content type of a web app manifest.
const manifestType = "application/manifest+json"

// Cache policies of the pages and their assets.
const (
	cacheImmutable   = "public, max-age=31536000, immutable"
	cacheRevalidate  = "no-cache"
	minGzipSavedFrac = 10 // gzip only when it saves at least 1/10 of the bytes
)

// asset is one served file.
type asset struct {
	body, gz []byte // gz nil when gzip does not pay
	ctype    string
	etag     string // quoted; the gzip variant adds -gz
}

// pageSet holds the embedded files ready to serve.
type pageSet struct {
	files   map[string]*asset
	version string
}

// newPageSet reads every file of fsys (a flat folder) into memory. It
// fails on a sub-folder or a file type it cannot name.
func newPageSet(fsys fs.FS) (*pageSet, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("pages: %w", err)
	}
	raw := map[string][]byte{}
	sum := sha256.New()
	for _, e := range entries {
		if e.IsDir() {
			return nil, fmt.Errorf("pages: %s: sub-folders are not served", e.Name())
		}
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("pages: %w", err)
		}
		raw[e.Name()] = b
		fmt.Fprintf(sum, "%s\x00%d\x00", e.Name(), len(b))
		sum.Write(b)
	}
	ps := &pageSet{files: map[string]*asset{}, version: hex.EncodeToString(sum.Sum(nil))[:12]}
	for name, b := range raw {
		a, err := ps.newAsset(name, b)
		if err != nil {
			return nil, err
		}
		ps.files[name] = a
	}
	return ps, nil
}

// newAsset prepares one file: version markers, content type, ETag, gzip.
func (ps *pageSet) newAsset(name string, b []byte) (*asset, error) {
	ctype := contentType(name)
	if ctype == "" {
		return nil, fmt.Errorf("pages: %s: unknown file type", name)
	}
	if strings.HasPrefix(ctype, "text/") || ctype == manifestType {
		b = bytes.ReplaceAll(b, []byte(versionMarker), []byte(ps.version))
	}
	h := sha256.Sum256(b)
	a := &asset{body: b, ctype: ctype, etag: `"` + hex.EncodeToString(h[:8]) + `"`}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	_, _ = zw.Write(b)
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("pages: gzip %s: %w", name, err)
	}
	if gz.Len() < len(b)-len(b)/minGzipSavedFrac {
		a.gz = gz.Bytes()
	}
	return a, nil
}

// contentType names a file's type from its extension, "" if unknown.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".webmanifest":
		return manifestType
	}
	return mime.TypeByExtension(path.Ext(name))
}

// pageRoutes registers GET and HEAD / (driver page), /staff (staff
// dashboard), /static/:name (their assets), and the driver page's web app
// manifest and service worker, which must sit at the root to control
// the page. The staff page itself is public: it asks for a token and
// sends it with its API calls. csp is the pages' Content-Security-Policy.
func pageRoutes(r *gin.Engine, ps *pageSet, csp string) {
	for _, method := range []string{http.MethodGet, http.MethodHead} { // HEAD: net/http drops the body
		r.Handle(method, "/", ps.page("index.html", csp))
		r.Handle(method, "/staff", ps.page("staff.html", csp))
		r.Handle(method, "/static/:name", ps.static)
		r.Handle(method, "/manifest.webmanifest", ps.root("manifest.webmanifest"))
		r.Handle(method, "/sw.js", ps.root("sw.js"))
	}
}

// root serves an asset that lives at the root, revalidated on each load:
// browsers look for a new service worker there on every visit.
func (ps *pageSet) root(name string) gin.HandlerFunc {
	return func(c *gin.Context) { ps.serve(c, ps.files[name], cacheRevalidate) }
}

// page serves one HTML page: revalidated on each load, so a new parkd's
// pages (and through them new asset URLs) are seen at once.
func (ps *pageSet) page(name, csp string) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Content-Security-Policy", csp)
		c.Header("X-Frame-Options", "DENY")
		c.Header("Referrer-Policy", "no-referrer")
		ps.serve(c, ps.files[name], cacheRevalidate)
	}
}

// static serves /static/:name; 404 in the JSON error shape for a name not
// in the set.
func (ps *pageSet) static(c *gin.Context) {
	a, ok := ps.files[c.Param("name")]
	if !ok || strings.HasSuffix(c.Param("name"), ".html") {
		fail(c, occupancy.Errorf(occupancy.ENOTFOUND, "no file %s", truncate(c.Param("name"), 64)))
		return
	}
	policy := cacheRevalidate
	if c.Query("v") == ps.version {
		policy = cacheImmutable
	}
	ps.serve(c, a, policy)
}

// serve writes a, gzipped when the client takes it, or 304 when the
// client's copy is current.
func (ps *pageSet) serve(c *gin.Context, a *asset, policy string) {
	body, etag := a.body, a.etag
	if a.gz != nil && acceptsGzip(c.Request) {
		body, etag = a.gz, strings.TrimSuffix(a.etag, `"`)+`-gz"`
		c.Header("Content-Encoding", "gzip")
	}
	c.Header("Vary", "Accept-Encoding")
	c.Header("Cache-Control", policy)
	c.Header("ETag", etag)
	c.Header("X-Content-Type-Options", "nosniff")
	if inm := c.GetHeader("If-None-Match"); inm != "" && etagMatches(inm, etag) {
		c.Status(http.StatusNotModified)
		return
	}
	c.Data(http.StatusOK, a.ctype, body)
}

// acceptsGzip reports whether the request's Accept-Encoding takes gzip
// (and does not refuse it with q=0).
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			q := strings.ReplaceAll(params, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

// etagMatches reports whether an If-None-Match header names etag (or *).
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// embeddedPages is newPageSet on the embedded pages, built once per
// process; a failure is a build bug (a sub-folder or an unknown file type
// in httpapi/web/static).
var embeddedPages = sync.OnceValue(func() *pageSet {
	ps, err := newPageSet(web.Files())
	if err != nil {
		panic("httpapi: " + err.Error())
	}
	return ps
})
