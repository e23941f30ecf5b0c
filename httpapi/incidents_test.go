package httpapi

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// staffCall sends method target with an optional JSON body and bearer token
// and expects status want.
func staffCall(t *testing.T, e *env, method, target, token, body string, want int) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	e.router.ServeHTTP(w, req)
	if w.Code != want {
		t.Fatalf("%s %s: %d, want %d; body %.400s", method, target, w.Code, want, w.Body)
	}
	return w
}

// applyBattery applies a reading of space with a battery voltage, received
// now.
func (e *env) applyBattery(t *testing.T, spaceID string, occupied bool, ts time.Time, mv int) {
	t.Helper()
	sp, _ := e.reg.Space(spaceID)
	r := occupancy.Reading{SensorID: sp.SensorID, Occupied: occupied, TS: ts, BatteryMV: mv}
	if res, err := e.store.Apply(context.Background(), r); err != nil || res != occupancy.ResultApplied {
		t.Fatalf("apply %s: %s, %v", spaceID, res, err)
	}
}

// healthState gives zone ZA: ZA-02 a low battery, ZA-03 12 changes in 12
// minutes (flapping), ZA-04 silent since t0 (offline at t0+40m); ZA-01
// occupied since t0 (max stay 120 min). The clock ends at t0+40m.
func healthState(t *testing.T, e *env) {
	t.Helper()
	e.applyBattery(t, "ZA-04", false, t0, 3600)
	e.applyBattery(t, "ZA-01", true, t0, 3600)
	for i := range 12 {
		e.clk.Set(t0.Add(time.Duration(28+i) * time.Minute))
		e.applyBattery(t, "ZA-03", i%2 == 0, e.clk.Now(), 3600)
	}
	e.clk.Set(t0.Add(40 * time.Minute))
	e.applyBattery(t, "ZA-02", false, e.clk.Now(), 2700)
	e.applyBattery(t, "ZA-01", true, e.clk.Now(), 3600) // a heartbeat of the same stay
}

func TestSensorsHealthFilter(t *testing.T) {
	e := newEnv(t)
	healthState(t, e)
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"?health=low_battery", []string{"ZA-02"}},
		{"?health=flapping", []string{"ZA-03"}},
		{"?health=offline", []string{"ZA-04"}},
		{"?zone=ZB", []string{"ZB-01", "ZB-02", "ZB-03"}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			w := staffCall(t, e, "GET", "/api/v1/sensors"+tc.query, viewerToken, "", 200)
			var body struct {
				Sensors []struct {
					SpaceID         string   `json:"space_id"`
					BatteryMV       *int     `json:"battery_mv"`
					ChangesLastHour int      `json:"changes_last_hour"`
					Problems        []string `json:"problems"`
					LastSeen        *string  `json:"last_seen"`
				} `json:"sensors"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range body.Sensors {
				got = append(got, s.SpaceID)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("sensors %v, want %v", got, tc.want)
			}
			s := body.Sensors[0]
			switch tc.query {
			case "?health=low_battery":
				if s.BatteryMV == nil || *s.BatteryMV != 2700 || s.LastSeen == nil || *s.LastSeen != ts(t0.Add(40*time.Minute)) {
					t.Errorf("ZA-02: %+v", s)
				}
			case "?health=flapping":
				if s.ChangesLastHour != 12 || strings.Join(s.Problems, ",") != "flapping" {
					t.Errorf("ZA-03: %+v", s)
				}
			case "?zone=ZB":
				if s.LastSeen != nil || s.BatteryMV != nil || len(s.Problems) != 0 {
					t.Errorf("ZB-01 never heard from: %+v", s)
				}
			}
		})
	}
	expectError(t, staffCall(t, e, "GET", "/api/v1/sensors?health=tired", viewerToken, "", 400), 400, "invalid", "health")
	expectError(t, staffCall(t, e, "GET", "/api/v1/sensors", "", "", 401), 401, "unauthorized")
}

// incidentsByStatus lists the incidents of a status as a viewer.
func incidentsByStatus(t *testing.T, e *env, query string) []incidentJSONTest {
	t.Helper()
	var body struct {
		Incidents []incidentJSONTest `json:"incidents"`
	}
	w := staffCall(t, e, "GET", "/api/v1/incidents"+query, viewerToken, "", 200)
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	return body.Incidents
}

// incidentJSONTest is the part of an incident the tests read.
type incidentJSONTest struct {
	ID             string  `json:"id"`
	Type           string  `json:"type"`
	SpaceID        string  `json:"space_id"`
	Status         string  `json:"status"`
	AcknowledgedBy *string `json:"acknowledged_by"`
	AckNote        *string `json:"ack_note"`
	ResolvedBy     *string `json:"resolved_by"`
	ResolveNote    *string `json:"resolve_note"`
	ResolvedAt     *string `json:"resolved_at"`
}

func TestOverstayClosedLoop(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.apply(t, "ZA-01", true, t0) // max stay 120 min
	e.clk.Set(t0.Add(119 * time.Minute))
	e.apply(t, "ZA-01", true, e.clk.Now())
	if _, err := e.detect(ctx); err != nil {
		t.Fatal(err)
	}
	if got := incidentsByStatus(t, e, "?type=overstay"); len(got) != 0 {
		t.Fatalf("overstay before the limit: %+v", got)
	}
	e.clk.Set(t0.Add(121 * time.Minute))
	for range 2 { // the second pass must not open a duplicate
		if _, err := e.detect(ctx); err != nil {
			t.Fatal(err)
		}
	}
	open := incidentsByStatus(t, e, "?status=open&type=overstay")
	if len(open) != 1 || open[0].SpaceID != "ZA-01" || open[0].AcknowledgedBy != nil || open[0].ResolvedAt != nil {
		t.Fatalf("open overstay incidents %+v, want one at ZA-01", open)
	}
	id := open[0].ID
	expectError(t, staffCall(t, e, "POST", "/api/v1/incidents/"+id+"/ack", viewerToken, `{"note":"x"}`, 403), 403, "forbidden")
	expectError(t, staffCall(t, e, "POST", "/api/v1/incidents/"+id+"/ack", "", `{"note":"x"}`, 401), 401, "unauthorized")
	expectError(t, staffCall(t, e, "POST", "/api/v1/incidents/"+id+"/ack", operatorToken, `{"remark":"x"}`, 400), 400, "invalid")
	expectError(t, staffCall(t, e, "POST", "/api/v1/incidents/overstay.NOPE.1/ack", operatorToken, "", 404), 404, "not_found")

	staffCall(t, e, "POST", "/api/v1/incidents/"+id+"/ack", operatorToken, `{"note":"warden on the way"}`, 200)
	acked := incidentsByStatus(t, e, "?status=acknowledged")
	if len(acked) != 1 || acked[0].AcknowledgedBy == nil || !strings.HasPrefix(*acked[0].AcknowledgedBy, "operator:") ||
		*acked[0].AckNote != "warden on the way" {
		t.Fatalf("acknowledged: %+v", acked)
	}
	staffCall(t, e, "POST", "/api/v1/incidents/"+id+"/resolve", adminToken, `{"note":"ticketed"}`, 200)
	expectError(t, staffCall(t, e, "POST", "/api/v1/incidents/"+id+"/resolve", operatorToken, "", 409), 409, "conflict")
	if _, err := e.detect(ctx); err != nil {
		t.Fatal(err)
	}
	res := incidentsByStatus(t, e, "?type=overstay")
	if len(res) != 1 || res[0].Status != "resolved" || !strings.HasPrefix(*res[0].ResolvedBy, "admin:") ||
		*res[0].ResolveNote != "ticketed" {
		t.Fatalf("after resolve and another pass: %+v, want the one incident resolved by the admin", res)
	}
	expectError(t, staffCall(t, e, "GET", "/api/v1/incidents?status=closed", viewerToken, "", 400), 400, "invalid")
}

// incidentOpenAPICases checks the sensor and incident endpoints against the
// document, on an env of their own (their clock moves).
func incidentOpenAPICases(t *testing.T, s *spec) {
	e := newEnv(t)
	healthState(t, e)
	e.clk.Set(t0.Add(121 * time.Minute))
	if _, err := e.detect(context.Background()); err != nil {
		t.Fatal(err)
	}
	id := occupancy.IncidentID(occupancy.IncidentOverstay, "ZA-01", t0)
	for _, tc := range []struct {
		target, token string
		want          int
	}{
		{"/api/v1/sensors", viewerToken, 200},
		{"/api/v1/sensors?health=offline&zone=ZA", viewerToken, 200},
		{"/api/v1/sensors?health=sad", viewerToken, 400},
		{"/api/v1/sensors", "", 401},
		{"/api/v1/incidents", viewerToken, 200},
		{"/api/v1/incidents?status=open&type=overstay&zone=ZA&limit=5", viewerToken, 200},
		{"/api/v1/incidents?type=fire", viewerToken, 400},
		{"/api/v1/incidents", "", 401},
		{"POST /api/v1/incidents/" + id + "/ack", viewerToken, 403},
		{"POST /api/v1/incidents/" + id + "/ack", "", 401},
		{"POST /api/v1/incidents/overstay.NOPE.1/ack", operatorToken, 404},
		{"POST /api/v1/incidents/" + id + "/ack", operatorToken, 200},
		{"POST /api/v1/incidents/" + id + "/resolve", operatorToken, 200},
		{"POST /api/v1/incidents/" + id + "/resolve", operatorToken, 409},
		{"POST /api/v1/incidents/" + id + "/ack", operatorToken, 409},
		{"POST /api/v1/incidents/" + id + "/resolve", viewerToken, 403},
		{"POST /api/v1/incidents/" + id + "/resolve", "", 401},
		{"POST /api/v1/incidents/overstay.NOPE.1/resolve", operatorToken, 404},
	} {
		t.Run(tc.target, func(t *testing.T) { s.call(t, e, tc.target, tc.token, tc.want) })
	}
	resolved := incidentsByStatus(t, e, "?status=resolved")
	if len(resolved) != 1 || resolved[0].ID != id {
		t.Errorf("resolved incidents %+v, want %s", resolved, id)
	}
	t.Run("redis down", func(t *testing.T) {
		e.redis.Stop(t)
		for _, target := range []string{"GET /api/v1/sensors", "GET /api/v1/incidents",
			"POST /api/v1/incidents/" + id + "/ack", "POST /api/v1/incidents/" + id + "/resolve"} {
			method, path, _ := strings.Cut(target, " ")
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			req := httptest.NewRequestWithContext(ctx, method, path, nil)
			req.Header.Set("Authorization", "Bearer "+operatorToken)
			w := httptest.NewRecorder()
			e.router.ServeHTTP(w, req)
			cancel()
			if w.Code != 503 {
				t.Errorf("%s with Redis down: %d, want 503", target, w.Code)
			}
			s.check(t, req, w)
		}
	})
}
