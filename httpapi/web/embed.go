// Package web holds parkd's web pages: the driver page (index.html) and the
// staff dashboard (staff.html), with their style sheet and JavaScript
// modules, all under static/ and embedded in the binary. The pages load
// nothing from outside parkd (no CDN, no web fonts) but the map tiles of a
// tile source when parkd has one (httpapi.TileSource). index.html also has
// its web app manifest (manifest.webmanifest), icons and service worker
// (sw.js), which httpapi serves at the root.
//
// The files are plain modern JavaScript modules, SVG and CSS: no build
// step. In the HTML and JS files the marker __V__ stands for the version of
// the whole set of files; httpapi replaces it when it serves them, so a
// changed file gets new URLs and the others can be cached for good.
package web

import (
	"embed"
	"io/fs"
)

//go:embed static
var static embed.FS

// Files returns the pages and their assets, rooted at static/ (index.html,
// staff.html, app.css, *.js): a flat folder.
func Files() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic("web: " + err.Error()) // static is embedded: cannot happen
	}
	return sub
}
