package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestListSpacesBadQuery(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, query, param string
	}{
		{"status unknown", "status=parked", "status"},
		{"status given twice", "status=free&status=occupied", "status"},
		{"limit zero", "limit=0", "limit"},
		{"limit negative", "limit=-1", "limit"},
		{"limit too large", "limit=1001", "limit"},
		{"limit not a number", "limit=ten", "limit"},
		{"limit overflows", "limit=123456789012345678901234567890", "limit"},
		{"zone unknown", "zone=ZZ", "zone"},
		{"zone given twice", "zone=ZA&zone=ZB", "zone"},
		{"cursor too long", "cursor=" + strings.Repeat("x", 129), "cursor"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do(t, http.MethodGet, "/api/v1/spaces?"+tc.query)
			expectError(t, w, http.StatusBadRequest, "invalid", tc.param)
		})
	}
}

func TestGetSpace(t *testing.T) {
	e := newEnv(t)
	sensorTime := t0.Add(-90 * time.Second)
	e.clk.Set(t0.Add(-89 * time.Second)) // received a second after the sensor sent it
	e.apply(t, "ZA-04", true, sensorTime)

	t.Run("heard from", func(t *testing.T) {
		want := spaceOut{ID: "ZA-04", ZoneID: "ZA", Kind: "accessible", Lat: 29.850269, Lon: 121.64,
			Status: "occupied", Since: ptr(ts(sensorTime)), LastSeen: ptr(ts(t0.Add(-89 * time.Second))),
			MaxStayMin: 0, SensorID: "SA04", Phase: 1}
		for _, bearer := range []string{"", viewerToken} { // the battery for staff only
			e.bearer = bearer
			var got spaceOut
			e.get(t, "/api/v1/spaces/ZA-04", http.StatusOK, &got)
			if bearer != "" {
				want.BatteryMV = 3600
			}
			if g, w := spaceString(got), spaceString(want); g != w {
				t.Errorf("bearer %q: got  %s\nwant %s", bearer, g, w)
			}
		}
		e.bearer = ""
	})
	t.Run("never heard from", func(t *testing.T) {
		w := e.get(t, "/api/v1/spaces/ZB-03", http.StatusOK, nil)
		body := w.Body.String()
		for _, want := range []string{`"status":"unknown"`, `"since":null`, `"last_seen":null`,
			`"max_stay_min":0`, `"sensor_id":"SB03"`, `"phase":2`} {
			if !strings.Contains(body, want) {
				t.Errorf("body %s lacks %s", body, want)
			}
		}
		if strings.Contains(body, "battery_mv") {
			t.Errorf("battery_mv should be left out when never reported: %s", body)
		}
	})
	t.Run("no-store", func(t *testing.T) {
		w := e.get(t, "/api/v1/spaces/ZA-01", http.StatusOK, nil)
		if got := w.Header().Get("Cache-Control"); got != "no-store" {
			t.Errorf("Cache-Control %q, want no-store", got)
		}
	})
}

func ptr[T any](v T) *T { return &v }

// spaceString prints every field of s, null times as "null".
func spaceString(s spaceOut) string {
	str := func(p *string) string {
		if p == nil {
			return "null"
		}
		return *p
	}
	return fmt.Sprintf("%s zone=%s kind=%s lat=%v lon=%v status=%s since=%s last_seen=%s "+
		"max_stay_min=%d sensor_id=%s phase=%d battery_mv=%d distance_m=%v",
		s.ID, s.ZoneID, s.Kind, s.Lat, s.Lon, s.Status, str(s.Since), str(s.LastSeen),
		s.MaxStayMin, s.SensorID, s.Phase, s.BatteryMV, s.DistanceM)
}

// listPages walks GET /api/v1/spaces?query through next_cursor and returns
// the ids of every page.
func listPages(t *testing.T, e *env, query url.Values) [][]string {
	t.Helper()
	var pages [][]string
	for range 100 {
		var page struct {
			Spaces     []spaceOut `json:"spaces"`
			NextCursor *string    `json:"next_cursor"`
		}
		e.get(t, "/api/v1/spaces?"+query.Encode(), http.StatusOK, &page)
		if page.Spaces == nil {
			t.Fatal(`"spaces" is null or missing`)
		}
		var ids []string
		for _, s := range page.Spaces {
			ids = append(ids, s.ID)
			if st := query.Get("status"); st != "" && s.Status != st {
				t.Errorf("%s has status %s in a listing of %s", s.ID, s.Status, st)
			}
		}
		pages = append(pages, ids)
		if page.NextCursor == nil {
			return pages
		}
		query.Set("cursor", *page.NextCursor)
	}
	t.Fatal("more than 100 pages: the cursor does not advance")
	return nil
}

func TestListSpaces(t *testing.T) {
	e := newEnv(t)
	nearbyState(t, e)
	every := make([]string, 0, len(e.reg.Spaces()))
	for _, sp := range e.reg.Spaces() {
		every = append(every, sp.ID)
	}
	tests := []struct {
		name      string
		query     url.Values
		wantPages [][]string
	}{
		{"one page by default", url.Values{}, [][]string{every}},
		{"pages of 3", url.Values{"limit": {"3"}}, [][]string{
			{"ZA-01", "ZA-02", "ZA-03"}, {"ZA-04", "ZA-05", "ZA-06"}, {"ZA-07", "ZB-01", "ZB-02"}, {"ZB-03"}}},
		{"pages of 5, exact fit", url.Values{"limit": {"5"}}, [][]string{every[:5], every[5:]}},
		{"zone", url.Values{"zone": {"ZB"}, "limit": {"2"}}, [][]string{{"ZB-01", "ZB-02"}, {"ZB-03"}}},
		{"free", url.Values{"status": {"free"}, "limit": {"2"}}, nil},
		{"occupied", url.Values{"status": {"occupied"}}, [][]string{{"ZA-01", "ZA-06"}}},
		{"unknown in zone ZB", url.Values{"status": {"unknown"}, "zone": {"ZB"}}, [][]string{{"ZB-03"}}},
		{"closed: none", url.Values{"status": {"closed"}}, [][]string{{}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pages := listPages(t, e, tc.query)
			if tc.wantPages == nil { // check only what the pages add up to
				got := slices.Concat(pages...)
				want := []string{"ZA-02", "ZA-03", "ZA-04", "ZA-07", "ZB-01", "ZB-02"}
				if !slices.Equal(got, want) {
					t.Errorf("listed %v in pages %v, want each of %v once", got, pages, want)
				}
				return
			}
			if len(pages) != len(tc.wantPages) {
				t.Fatalf("pages %v, want %v", pages, tc.wantPages)
			}
			for i := range pages {
				if !slices.Equal(pages[i], tc.wantPages[i]) && len(pages[i])+len(tc.wantPages[i]) > 0 {
					t.Errorf("page %d: %v, want %v", i, pages[i], tc.wantPages[i])
				}
			}
		})
	}
}
