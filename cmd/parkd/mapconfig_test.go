package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qiuai/parking/httpapi"
	"github.com/qiuai/parking/occupancy/geo"
)

func TestTilesConfig(t *testing.T) {
	file := filepath.Join(t.TempDir(), "parkd.yaml")
	yaml := "map:\n  tiles:\n    url: https://webrd0{s}.example.com/tile?x={x}&y={y}&z={z}\n" +
		"    subdomains: \"1234\"\n    attribution: © Example\n    crs: gcj02\n    min_zoom: 3\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		env  map[string]string
		want httpapi.TileSource
	}{
		{"none by default", "", nil, httpapi.TileSource{CRS: geo.WGS84, MaxZoom: 18}},
		{"file", file, nil, httpapi.TileSource{URL: "https://webrd0{s}.example.com/tile?x={x}&y={y}&z={z}",
			Subdomains: "1234", Attribution: "© Example", CRS: geo.GCJ02, MinZoom: 3, MaxZoom: 18}},
		{"env over the file", file, map[string]string{"PARKD_MAP_TILES_URL": "/tiles/{z}/{x}/{y}.png",
			"PARKD_MAP_TILES_CRS": "wgs84", "PARKD_MAP_TILES_ATTRIBUTION": "© OpenStreetMap contributors",
			"PARKD_MAP_TILES_MIN_ZOOM": "12", "PARKD_MAP_TILES_MAX_ZOOM": "19"},
			httpapi.TileSource{URL: "/tiles/{z}/{x}/{y}.png", Subdomains: "1234",
				Attribution: "© OpenStreetMap contributors", CRS: geo.WGS84, MinZoom: 12, MaxZoom: 19}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadConfig(tc.path, tc.path != "", func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Map.Tiles.source(); got != tc.want {
				t.Errorf("tiles %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestTilesConfigRefuses(t *testing.T) {
	ok := map[string]string{"PARKD_MAP_TILES_URL": "https://tile.example.org/{z}/{x}/{y}.png", "PARKD_MAP_TILES_ATTRIBUTION": "© Example"}
	for name, tc := range map[string]struct {
		env  map[string]string
		says string
	}{
		"no {x}":          {map[string]string{"PARKD_MAP_TILES_URL": "https://tile.example.org/{z}/{y}.png"}, "{x}"},
		"not a URL":       {map[string]string{"PARKD_MAP_TILES_URL": "tile.example.org/{z}/{x}/{y}.png"}, "http(s) URL"},
		"ftp":             {map[string]string{"PARKD_MAP_TILES_URL": "ftp://tile.example.org/{z}/{x}/{y}.png"}, "http(s) URL"},
		"no attribution":  {map[string]string{"PARKD_MAP_TILES_ATTRIBUTION": " "}, "attribution"},
		"bd09":            {map[string]string{"PARKD_MAP_TILES_CRS": "bd09"}, "wgs84 or gcj02"},
		"zoom not number": {map[string]string{"PARKD_MAP_TILES_MAX_ZOOM": "high"}, "PARKD_MAP_TILES_MAX_ZOOM"},
		"zoom range":      {map[string]string{"PARKD_MAP_TILES_MIN_ZOOM": "19"}, "zoom range"},
		"zoom too deep":   {map[string]string{"PARKD_MAP_TILES_MAX_ZOOM": "23"}, "zoom range"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := loadConfig("", false, func(k string) string {
				if v, set := tc.env[k]; set {
					return v
				}
				return ok[k]
			})
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("error %v, want one that says %q", err, tc.says)
			}
		})
	}
}
