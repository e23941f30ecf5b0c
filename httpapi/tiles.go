package httpapi

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/qiuai/parking/occupancy/geo"
)

// TileSource is a raster tile service (XYZ, 256-pixel Web Mercator tiles)
// that the driver and staff pages draw the town over. Without one the
// pages draw a schematic of the zones and spaces and load nothing from
// outside parkd.
type TileSource struct {
	// URL is the template of a tile's address, with {z}, {x} and {y}, and
	// {s} for a subdomain: https://tile.example.org/{z}/{x}/{y}.png, or a
	// path on parkd's own origin (/tiles/{z}/{x}/{y}.png) behind a proxy.
	URL string
	// Subdomains are the values of {s}, one character each, spread over
	// the tiles. Default "abc" when URL holds {s}.
	Subdomains string
	// Attribution is the credit line the provider's terms ask for, shown
	// on the map as plain text. Required with URL.
	Attribution string
	// CRS is the tiles' coordinate system: geo.WGS84 (OpenStreetMap and
	// most providers outside China) or geo.GCJ02 (AMap, Tencent and other
	// providers in China). Default geo.WGS84.
	CRS geo.CRS
	// MinZoom and MaxZoom are the zoom levels the service has (0–22);
	// beyond MaxZoom the pages enlarge its tiles. Default 0 and 18.
	MinZoom, MaxZoom int
}

// maxTileZoom is the highest zoom level a tile source may name.
const maxTileZoom = 22

// WithDefaults fills the defaults of the fields left zero.
func (t TileSource) WithDefaults() TileSource {
	if t.CRS == "" {
		t.CRS = geo.WGS84
	}
	if t.MaxZoom == 0 {
		t.MaxZoom = 18
	}
	if t.Subdomains == "" && strings.Contains(t.URL, "{s}") {
		t.Subdomains = "abc"
	}
	return t
}

// Validate reports what is wrong with a tile source (after WithDefaults);
// an empty URL (no tiles) is valid.
func (t TileSource) Validate() error {
	if t.URL == "" {
		return nil
	}
	for _, p := range []string{"{z}", "{x}", "{y}"} {
		if !strings.Contains(t.URL, p) {
			return fmt.Errorf("tiles: url %q has no %s", t.URL, p)
		}
	}
	if _, err := tileOrigins(t.URL, t.Subdomains); err != nil {
		return err
	}
	if _, err := geo.ParseCRS(string(t.CRS)); err != nil {
		return fmt.Errorf("tiles: %w", err)
	}
	switch {
	case strings.TrimSpace(t.Attribution) == "":
		return errors.New("tiles: attribution is empty: tile providers' terms ask for their credit on the map")
	case t.MinZoom < 0 || t.MaxZoom > maxTileZoom || t.MinZoom > t.MaxZoom:
		return fmt.Errorf("tiles: zoom range %d–%d is not within 0–%d", t.MinZoom, t.MaxZoom, maxTileZoom)
	}
	return nil
}

// tileOrigins returns the origins the tiles come from, one per subdomain,
// for the pages' Content-Security-Policy; none for a path on parkd itself.
func tileOrigins(template, subdomains string) ([]string, error) {
	if strings.HasPrefix(template, "/") && !strings.HasPrefix(template, "//") {
		return nil, nil
	}
	subs := []string{""}
	if strings.Contains(template, "{s}") {
		subs = strings.Split(subdomains, "")
	}
	var out []string
	for _, s := range subs {
		u, err := url.Parse(strings.ReplaceAll(template, "{s}", s))
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.ContainsAny(u.Host, "{}") {
			return nil, fmt.Errorf("tiles: url %q is not an http(s) URL or a path such as /tiles/{z}/{x}/{y}.png", template)
		}
		if o := u.Scheme + "://" + u.Host; !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out, nil
}

// tilesJSON is the tile source as /api/v1/map gives it to the pages.
type tilesJSON struct {
	URL         string  `json:"url"`
	Subdomains  string  `json:"subdomains"`
	Attribution string  `json:"attribution"`
	CRS         geo.CRS `json:"crs"`
	MinZoom     int     `json:"min_zoom"`
	MaxZoom     int     `json:"max_zoom"`
}

// newTilesJSON returns t for the map answer, nil when there is none.
func newTilesJSON(t TileSource) *tilesJSON {
	if t.URL == "" {
		return nil
	}
	return &tilesJSON{URL: t.URL, Subdomains: t.Subdomains, Attribution: t.Attribution,
		CRS: t.CRS, MinZoom: t.MinZoom, MaxZoom: t.MaxZoom}
}

// pagesCSP is the pages' Content-Security-Policy: everything from parkd
// itself, and images from the tile source's origins too.
func pagesCSP(t TileSource) string {
	img := "img-src 'self' data:"
	origins, _ := tileOrigins(t.URL, t.Subdomains) // validated in NewRouter
	for _, o := range origins {
		img += " " + o
	}
	return "default-src 'self'; " + img + "; style-src 'self'; script-src 'self'; connect-src 'self'; " +
		"worker-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}
