package httpapi

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/qiuai/parking/occupancy"
)

// SensorStore reads sensor health and incidents. *redisstore.Store
// implements it; without one (Options.Sensors nil) these endpoints answer
// 404.
type SensorStore interface {
	// SensorHealth returns the sensors of a zone ("" for all) in space ID
	// order. ENOTFOUND for an unknown zone.
	SensorHealth(ctx context.Context, zoneID string) ([]occupancy.SensorHealth, error)
	// Incidents returns the incidents matching f, newest first, at most limit.
	Incidents(ctx context.Context, f occupancy.IncidentFilter, limit int) ([]occupancy.Incident, error)
	// AckIncident and ResolveIncident move an incident on, recording who
	// and a note. ENOTFOUND for an unknown id, ECONFLICT for a resolved one.
	AckIncident(ctx context.Context, id, by, note string) (occupancy.Incident, error)
	ResolveIncident(ctx context.Context, id, by, note string) (occupancy.Incident, error)
}

// healthStore returns the SensorStore, or reports 404.
func (h *handler) healthStore(c *gin.Context) (SensorStore, bool) {
	if h.sensors == nil {
		fail(c, missing("sensor health"))
		return nil, false
	}
	return h.sensors, true
}

// sensorJSON is a sensor as staff see it.
type sensorJSON struct {
	SpaceID         string                    `json:"space_id"`
	ZoneID          string                    `json:"zone_id"`
	SensorID        string                    `json:"sensor_id"`
	Model           occupancy.Model           `json:"model,omitempty"`
	Status          occupancy.Status          `json:"status"`
	LastSeen        jsonTime                  `json:"last_seen"`         // null if never heard
	BatteryMV       *int                      `json:"battery_mv"`        // null if never reported
	ChangesLastHour int                       `json:"changes_last_hour"` // free/occupied flips
	Problems        []occupancy.HealthProblem `json:"problems"`          // [] when healthy
	RSSI            *int                      `json:"rssi,omitempty"`
	SNR             *float64                  `json:"snr,omitempty"`
	// Clock is the newest reading rejected for its sensor time since the
	// last one applied (the clock_skew problem); left out when none was.
	Clock *clockJSON `json:"clock,omitempty"`
}

// clockJSON is a sensor clock a rejected reading showed.
type clockJSON struct {
	TS         jsonTime `json:"ts"`          // the reading's sensor time
	ReceivedAt jsonTime `json:"received_at"` // when parkd received it
	OffsetS    float64  `json:"offset_s"`    // ts - received_at, seconds (negative: behind)
}

// listSensors answers GET /api/v1/sensors?health=offline|low_battery|flapping|clock_skew&zone=:
// every sensor (or those with that problem, or of that zone) in space ID
// order, with when it was last heard, its battery and its state changes in
// the last hour. No paging: a town has a few thousand sensors.
func (h *handler) listSensors(c *gin.Context) {
	hs, ok := h.healthStore(c)
	if !ok {
		return
	}
	q := c.Request.URL.Query()
	health, _, err := param(q, "health")
	if err != nil {
		fail(c, err)
		return
	}
	want := occupancy.HealthProblem(health)
	if health != "" && !want.Valid() {
		invalid(c, "health %q is not offline, low_battery, flapping or clock_skew", truncate(health, maxParamLen))
		return
	}
	zone, _, err := param(q, "zone")
	if err != nil {
		fail(c, err)
		return
	}
	if _, ok := h.reg.Zone(zone); zone != "" && !ok {
		invalid(c, "zone %q is not a known zone", truncate(zone, maxParamLen))
		return
	}
	sensors, err := hs.SensorHealth(c.Request.Context(), zone)
	if err != nil {
		fail(c, err)
		return
	}
	rules, now := h.rules, h.now()
	out := make([]sensorJSON, 0, len(sensors))
	for _, s := range sensors {
		problems := rules.Problems(s, now)
		if want != "" && !hasProblem(problems, want) {
			continue
		}
		out = append(out, newSensorJSON(h.reg, s, problems))
	}
	c.JSON(http.StatusOK, gin.H{"sensors": out})
}

func hasProblem(ps []occupancy.HealthProblem, p occupancy.HealthProblem) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

func newSensorJSON(reg *occupancy.Registry, s occupancy.SensorHealth, problems []occupancy.HealthProblem) sensorJSON {
	sp, _ := reg.Space(s.State.SpaceID)
	j := sensorJSON{SpaceID: sp.ID, ZoneID: sp.ZoneID, SensorID: sp.SensorID, Model: sp.Model,
		Status: s.State.Status, LastSeen: jsonTime(s.State.LastSeen), ChangesLastHour: s.ChangesLastHour,
		Problems: problems, RSSI: s.State.Health.RSSI, SNR: s.State.Health.SNR}
	if s.State.BatteryMV > 0 {
		mv := s.State.BatteryMV
		j.BatteryMV = &mv
	}
	if ck := s.State.Health.Clock; ck != nil {
		j.Clock = &clockJSON{TS: jsonTime(ck.TS), ReceivedAt: jsonTime(ck.ReceivedAt), OffsetS: ck.Offset().Seconds()}
	}
	if j.Problems == nil {
		j.Problems = []occupancy.HealthProblem{}
	}
	return j
}
