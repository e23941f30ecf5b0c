package simulator

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// fakeAPI serves /api/v1/spaces, /zones and /summary from a map of space
// statuses: a test double of the service's public API. Its counters are
// computed from the spaces unless a test breaks them on purpose.
type fakeAPI struct {
	mu       sync.Mutex
	zoneOf   map[string]string
	status   map[string]occupancy.Status
	skip     string                      // a space the listing leaves out
	zoneBias map[string]occupancy.Counts // added to a zone's counters
	sumBias  occupancy.Counts            // added to the summary
	requests int
	fail     bool           // answer 500 to everything
	onSpaces func(call int) // called on every first page, under mu
	calls    int
}

func newFakeAPI(truth map[string]Expected) *fakeAPI {
	f := &fakeAPI{zoneOf: map[string]string{}, status: map[string]occupancy.Status{}, zoneBias: map[string]occupancy.Counts{}}
	for id, e := range truth {
		f.zoneOf[id] = id[:3]
		f.status[id] = e.Status()
	}
	return f
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	if f.fail {
		http.Error(w, `{"error":{"code":"internal","message":"down"}}`, http.StatusInternalServerError)
		return
	}
	var body any
	switch r.URL.Path {
	case "/api/v1/spaces":
		body = f.page(r)
	case "/api/v1/zones":
		zones := []any{}
		for _, id := range f.zoneIDs() {
			c := f.counts(id)
			zones = append(zones, map[string]any{"id": id, "name": id, "total": c.Total, "free": c.Free,
				"occupied": c.Occupied, "unknown": c.Unknown, "closed": c.Closed})
		}
		body = map[string]any{"zones": zones}
	case "/api/v1/summary":
		var sum occupancy.Counts
		for _, id := range f.zoneIDs() {
			sum.Add(f.counts(id))
		}
		sum.Add(f.sumBias)
		body = map[string]any{"total": sum.Total, "free": sum.Free, "occupied": sum.Occupied,
			"unknown": sum.Unknown, "closed": sum.Closed, "updated_at": time.Now()}
	default:
		http.NotFound(w, r)
		return
	}
	_ = json.NewEncoder(w).Encode(body)
}

// page lists spaces in id order, at most 7 a page whatever the limit, so
// that Verify must follow the cursor.
func (f *fakeAPI) page(r *http.Request) map[string]any {
	cursor := r.URL.Query().Get("cursor")
	if cursor == "" {
		f.calls++
		if f.onSpaces != nil {
			f.onSpaces(f.calls)
		}
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	ids := make([]string, 0, len(f.status))
	for id := range f.status {
		if id > cursor && id != f.skip {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	n := min(limit, 7, len(ids))
	spaces := []any{}
	for _, id := range ids[:n] {
		spaces = append(spaces, map[string]any{"id": id, "zone_id": f.zoneOf[id], "status": f.status[id]})
	}
	var next any
	if n < len(ids) {
		next = ids[n-1]
	}
	return map[string]any{"spaces": spaces, "next_cursor": next}
}

func (f *fakeAPI) zoneIDs() []string {
	var ids []string
	for _, z := range f.zoneOf {
		if !slices.Contains(ids, z) {
			ids = append(ids, z)
		}
	}
	slices.Sort(ids)
	return ids
}

// counts are a zone's counters: its spaces' statuses plus any bias.
func (f *fakeAPI) counts(zone string) occupancy.Counts {
	var c occupancy.Counts
	for id, st := range f.status {
		if f.zoneOf[id] == zone {
			c.Count(st)
		}
	}
	c.Add(f.zoneBias[zone])
	return c
}

// verifyTruth is 30 spaces in three zones: occupied, free and never sent.
func verifyTruth() map[string]Expected {
	truth := map[string]Expected{}
	ts := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	for i := range 30 {
		id := fmt.Sprintf("Z0%d-%03d", i%3, i)
		switch i % 3 {
		case 0:
			truth[id] = Expected{Sent: true, Occupied: true, TS: ts, Seq: 3}
		case 1:
			truth[id] = Expected{Sent: true, Occupied: false, TS: ts, Seq: 1}
		default:
			truth[id] = Expected{}
		}
	}
	return truth
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name     string
		breakAPI func(f *fakeAPI)
		check    func(t *testing.T, r Report)
	}{
		{"all equal", func(*fakeAPI) {}, func(t *testing.T, r Report) {
			if !r.OK() || r.Matched != 30 || r.Attempts != 1 {
				t.Errorf("report %s, want OK with 30 matched at once", r.String())
			}
		}},
		{"a space differs", func(f *fakeAPI) { f.status["Z00-000"] = occupancy.StatusFree }, func(t *testing.T, r Report) {
			want := Mismatch{SpaceID: "Z00-000", Want: occupancy.StatusOccupied, Got: occupancy.StatusFree}
			if r.OK() || r.Mismatched != 1 || len(r.Mismatches) != 1 || r.Mismatches[0].SpaceID != want.SpaceID ||
				r.Mismatches[0].Want != want.Want || r.Mismatches[0].Got != want.Got {
				t.Errorf("report %s %+v, want the mismatch %+v", r.String(), r.Mismatches, want)
			}
		}},
		{"a never-sent space shows free", func(f *fakeAPI) { f.status["Z02-002"] = occupancy.StatusFree }, func(t *testing.T, r Report) {
			if r.OK() || r.Mismatched != 1 || r.Mismatches[0].Want != occupancy.StatusUnknown {
				t.Errorf("report %s %+v, want unknown expected", r.String(), r.Mismatches)
			}
		}},
		{"a space is not listed", func(f *fakeAPI) { f.skip = "Z01-001" }, func(t *testing.T, r Report) {
			if r.OK() || r.Missing != 1 || r.Mismatches[0].SpaceID != "Z01-001" {
				t.Errorf("report %s %+v, want Z01-001 missing", r.String(), r.Mismatches)
			}
		}},
		{"an extra space is listed", func(f *fakeAPI) {
			f.status["Z00-999"], f.zoneOf["Z00-999"] = occupancy.StatusFree, "Z00"
		}, func(t *testing.T, r Report) {
			if r.OK() || r.Extra != 1 {
				t.Errorf("report %s, want one extra", r.String())
			}
		}},
		{"a zone counter is off", func(f *fakeAPI) { f.zoneBias["Z01"] = occupancy.Counts{Free: 1} }, func(t *testing.T, r Report) {
			if r.OK() || r.CounterErrs == 0 || !strings.Contains(strings.Join(r.Counters, "\n"), "zone Z01") {
				t.Errorf("report %s %v, want zone Z01 flagged", r.String(), r.Counters)
			}
		}},
		{"a zone adds up but not to its spaces", func(f *fakeAPI) {
			f.zoneBias["Z02"] = occupancy.Counts{Total: 1, Unknown: 1}
		}, func(t *testing.T, r Report) {
			if r.OK() || r.CounterErrs == 0 {
				t.Errorf("report %s %v, want zone Z02 flagged", r.String(), r.Counters)
			}
		}},
		{"the summary is off", func(f *fakeAPI) { f.sumBias = occupancy.Counts{Occupied: -1, Free: 1} }, func(t *testing.T, r Report) {
			if r.OK() || r.CounterErrs != 1 || !strings.Contains(r.Counters[0], "summary") {
				t.Errorf("report %s %v, want the summary flagged", r.String(), r.Counters)
			}
		}},
		{"the service catches up", func(f *fakeAPI) {
			f.status["Z00-003"] = occupancy.StatusUnknown
			f.onSpaces = func(call int) {
				if call == 3 {
					f.status["Z00-003"] = occupancy.StatusOccupied
				}
			}
		}, func(t *testing.T, r Report) {
			if !r.OK() || r.Attempts != 3 {
				t.Errorf("report %s, want OK on the third attempt", r.String())
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			truth := verifyTruth()
			f := newFakeAPI(truth)
			tc.breakAPI(f)
			srv := httptest.NewServer(f)
			defer srv.Close()
			rep, err := Verify(context.Background(), srv.URL+"/", truth,
				VerifyOptions{Timeout: 400 * time.Millisecond, Interval: 50 * time.Millisecond})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			tc.check(t, rep)
		})
	}
}

func TestVerifyAPIDown(t *testing.T) {
	truth := verifyTruth()
	f := newFakeAPI(truth)
	f.fail = true
	srv := httptest.NewServer(f)
	defer srv.Close()
	rep, err := Verify(context.Background(), srv.URL, truth, VerifyOptions{Timeout: 200 * time.Millisecond, Interval: 50 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("Verify = %s, %v; want an error naming the 500", rep.String(), err)
	}
	if rep.OK() {
		t.Errorf("report %s is OK although the API was never read", rep.String())
	}
	if f.requests < 2 {
		t.Errorf("%d requests, want retries", f.requests)
	}
}

func TestTruthRoundTrip(t *testing.T) {
	truth := verifyTruth()
	var b strings.Builder
	if err := WriteTruth(&b, truth); err != nil {
		t.Fatal(err)
	}
	got, err := ReadTruth(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	for id, e := range truth {
		g := got[id]
		if g.Status() != e.Status() || g.Seq != e.Seq || !g.TS.Equal(e.TS) {
			t.Errorf("%s: read %+v, wrote %+v", id, g, e)
		}
	}
	if len(got) != len(truth) {
		t.Errorf("read %d spaces, wrote %d", len(got), len(truth))
	}
}
