package httpapi

import (
	"math"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/qiuai/parking/occupancy"
)

// timeLayout is RFC 3339 in UTC with milliseconds, the precision the store
// keeps.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// jsonTime is a time that marshals as RFC 3339 in UTC, or null when zero.
type jsonTime time.Time

// MarshalJSON implements json.Marshaler.
func (t jsonTime) MarshalJSON() ([]byte, error) {
	tt := time.Time(t)
	if tt.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + tt.UTC().Format(timeLayout) + `"`), nil
}

// zoneJSON is a zone as the contract shows it, with its counters.
type zoneJSON struct {
	ID   string             `json:"id"`
	Name string             `json:"name"`
	Type occupancy.ZoneType `json:"type"`
	Lat  float64            `json:"lat"`
	Lon  float64            `json:"lon"`
	occupancy.Counts
	Profile   occupancy.Profile `json:"profile"`
	UpdatedAt jsonTime          `json:"updated_at"` // null until a space of the zone changes
	Level     occupancy.Level   `json:"level"`      // with hysteresis, see occupancy.NextLevel
}

func newZoneJSON(z occupancy.Zone, st occupancy.ZoneState) zoneJSON {
	profile := z.Profile
	if profile == "" {
		profile = occupancy.ProfileCommuter
	}
	return zoneJSON{ID: z.ID, Name: z.Name, Type: z.Type, Lat: z.Lat, Lon: z.Lon,
		Counts: st.Counts, Profile: profile, UpdatedAt: jsonTime(st.UpdatedAt), Level: st.Level}
}

// spaceJSON is a space as the contract shows it: static fields from the
// registry, live ones from the store. The sensor's health (battery,
// temperature, firmware, reset cause, radio) is for staff only: a public
// answer leaves it out, as /api/v1/sensors needs a token.
type spaceJSON struct {
	ID         string           `json:"id"`
	ZoneID     string           `json:"zone_id"`
	Kind       occupancy.Kind   `json:"kind"`
	Lat        float64          `json:"lat"`
	Lon        float64          `json:"lon"`
	Status     occupancy.Status `json:"status"`
	Since      jsonTime         `json:"since"`
	LastSeen   jsonTime         `json:"last_seen"`
	MaxStayMin int              `json:"max_stay_min"`
	SensorID   string           `json:"sensor_id"`
	Phase      int              `json:"phase,omitempty"`
	Model      occupancy.Model  `json:"model,omitempty"`
	// Staff only; each left out when unknown.
	BatteryMV  int      `json:"battery_mv,omitempty"`
	TempC      *float64 `json:"temp_c,omitempty"`
	Firmware   string   `json:"firmware,omitempty"`
	ResetCause string   `json:"reset_cause,omitempty"`
	RSSI       *int     `json:"rssi,omitempty"`
	SNR        *float64 `json:"snr,omitempty"`
}

// newSpaceJSON builds a space's answer; staff (a caller with a valid
// token) also get its sensor's health.
func newSpaceJSON(sp occupancy.Space, st occupancy.SpaceState, staff bool) spaceJSON {
	j := spaceJSON{ID: sp.ID, ZoneID: sp.ZoneID, Kind: sp.Kind, Lat: sp.Lat, Lon: sp.Lon,
		Status: st.Status, Since: jsonTime(st.Since), LastSeen: jsonTime(st.LastSeen),
		MaxStayMin: sp.MaxStayMin, SensorID: sp.SensorID, Phase: sp.Phase, Model: sp.Model}
	if staff {
		j.BatteryMV, j.TempC, j.Firmware, j.ResetCause = st.BatteryMV, st.Health.TempC, st.Health.Firmware, st.Health.ResetCause
		j.RSSI, j.SNR = st.Health.RSSI, st.Health.SNR
	}
	return j
}

// isStaff reports whether the caller presented a valid staff token.
func isStaff(c *gin.Context) bool { return callerRole(c) != "" }

// nearbyJSON is a free space found near a point.
type nearbyJSON struct {
	spaceJSON
	DistanceM  float64    `json:"distance_m"`            // rounded to 0.1 m
	ObservedAt *time.Time `json:"observed_at,omitempty"` // when the state was read from the store
}

func newNearbyJSON(n occupancy.NearbySpace, staff bool) nearbyJSON {
	j := nearbyJSON{spaceJSON: newSpaceJSON(n.Space, n.State, staff), DistanceM: math.Round(n.DistanceM*10) / 10}
	if !n.ObservedAt.IsZero() {
		at := n.ObservedAt.UTC()
		j.ObservedAt = &at
	}
	return j
}
