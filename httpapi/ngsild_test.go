package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// ngsiEntity mirrors the entities served, every member known.
type ngsiEntity struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Name     ngsiPropOut
	Status   *ngsiPropOut `json:"status"`
	Category *ngsiPropOut `json:"category"`
	Location struct {
		Type  string `json:"type"`
		Value struct {
			Type        string     `json:"type"`
			Coordinates [2]float64 `json:"coordinates"`
		} `json:"value"`
	} `json:"location"`
	RefParkingSite *struct {
		Type   string `json:"type"`
		Object string `json:"object"`
	} `json:"refParkingSite"`
	TotalSpotNumber     *ngsiPropOut `json:"totalSpotNumber"`
	AvailableSpotNumber *ngsiPropOut `json:"availableSpotNumber"`
	OccupiedSpotNumber  *ngsiPropOut `json:"occupiedSpotNumber"`
	Occupancy           *ngsiPropOut `json:"occupancy"`
	Context             []string     `json:"@context"`
}

type ngsiPropOut struct {
	Type       string `json:"type"`
	Value      any    `json:"value"`
	ObservedAt string `json:"observedAt"`
}

// ngsiGet fetches target, expects 200 in application/ld+json and decodes
// the entity array strictly.
func ngsiGet(t *testing.T, e *env, target string) ([]ngsiEntity, http.Header) {
	t.Helper()
	w := e.get(t, target, http.StatusOK, nil)
	if ct := w.Header().Get("Content-Type"); ct != "application/ld+json" {
		t.Errorf("Content-Type %q, want application/ld+json", ct)
	}
	var out []ngsiEntity
	decodeStrict(t, w.Body.Bytes(), &out)
	if out == nil {
		t.Fatalf("body %s is not a JSON array", w.Body)
	}
	for _, ent := range out {
		if len(ent.Context) == 0 {
			t.Errorf("%s has no @context", ent.ID)
		}
	}
	return out, w.Header()
}

func TestNGSIParkingSpots(t *testing.T) {
	e := newEnv(t)
	// Sensor time a minute back, received 30 s back: observedAt is when
	// parkd last heard the sensor.
	seen := t0.Add(-30 * time.Second)
	e.clk.Set(seen)
	e.apply(t, "ZA-01", true, t0.Add(-time.Minute))
	e.apply(t, "ZA-02", false, t0.Add(-time.Minute))
	e.clk.Set(t0)
	got, _ := ngsiGet(t, e, "/ngsi-ld/v1/entities?type=ParkingSpot")
	if len(got) != 10 {
		t.Fatalf("%d entities, want the 10 spaces", len(got))
	}
	byID := map[string]ngsiEntity{}
	for _, ent := range got {
		byID[ent.ID] = ent
	}
	tests := []struct {
		id, status, observed, site string
		category                   []any
	}{
		{"urn:ngsi-ld:ParkingSpot:ZA-01", "occupied", ts(seen), "urn:ngsi-ld:OnStreetParking:ZA", []any{"onStreet"}},
		{"urn:ngsi-ld:ParkingSpot:ZA-02", "free", ts(seen), "urn:ngsi-ld:OnStreetParking:ZA", []any{"onStreet"}},
		{"urn:ngsi-ld:ParkingSpot:ZA-04", "unknown", "", "urn:ngsi-ld:OnStreetParking:ZA", []any{"onStreet", "forDisabled"}},
		{"urn:ngsi-ld:ParkingSpot:ZB-02", "unknown", "", "urn:ngsi-ld:OffStreetParking:ZB", []any{"offStreet", "forElectricalCharging"}},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			ent, ok := byID[tc.id]
			if !ok {
				t.Fatalf("no entity %s", tc.id)
			}
			if ent.Type != "ParkingSpot" || ent.Status == nil || ent.Status.Type != "Property" ||
				ent.Status.Value != tc.status || ent.Status.ObservedAt != tc.observed {
				t.Errorf("status %+v, want Property %s observed at %q", ent.Status, tc.status, tc.observed)
			}
			if ent.RefParkingSite == nil || ent.RefParkingSite.Type != "Relationship" || ent.RefParkingSite.Object != tc.site {
				t.Errorf("refParkingSite %+v, want Relationship to %s", ent.RefParkingSite, tc.site)
			}
			if ent.Category == nil || !slices.Equal(ent.Category.Value.([]any), tc.category) {
				t.Errorf("category %+v, want %v", ent.Category, tc.category)
			}
			sp, _ := e.reg.Space(tc.id[len("urn:ngsi-ld:ParkingSpot:"):])
			loc := ent.Location
			if loc.Type != "GeoProperty" || loc.Value.Type != "Point" || loc.Value.Coordinates != [2]float64{sp.Lon, sp.Lat} {
				t.Errorf("location %+v, want a GeoProperty Point [%v, %v]", loc, sp.Lon, sp.Lat)
			}
		})
	}
}

func TestNGSIParkingSites(t *testing.T) {
	e := newEnv(t)
	at := t0.Add(-30 * time.Second) // when the last change was received
	e.clk.Set(at)
	e.apply(t, "ZA-01", true, t0.Add(-time.Minute))
	e.apply(t, "ZA-02", true, t0.Add(-time.Minute))
	e.apply(t, "ZA-03", false, t0.Add(-time.Minute))
	e.clk.Set(t0)
	got, _ := ngsiGet(t, e, "/ngsi-ld/v1/entities?type=OnStreetParking")
	if len(got) != 1 || got[0].ID != "urn:ngsi-ld:OnStreetParking:ZA" || got[0].Type != "OnStreetParking" {
		t.Fatalf("entities %+v, want only urn:ngsi-ld:OnStreetParking:ZA", got)
	}
	za := got[0]
	za0, _ := e.reg.Zone("ZA")
	checks := []struct {
		name string
		p    *ngsiPropOut
		want any
	}{
		{"name", &za.Name, za0.Name},
		{"totalSpotNumber", za.TotalSpotNumber, 7.0},
		{"availableSpotNumber", za.AvailableSpotNumber, 1.0},
		{"occupiedSpotNumber", za.OccupiedSpotNumber, 2.0},
		{"occupancy", za.Occupancy, 0.286}, // 2 of 7
	}
	for _, c := range checks {
		if c.p == nil || c.p.Type != "Property" || c.p.Value != c.want {
			t.Errorf("%s: %+v, want Property %v", c.name, c.p, c.want)
		}
	}
	if za.AvailableSpotNumber.ObservedAt != ts(at) {
		t.Errorf("availableSpotNumber observedAt %q, want %s", za.AvailableSpotNumber.ObservedAt, ts(at))
	}
	if za.Location.Value.Coordinates != [2]float64{za0.Lon, za0.Lat} {
		t.Errorf("location %+v", za.Location)
	}
	got, _ = ngsiGet(t, e, "/ngsi-ld/v1/entities?type=OffStreetParking")
	if len(got) != 1 || got[0].ID != "urn:ngsi-ld:OffStreetParking:ZB" || got[0].TotalSpotNumber.Value != 3.0 ||
		got[0].AvailableSpotNumber.Value != 0.0 {
		t.Errorf("off-street entities %+v, want ZB with 3 spots, none free", got)
	}
}

func TestNGSIPaging(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		query string
		want  []string
		count string
	}{
		{"limit=3", []string{"ZA-01", "ZA-02", "ZA-03"}, ""},
		{"limit=3&offset=8&count=true", []string{"ZB-02", "ZB-03"}, "10"},
		{"offset=10&count=true", []string{}, "10"},
		{"offset=99", []string{}, ""},
		{"limit=0&count=true", []string{}, "10"},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			got, h := ngsiGet(t, e, "/ngsi-ld/v1/entities?type=ParkingSpot&"+tc.query)
			ids := []string{}
			for _, ent := range got {
				ids = append(ids, ent.ID[len("urn:ngsi-ld:ParkingSpot:"):])
			}
			if !slices.Equal(ids, tc.want) {
				t.Errorf("ids %v, want %v", ids, tc.want)
			}
			if c := h.Get("NGSILD-Results-Count"); c != tc.count {
				t.Errorf("NGSILD-Results-Count %q, want %q", c, tc.count)
			}
		})
	}
}

func TestNGSIBadQuery(t *testing.T) {
	e := newEnv(t)
	tests := []struct{ name, query, word string }{
		{"type missing", "", "type"},
		{"type unknown", "type=Vehicle", "Vehicle"},
		{"type twice", "type=ParkingSpot&type=ParkingSpot", "type"},
		{"limit above 1000", "type=ParkingSpot&limit=1001", "limit"},
		{"negative offset", "type=ParkingSpot&offset=-1", "offset"},
		{"count not boolean", "type=ParkingSpot&count=yes", "count"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			expectError(t, e.do(t, "GET", "/ngsi-ld/v1/entities?"+tc.query), http.StatusBadRequest, "invalid", tc.word)
		})
	}
}

func TestNGSIDefaultLimit(t *testing.T) {
	zones := []occupancy.Zone{{ID: "Z", Name: "Z", Type: occupancy.OnStreet, Lat: 29.85, Lon: 121.64}}
	var spaces []occupancy.Space
	for i := range 25 {
		spaces = append(spaces, occupancy.Space{ID: fmt.Sprintf("Z-%02d", i), ZoneID: "Z", SensorID: fmt.Sprintf("S%02d", i),
			Lat: 29.85 + float64(i)*1e-5, Lon: 121.64, Kind: occupancy.KindStandard})
	}
	reg, err := occupancy.NewRegistry(zones, spaces)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvReg(t, reg)
	got, _ := ngsiGet(t, e, "/ngsi-ld/v1/entities?type=ParkingSpot")
	if len(got) != 20 || got[19].ID != "urn:ngsi-ld:ParkingSpot:Z-19" {
		t.Errorf("%d entities, want NGSI-LD's default page of 20", len(got))
	}
	got, _ = ngsiGet(t, e, "/ngsi-ld/v1/entities?type=ParkingSpot&limit=1000")
	if len(got) != 25 {
		t.Errorf("limit=1000: %d entities, want all 25", len(got))
	}
}

func TestNGSIPlainJSON(t *testing.T) {
	e := newEnv(t)
	for _, accept := range []string{"application/json", "application/ld+json", "*/*", ""} {
		t.Run(accept, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/ngsi-ld/v1/entities?type=OnStreetParking", nil)
			if accept != "" {
				req.Header.Set("Accept", accept)
			}
			w := httptest.NewRecorder()
			e.router.ServeHTTP(w, req)
			var got []map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || len(got) != 1 {
				t.Fatalf("%d %s: %v", w.Code, w.Body, err)
			}
			_, inBody := got[0]["@context"]
			ct, link := w.Header().Get("Content-Type"), w.Header().Get("Link")
			if accept == "application/json" {
				if !strings.HasPrefix(ct, "application/json") || inBody ||
					!strings.Contains(link, `rel="http://www.w3.org/ns/json-ld#context"`) {
					t.Errorf("Content-Type %q, @context in body %v, Link %q; want JSON with the context in Link", ct, inBody, link)
				}
				return
			}
			if ct != "application/ld+json" || !inBody || link != "" {
				t.Errorf("Content-Type %q, @context in body %v, Link %q; want JSON-LD with @context", ct, inBody, link)
			}
		})
	}
}

func TestNGSIEntityByID(t *testing.T) {
	e := newEnv(t)
	e.apply(t, "ZA-02", false, t0.Add(-time.Minute))
	var spot ngsiEntity
	w := e.get(t, "/ngsi-ld/v1/entities/urn:ngsi-ld:ParkingSpot:ZA-02", http.StatusOK, &spot)
	if ct := w.Header().Get("Content-Type"); ct != "application/ld+json" {
		t.Errorf("Content-Type %q", ct)
	}
	if spot.ID != "urn:ngsi-ld:ParkingSpot:ZA-02" || spot.Status == nil || spot.Status.Value != "free" || len(spot.Context) == 0 {
		t.Errorf("entity %+v, want ZA-02 free with @context", spot)
	}
	var site ngsiEntity
	e.get(t, "/ngsi-ld/v1/entities/urn:ngsi-ld:OnStreetParking:ZA", http.StatusOK, &site)
	if site.Type != "OnStreetParking" || site.AvailableSpotNumber == nil || site.AvailableSpotNumber.Value != 1.0 {
		t.Errorf("entity %+v, want ZA with 1 available", site)
	}
	for _, tc := range []struct {
		id   string
		want int
		code string
	}{
		{"urn:ngsi-ld:ParkingSpot:NOPE", 404, "not_found"},
		{"urn:ngsi-ld:OffStreetParking:ZA", 404, "not_found"}, // ZA is on street
		{"urn:ngsi-ld:Vehicle:ZA-02", 404, "not_found"},
		{"urn:ngsi-ld:ParkingSpot:", 400, "invalid"},
		{"ZA-02", 400, "invalid"},
	} {
		expectError(t, e.do(t, "GET", "/ngsi-ld/v1/entities/"+tc.id), tc.want, tc.code)
	}
}
