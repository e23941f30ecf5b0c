package httpapi

import (
	"net/http"
	"testing"
	"time"
)

type summaryOut struct {
	countsOut
	UpdatedAt string `json:"updated_at"`
}

func TestSummaryBeforeAnyReading(t *testing.T) {
	e := newEnv(t)
	e.clk.Set(t0.Add(time.Hour))
	var got summaryOut
	e.get(t, "/api/v1/summary", http.StatusOK, &got)
	want := summaryOut{countsOut{Total: 10, Unknown: 10}, ts(t0.Add(time.Hour))}
	if got != want {
		t.Errorf("summary %+v, want %+v (updated_at is now when no zone has changed)", got, want)
	}
}

func TestSummaryAndZones(t *testing.T) {
	e := newEnv(t)
	e.clk.Set(t0.Add(time.Minute))
	for _, id := range []string{"ZA-02", "ZA-03", "ZA-04", "ZA-07"} {
		e.apply(t, id, false, t0)
	}
	e.apply(t, "ZA-01", true, t0)
	e.apply(t, "ZA-06", true, t0)
	e.clk.Set(t0.Add(2 * time.Minute))
	e.apply(t, "ZB-01", false, t0)
	e.apply(t, "ZB-02", false, t0)
	e.clk.Set(t0.Add(10 * time.Minute))

	var zones struct{ Zones []zoneOut }
	e.get(t, "/api/v1/zones", http.StatusOK, &zones)
	wantZones := []zoneOut{
		{ID: "ZA", Name: "老镇区东街", Type: "on_street", Lat: 29.85, Lon: 121.64, Profile: "commuter",
			countsOut: countsOut{Total: 7, Free: 4, Occupied: 2, Unknown: 1}, UpdatedAt: ptr(ts(t0.Add(time.Minute))), Level: "spacesAvailable"},
		{ID: "ZB", Name: "桥下停车场", Type: "off_street", Lat: 29.859, Lon: 121.64, Profile: "market",
			countsOut: countsOut{Total: 3, Free: 2, Unknown: 1}, UpdatedAt: ptr(ts(t0.Add(2 * time.Minute))), Level: "spacesAvailable"},
	}
	if len(zones.Zones) != len(wantZones) {
		t.Fatalf("zones %+v, want %+v", zones.Zones, wantZones)
	}
	var sum countsOut
	for i, z := range zones.Zones {
		checkZone(t, z, wantZones[i])
		sum.Total += z.Total
		sum.Free += z.Free
		sum.Occupied += z.Occupied
		sum.Unknown += z.Unknown
		sum.Closed += z.Closed
		var one zoneOut
		e.get(t, "/api/v1/zones/"+z.ID, http.StatusOK, &one)
		checkZone(t, one, wantZones[i])
	}

	var got summaryOut
	e.get(t, "/api/v1/summary", http.StatusOK, &got)
	if want := (summaryOut{sum, ts(t0.Add(2 * time.Minute))}); got != want {
		t.Errorf("summary %+v, want the sum of the zones %+v with the newest zone's time", got, want)
	}
}

func checkZone(t *testing.T, got, want zoneOut) {
	t.Helper()
	g, w := got, want
	g.UpdatedAt, w.UpdatedAt = nil, nil
	if g != w || got.UpdatedAt == nil || *got.UpdatedAt != *want.UpdatedAt {
		t.Errorf("zone %+v (updated_at %v), want %+v (updated_at %v)", got, deref(got.UpdatedAt), want, deref(want.UpdatedAt))
	}
}

func deref(p *string) string {
	if p == nil {
		return "null"
	}
	return *p
}
