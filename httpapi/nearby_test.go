package httpapi

import (
	"math"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/qiuai/parking/occupancy"
)

func TestNearbyBadQuery(t *testing.T) {
	e := newEnv(t)
	const ok = "lat=29.85&lon=121.64"
	tests := []struct {
		name, query, param string
	}{
		{"lat missing", "lon=121.64", "lat"},
		{"lat empty", "lat=&lon=121.64", "lat"},
		{"lon missing", "lat=29.85", "lon"},
		{"lat not a number", "lat=north&lon=121.64", "lat"},
		{"lat NaN", "lat=NaN&lon=121.64", "lat"},
		{"lon Inf", "lat=29.85&lon=Inf", "lon"},
		{"lon -Infinity", "lat=29.85&lon=-Infinity", "lon"},
		{"lat overflows", "lat=1e400&lon=121.64", "lat"},
		{"lat hex float", "lat=0x1p-2&lon=121.64", "lat"},
		{"lat with underscore", "lat=29_85&lon=121.64", "lat"},
		{"lat with trailing text", "lat=29.85abc&lon=121.64", "lat"},
		{"lat given twice", "lat=29.85&lat=29.86&lon=121.64", "lat"},
		{"lat above range", "lat=91&lon=121.64", "lat"},
		{"lat below range", "lat=-90&lon=121.64", "lat"},
		{"lon above range", "lat=29.85&lon=180.5", "lon"},
		{"radius zero", ok + "&radius_m=0", "radius_m"},
		{"radius negative", ok + "&radius_m=-5", "radius_m"},
		{"radius too large", ok + "&radius_m=5001", "radius_m"},
		{"radius NaN", ok + "&radius_m=nan", "radius_m"},
		{"radius not a number", ok + "&radius_m=far", "radius_m"},
		{"limit zero", ok + "&limit=0", "limit"},
		{"limit too large", ok + "&limit=101", "limit"},
		{"limit fraction", ok + "&limit=1.5", "limit"},
		{"limit overflows", ok + "&limit=99999999999999999999999", "limit"},
		{"limit twice", ok + "&limit=1&limit=2", "limit"},
		{"kind unknown", ok + "&kind=motorbike", "kind"},
		{"zone type unknown", ok + "&zone_type=garage", "zone_type"},
		{"zone type twice", ok + "&zone_type=on_street&zone_type=off_street", "zone_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do(t, http.MethodGet, "/api/v1/nearby?"+tc.query)
			expectError(t, w, http.StatusBadRequest, "invalid", tc.param)
		})
	}
}

// nearbyState sets the test registry's states: free ZA-02, ZA-03, ZA-04
// (accessible), ZA-07 (loading), ZB-01 and ZB-02 (ev); occupied ZA-01 and
// ZA-06; ZA-05 (ev) and ZB-03 never heard from (unknown).
func nearbyState(t *testing.T, e *env) {
	at := t0.Add(-time.Minute)
	for _, id := range []string{"ZA-02", "ZA-03", "ZA-04", "ZA-07", "ZB-01", "ZB-02"} {
		e.apply(t, id, false, at)
	}
	e.apply(t, "ZA-01", true, at)
	e.apply(t, "ZA-06", true, at)
}

func TestNearby(t *testing.T) {
	e := newEnv(t)
	nearbyState(t, e)
	from, _ := e.reg.Space("ZA-01")
	tests := []struct {
		name  string
		extra string
		want  []string
	}{
		{"default radius", "", []string{"ZA-02", "ZA-03", "ZA-04", "ZA-07"}},
		{"limit", "&limit=2", []string{"ZA-02", "ZA-03"}},
		{"kind accessible", "&kind=accessible", []string{"ZA-04"}},
		{"kind ev, none free near", "&kind=ev", []string{}},
		{"small radius", "&radius_m=25", []string{"ZA-02", "ZA-03"}},
		{"wide radius reaches zone ZB", "&radius_m=2000", []string{"ZA-02", "ZA-03", "ZA-04", "ZA-07", "ZB-01", "ZB-02"}},
		{"zone type on street", "&radius_m=2000&zone_type=on_street", []string{"ZA-02", "ZA-03", "ZA-04", "ZA-07"}},
		{"zone type off street", "&radius_m=2000&zone_type=off_street", []string{"ZB-01", "ZB-02"}},
		{"zone type and kind", "&radius_m=2000&zone_type=off_street&kind=ev", []string{"ZB-02"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got nearbyOut
			e.get(t, "/api/v1/nearby?lat=29.85&lon=121.64"+tc.extra, http.StatusOK, &got)
			if got.Spaces == nil {
				t.Fatal(`"spaces" is null or missing; want a list`)
			}
			var ids []string
			for i, s := range got.Spaces {
				ids = append(ids, s.ID)
				checkNearbySpace(t, e, from, s)
				if i > 0 && s.DistanceM < got.Spaces[i-1].DistanceM {
					t.Errorf("%s at %.1f m comes after %s at %.1f m", s.ID, s.DistanceM,
						got.Spaces[i-1].ID, got.Spaces[i-1].DistanceM)
				}
			}
			if !slices.Equal(ids, tc.want) && !(len(ids) == 0 && len(tc.want) == 0) {
				t.Errorf("spaces %v, want %v", ids, tc.want)
			}
		})
	}

	// A space taken is no longer offered.
	e.apply(t, "ZA-02", true, t0)
	var got nearbyOut
	e.get(t, "/api/v1/nearby?lat=29.85&lon=121.64&limit=1", http.StatusOK, &got)
	if len(got.Spaces) != 1 || got.Spaces[0].ID != "ZA-03" {
		t.Errorf("after ZA-02 was taken: %+v, want only ZA-03", got.Spaces)
	}
}

// nearbyOut mirrors the nearby answer.
type nearbyOut struct {
	Spaces       []spaceOut       `json:"spaces"`
	NearestZones *[]nearbyZoneOut `json:"nearest_zones_with_free"`
}

type nearbyZoneOut struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Type      string  `json:"type"`
	Lat       float64 `json:"lat"`
	Lon       float64 `json:"lon"`
	DistanceM float64 `json:"distance_m"`
	Free      int     `json:"free"`
}

// TestNearbyNothingFree checks that an answer with no free space in the
// radius names the nearest zones that have free spaces of the asked kind
// and zone type, and that an answer with spaces does not.
func TestNearbyNothingFree(t *testing.T) {
	e := newEnv(t)
	nearbyState(t, e)
	zb, _ := e.reg.Zone("ZB")
	za, _ := e.reg.Zone("ZA")
	toZB := math.Round(occupancy.Distance(29.85, 121.64, zb.Lat, zb.Lon)*10) / 10
	toZA := math.Round(occupancy.Distance(29.85, 121.64, za.Lat, za.Lon)*10) / 10
	tests := []struct {
		name, extra string
		want        []nearbyZoneOut // nil: the field must be absent
	}{
		{"spaces found: no zones", "", nil},
		{"off street only, ZB is 1 km away", "&zone_type=off_street",
			[]nearbyZoneOut{{ID: "ZB", Name: zb.Name, Type: "off_street", Lat: zb.Lat, Lon: zb.Lon, DistanceM: toZB, Free: 2}}},
		{"ev: ZA's is unknown, ZB's is free", "&kind=ev",
			[]nearbyZoneOut{{ID: "ZB", Name: zb.Name, Type: "off_street", Lat: zb.Lat, Lon: zb.Lon, DistanceM: toZB, Free: 1}}},
		{"1 m around the occupied ZA-01: both zones, nearest first", "&radius_m=1", []nearbyZoneOut{
			{ID: "ZA", Name: za.Name, Type: "on_street", Lat: za.Lat, Lon: za.Lon, DistanceM: toZA, Free: 4},
			{ID: "ZB", Name: zb.Name, Type: "off_street", Lat: zb.Lat, Lon: zb.Lon, DistanceM: toZB, Free: 2}}},
		{"on-street ev: none free anywhere", "&kind=ev&zone_type=on_street", []nearbyZoneOut{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			target := "/api/v1/nearby?lat=29.85&lon=121.64" + tc.extra
			var got nearbyOut
			e.get(t, target, http.StatusOK, &got)
			if tc.want == nil {
				if got.NearestZones != nil || len(got.Spaces) == 0 {
					t.Fatalf("got %+v, want spaces and no nearest_zones_with_free", got)
				}
				return
			}
			if got.Spaces == nil || len(got.Spaces) != 0 {
				t.Fatalf("spaces %+v, want []", got.Spaces)
			}
			if got.NearestZones == nil {
				t.Fatal("nearest_zones_with_free is missing")
			}
			if !slices.Equal(*got.NearestZones, tc.want) {
				t.Errorf("nearest_zones_with_free %+v, want %+v", *got.NearestZones, tc.want)
			}
		})
	}
}

// checkNearbySpace checks one nearby answer: free, the registry's fields,
// and a distance that matches the coordinates, rounded to 0.1 m.
func checkNearbySpace(t *testing.T, e *env, from occupancy.Space, s spaceOut) {
	t.Helper()
	sp, _ := e.reg.Space(s.ID)
	if s.Status != "free" {
		t.Errorf("%s: status %q, want free", s.ID, s.Status)
	}
	if s.ZoneID != sp.ZoneID || s.Kind != string(sp.Kind) || s.Lat != sp.Lat || s.Lon != sp.Lon || s.SensorID != sp.SensorID {
		t.Errorf("%s: static fields %+v differ from the registry %+v", s.ID, s, sp)
	}
	want := occupancy.Distance(from.Lat, from.Lon, sp.Lat, sp.Lon)
	if math.Abs(s.DistanceM-want) > 1 {
		t.Errorf("%s: distance_m %v, want about %.1f", s.ID, s.DistanceM, want)
	}
	if tenths := s.DistanceM * 10; math.Abs(tenths-math.Round(tenths)) > 1e-6 {
		t.Errorf("%s: distance_m %v is not rounded to 0.1 m", s.ID, s.DistanceM)
	}
	at, err := time.Parse(time.RFC3339Nano, s.ObservedAt)
	if seen, _ := time.Parse(time.RFC3339Nano, deref(s.LastSeen)); err != nil || at.Before(seen) {
		t.Errorf("%s: observed_at %q (%v), want a time not before last_seen %s", s.ID, s.ObservedAt, err, deref(s.LastSeen))
	}
}

func TestParseNearby(t *testing.T) {
	tests := []struct {
		name  string
		query string
		want  occupancy.NearbyQuery
	}{
		{"defaults", "lat=29.85&lon=121.64",
			occupancy.NearbyQuery{Lat: 29.85, Lon: 121.64, RadiusM: 500, Limit: 10}},
		{"every parameter", "lat=-33.5&lon=-70.25&radius_m=1e3&limit=100&kind=ev&zone_type=off_street",
			occupancy.NearbyQuery{Lat: -33.5, Lon: -70.25, RadiusM: 1000, Limit: 100, Kind: occupancy.KindEV,
				ZoneType: occupancy.OffStreet}},
		{"empty optional parameters take defaults", "lat=0&lon=0&radius_m=&limit=&kind=",
			occupancy.NearbyQuery{RadiusM: 500, Limit: 10}},
		{"unknown parameters are ignored", "lat=1&lon=2&zoom=3",
			occupancy.NearbyQuery{Lat: 1, Lon: 2, RadiusM: 500, Limit: 10}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseNearby(v)
			if err != nil {
				t.Fatalf("parseNearby(%s): %v", tc.query, err)
			}
			if got != tc.want {
				t.Errorf("parseNearby(%s) = %+v, want %+v", tc.query, got, tc.want)
			}
		})
	}
}

// FuzzNearbyQuery checks that any query string either parses into a valid
// query or is refused with EINVALID, and never panics.
func FuzzNearbyQuery(f *testing.F) {
	for _, s := range []string{
		"lat=29.85&lon=121.64",
		"lat=29.85&lon=121.64&radius_m=5000&limit=100&kind=accessible",
		"lat=NaN&lon=Inf",
		"lat=1e400&lon=-1e400&radius_m=0x10",
		"lat=29.85&lat=1&lon=121.64&limit=-1",
		"lat=%zz&lon=%00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		// Like URL.Query, keep what parses and drop bad pairs.
		v, _ := url.ParseQuery(query)
		q, err := parseNearby(v)
		if err != nil {
			if code := occupancy.ErrorCode(err); code != occupancy.EINVALID {
				t.Fatalf("parseNearby(%q): error code %q, want %q (%v)", query, code, occupancy.EINVALID, err)
			}
			return
		}
		if verr := q.Validate(); verr != nil {
			t.Fatalf("parseNearby(%q) = %+v, which does not validate: %v", query, q, verr)
		}
		if math.IsNaN(q.Lat) || math.IsInf(q.Lat, 0) || math.IsNaN(q.Lon) || math.IsInf(q.Lon, 0) ||
			math.IsInf(q.RadiusM, 0) {
			t.Fatalf("parseNearby(%q) = %+v holds a non-finite number", query, q)
		}
	})
}
