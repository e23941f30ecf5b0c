package main

import (
	"fmt"
	"strconv"

	"github.com/qiuai/parking/httpapi"
	"github.com/qiuai/parking/occupancy/geo"
)

// TilesConfig is map.tiles: the raster tiles the web pages draw the town
// over (httpapi.TileSource). An empty URL keeps the pages' schematic.
type TilesConfig struct {
	URL         string `yaml:"url"`
	Subdomains  string `yaml:"subdomains"`
	Attribution string `yaml:"attribution"`
	CRS         string `yaml:"crs"`
	MinZoom     int    `yaml:"min_zoom"`
	MaxZoom     int    `yaml:"max_zoom"`
}

// defaultTiles is map.tiles by default: no tiles; WGS-84, zooms 0–18 once
// a url is set.
func defaultTiles() TilesConfig {
	return TilesConfig{CRS: string(geo.WGS84), MinZoom: 0, MaxZoom: 18}
}

// applyEnv overrides map.tiles from the environment:
//
//	PARKD_MAP_TILES_URL, PARKD_MAP_TILES_SUBDOMAINS, PARKD_MAP_TILES_ATTRIBUTION,
//	PARKD_MAP_TILES_CRS, PARKD_MAP_TILES_MIN_ZOOM, PARKD_MAP_TILES_MAX_ZOOM
func (t *TilesConfig) applyEnv(getenv func(string) string) error {
	for name, dst := range map[string]*string{"PARKD_MAP_TILES_URL": &t.URL, "PARKD_MAP_TILES_SUBDOMAINS": &t.Subdomains,
		"PARKD_MAP_TILES_ATTRIBUTION": &t.Attribution, "PARKD_MAP_TILES_CRS": &t.CRS} {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	for name, dst := range map[string]*int{"PARKD_MAP_TILES_MIN_ZOOM": &t.MinZoom, "PARKD_MAP_TILES_MAX_ZOOM": &t.MaxZoom} {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("config: %s %q is not a zoom level such as 18", name, v)
			}
			*dst = n
		}
	}
	return nil
}

// source is the tile source for httpapi; validate it with Validate.
func (t TilesConfig) source() httpapi.TileSource {
	return httpapi.TileSource{URL: t.URL, Subdomains: t.Subdomains, Attribution: t.Attribution,
		CRS: geo.CRS(t.CRS), MinZoom: t.MinZoom, MaxZoom: t.MaxZoom}.WithDefaults()
}
