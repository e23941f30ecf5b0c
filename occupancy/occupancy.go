// Package occupancy is the domain of the parking service: zones, spaces,
// sensor readings and the live state derived from them. It imports no
// transport; the Redis store lives in the redisstore sub-package.
package occupancy

import "time"

// Status is the live state of a parking space as the public sees it.
type Status string

// The four statuses. Unknown and closed never count as free.
const (
	StatusFree     Status = "free"
	StatusOccupied Status = "occupied"
	StatusUnknown  Status = "unknown" // never heard from, or silent past the offline limit
	StatusClosed   Status = "closed"  // taken out of use by staff
)

// Valid reports whether s is one of the four statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusFree, StatusOccupied, StatusUnknown, StatusClosed:
		return true
	}
	return false
}

// ZoneType tells on-street bays from off-street lots.
type ZoneType string

// Zone types.
const (
	OnStreet  ZoneType = "on_street"
	OffStreet ZoneType = "off_street"
)

// Profile is the demand pattern of a zone: when people park there and for
// how long. The simulator drives each zone by its profile.
type Profile string

// Demand profiles. The empty profile means ProfileCommuter.
const (
	ProfileCommuter    Profile = "commuter"    // busy on working days, 8:00-18:00
	ProfileResidential Profile = "residential" // full at night, emptier by day
	ProfileMarket      Profile = "market"      // morning market peak, short stays
)

// Kind is what a space is reserved for.
type Kind string

// Space kinds.
const (
	KindStandard   Kind = "standard"
	KindAccessible Kind = "accessible"
	KindEV         Kind = "ev"
	KindLoading    Kind = "loading"
)

// Kinds lists every space kind, in a stable order.
var Kinds = []Kind{KindStandard, KindAccessible, KindEV, KindLoading}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	switch k {
	case KindStandard, KindAccessible, KindEV, KindLoading:
		return true
	}
	return false
}

// Zone is a street or lot: a group of spaces counted together.
type Zone struct {
	ID      string   `json:"id" yaml:"id"`
	Name    string   `json:"name" yaml:"name"`
	Type    ZoneType `json:"type" yaml:"type"`
	Profile Profile  `json:"profile,omitempty" yaml:"profile"`
	Lat     float64  `json:"lat" yaml:"lat"`
	Lon     float64  `json:"lon" yaml:"lon"`
}

// Space is one parking space with its sensor, as the registry lists it.
type Space struct {
	ID         string
	ZoneID     string
	SensorID   string
	Lat, Lon   float64
	Kind       Kind
	MaxStayMin int // 0: no limit
	Phase      int // rollout phase, 1-3; 0 when the registry has no phase column
	// Model is the sensor hardware; "" means ModelNative. For LoRaWAN models
	// SensorID is the DevEUI in lower case.
	Model Model
}

// Model is a sensor hardware model: it decides the message format.
type Model string

// Sensor models. The empty model means ModelNative.
const (
	ModelNative      Model = "native"       // the native JSON format (docs/sensors.md)
	ModelBoschTPS110 Model = "bosch-tps110" // Bosch Parking Lot Sensor, LoRaWAN
	ModelNwaveNPS405 Model = "nwave-nps405" // Nwave NPS405, LoRaWAN
	ModelNwaveNPS310 Model = "nwave-nps310" // Nwave NPS310, LoRaWAN
)

// Models lists every model, in a stable order.
var Models = []Model{ModelNative, ModelBoschTPS110, ModelNwaveNPS405, ModelNwaveNPS310}

// Valid reports whether m is a known model or empty.
func (m Model) Valid() bool {
	switch m {
	case "", ModelNative, ModelBoschTPS110, ModelNwaveNPS405, ModelNwaveNPS310:
		return true
	}
	return false
}

// LoRaWAN reports whether sensors of model m are LoRaWAN devices, known by
// their DevEUI.
func (m Model) LoRaWAN() bool { return m != "" && m != ModelNative && m.Valid() }

// NormalizeDevEUI returns a DevEUI as 16 lower-case hex digits, or false if
// s is not 16 hex digits (any case).
func NormalizeDevEUI(s string) (string, bool) {
	if len(s) != 16 {
		return "", false
	}
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
		case c >= 'A' && c <= 'F':
			b[i] = c + ('a' - 'A')
		default:
			return "", false
		}
	}
	return string(b), true
}

// Counts are the number of spaces in each status. Total is their sum.
type Counts struct {
	Total    int `json:"total"`
	Free     int `json:"free"`
	Occupied int `json:"occupied"`
	Unknown  int `json:"unknown"`
	Closed   int `json:"closed"`
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Total += o.Total
	c.Free += o.Free
	c.Occupied += o.Occupied
	c.Unknown += o.Unknown
	c.Closed += o.Closed
}

// Count counts one more space, in status st.
func (c *Counts) Count(st Status) {
	c.Total++
	switch st {
	case StatusFree:
		c.Free++
	case StatusOccupied:
		c.Occupied++
	case StatusUnknown:
		c.Unknown++
	case StatusClosed:
		c.Closed++
	}
}

// ZoneState is a zone's counters and when they last changed.
type ZoneState struct {
	ZoneID    string
	Counts    Counts
	UpdatedAt time.Time // zero if nothing has changed since the store was set up
	Level     Level     // the zone's level with hysteresis; unknown before the store set it
}

// SpaceState is the live state of one space.
type SpaceState struct {
	SpaceID   string
	Status    Status
	Since     time.Time // when Status began; zero if the space was never heard from
	LastSeen  time.Time // when its sensor was last heard (receive time); zero if never
	SensorTS  time.Time // sensor time of the newest applied reading; zero if none
	Seq       uint64    // sequence of the newest applied reading
	BatteryMV int       // last reported battery voltage; 0 if never reported
	Health    Health    // last reported sensor health; zero fields if never reported
}

// Health is what a sensor last reported about itself and its radio link.
// Each field keeps its last reported value; nil or "" means never reported.
type Health struct {
	TempC      *float64 // sensor temperature, °C
	Firmware   string   // firmware version, e.g. "1.4.2"
	ResetCause string   // cause of the last restart, e.g. "watchdog"
	RSSI       *int     // received signal strength at the best gateway, dBm
	SNR        *float64 // signal-to-noise ratio at the best gateway, dB
	// Clock is the newest reading rejected for its sensor time
	// (Reading.CheckClock) since the last one applied; nil when none was.
	Clock *SensorClock
}

// ZoneSnapshot is one zone's states as stored at one position of its feed:
// a reader that applies the zone's events after Position to it follows
// the zone exactly.
type ZoneSnapshot struct {
	ZoneID string
	// Position is the position of the zone's last event when the states
	// were read (StartPosition when it has none).
	Position string
	// Statuses are the stored statuses of the zone's spaces, by space id;
	// a registry space missing here is unknown.
	Statuses map[string]Status
	// Free are the whole states of the free ones (what a view of
	// availability shows of them), by space id.
	Free map[string]SpaceState
	// Level and UpdatedAt are the zone's level and the time of its last
	// change of counters.
	Level     Level
	UpdatedAt time.Time
}
