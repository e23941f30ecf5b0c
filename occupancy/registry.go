package occupancy

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"strconv"
	"strings"
	"sync/atomic"

	"go.yaml.in/yaml/v3"
)

// Registry is the town's inventory: its zones, spaces and sensors. It is
// read at start and shared by every component; Replace swaps in a reloaded
// one atomically, so every holder of the pointer sees the new inventory.
// Each method reads one consistent version; a caller that needs several
// calls to agree takes a Snapshot first.
type Registry struct {
	d atomic.Pointer[registryData]
}

// LoadRegistry reads zones.yaml and spaces.csv from dir. Errors are EINVALID
// and name the file and line of the first problem.
func LoadRegistry(dir string) (*Registry, error) {
	return LoadRegistryFS(os.DirFS(dir), ".")
}

// LoadRegistryFS is LoadRegistry on a file system, such as an embedded one.
func LoadRegistryFS(fsys fs.FS, dir string) (*Registry, error) {
	zf, err := fsys.Open(path.Join(dir, "zones.yaml"))
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	defer zf.Close()
	zones, err := ReadZones(zf)
	if err != nil {
		return nil, err
	}
	sf, err := fsys.Open(path.Join(dir, "spaces.csv"))
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	defer sf.Close()
	b, err := newRegistryBuilder(zones)
	if err != nil {
		return nil, err
	}
	// Each row goes straight into the compact form: the file's spaces are
	// never all held as Space values.
	if err := readSpaceRows(sf, b.add); err != nil {
		return nil, err
	}
	return b.finish(), nil
}

// ReadZones decodes a zones.yaml document and checks each zone on its own.
func ReadZones(r io.Reader) ([]Zone, error) {
	var doc struct {
		Zones []yaml.Node `yaml:"zones"`
	}
	if err := yaml.NewDecoder(r).Decode(&doc); err != nil {
		return nil, Errorf(EINVALID, "zones.yaml: %v", err)
	}
	zones := make([]Zone, 0, len(doc.Zones))
	lines := map[string]int{}
	for _, n := range doc.Zones {
		var z Zone
		if err := n.Decode(&z); err != nil {
			return nil, Errorf(EINVALID, "zones.yaml line %d: %v", n.Line, err)
		}
		if err := z.Validate(); err != nil {
			return nil, Errorf(EINVALID, "zones.yaml line %d: %s", n.Line, ErrorMessage(err))
		}
		if first, dup := lines[z.ID]; dup {
			return nil, Errorf(EINVALID, "zones.yaml line %d: zone id %s already on line %d", n.Line, z.ID, first)
		}
		lines[z.ID] = n.Line
		zones = append(zones, z)
	}
	if len(zones) == 0 {
		return nil, Errorf(EINVALID, "zones.yaml: no zones")
	}
	return zones, nil
}

// Validate checks one zone's fields.
func (z *Zone) Validate() error {
	if err := validID("zone id", z.ID); err != nil {
		return err
	}
	if z.Type != OnStreet && z.Type != OffStreet {
		return Errorf(EINVALID, "zone %s: type %q is not on_street or off_street", z.ID, z.Type)
	}
	switch z.Profile {
	case "", ProfileCommuter, ProfileResidential, ProfileMarket:
	default:
		return Errorf(EINVALID, "zone %s: profile %q is not commuter, residential or market", z.ID, z.Profile)
	}
	return validLatLon("zone "+z.ID, z.Lat, z.Lon)
}

// spaceColumns are the columns spaces.csv must have; others are ignored.
var spaceColumns = []string{"space_id", "zone_id", "sensor_id", "lat", "lon", "kind", "max_stay_min"}

// ReadSpaces decodes a spaces.csv file and checks each row on its own. The
// phase and model columns are optional; a LoRaWAN model's sensor id (its
// DevEUI) is read in any case and kept in lower case.
func ReadSpaces(r io.Reader) ([]Space, error) {
	var spaces []Space
	err := readSpaceRows(r, func(sp Space, _ int) error {
		spaces = append(spaces, sp)
		return nil
	})
	return spaces, err
}

// readSpaceRows decodes a spaces.csv file, checks each row on its own and
// passes it with its line number to add, stopping at add's first error.
func readSpaceRows(r io.Reader, add func(Space, int) error) error {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return Errorf(EINVALID, "spaces.csv: reading header: %v", err)
	}
	col := map[string]int{}
	for i, name := range header {
		col[strings.TrimSpace(strings.TrimPrefix(name, "\ufeff"))] = i
	}
	for _, name := range spaceColumns {
		if _, ok := col[name]; !ok {
			return Errorf(EINVALID, "spaces.csv: header has no %s column", name)
		}
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return Errorf(EINVALID, "spaces.csv: %v", err)
		}
		line, _ := cr.FieldPos(0)
		sp, err := parseSpace(rec, col)
		if err != nil {
			return Errorf(EINVALID, "spaces.csv line %d: %s", line, ErrorMessage(err))
		}
		if err := add(sp, line); err != nil {
			return err
		}
	}
}

func parseSpace(rec []string, col map[string]int) (Space, error) {
	get := func(name string) string { return strings.TrimSpace(rec[col[name]]) }
	sp := Space{ID: get("space_id"), ZoneID: get("zone_id"), SensorID: get("sensor_id"), Kind: Kind(get("kind"))}
	var err error
	if sp.Lat, err = strconv.ParseFloat(get("lat"), 64); err != nil {
		return sp, Errorf(EINVALID, "lat %q is not a number", get("lat"))
	}
	if sp.Lon, err = strconv.ParseFloat(get("lon"), 64); err != nil {
		return sp, Errorf(EINVALID, "lon %q is not a number", get("lon"))
	}
	if sp.MaxStayMin, err = strconv.Atoi(get("max_stay_min")); err != nil {
		return sp, Errorf(EINVALID, "max_stay_min %q is not a whole number", get("max_stay_min"))
	}
	if i, ok := col["phase"]; ok && strings.TrimSpace(rec[i]) != "" {
		if sp.Phase, err = strconv.Atoi(strings.TrimSpace(rec[i])); err != nil {
			return sp, Errorf(EINVALID, "phase %q is not a whole number", rec[i])
		}
	}
	if i, ok := col["model"]; ok {
		sp.Model = Model(strings.TrimSpace(rec[i]))
	}
	if err := sp.Validate(); err != nil {
		return sp, err
	}
	sp.normalize()
	return sp, nil
}

// normalize writes a LoRaWAN DevEUI in lower case, the form lookups use.
// Call it after Validate.
func (s *Space) normalize() {
	if s.Model.LoRaWAN() {
		s.SensorID, _ = NormalizeDevEUI(s.SensorID)
	}
}

// Validate checks one space's own fields; NewRegistry checks the references.
func (s *Space) Validate() error {
	if err := validID("space id", s.ID); err != nil {
		return err
	}
	if err := validID("sensor id", s.SensorID); err != nil {
		return err
	}
	switch {
	case s.ZoneID == "":
		return Errorf(EINVALID, "space %s: zone id is empty", s.ID)
	case !s.Kind.Valid():
		return Errorf(EINVALID, "space %s: kind %q is not standard, accessible, ev or loading", s.ID, s.Kind)
	case s.MaxStayMin < 0:
		return Errorf(EINVALID, "space %s: max_stay_min %d is negative", s.ID, s.MaxStayMin)
	case s.Phase < 0 || s.Phase > 9:
		return Errorf(EINVALID, "space %s: phase %d is out of range 0-9", s.ID, s.Phase)
	case !s.Model.Valid():
		return Errorf(EINVALID, "space %s: model %q is not native, bosch-tps110, nwave-nps405 or nwave-nps310", s.ID, s.Model)
	}
	if _, ok := NormalizeDevEUI(s.SensorID); s.Model.LoRaWAN() && !ok {
		return Errorf(EINVALID, "space %s: sensor id %q of a %s is not a DevEUI of 16 hex digits", s.ID, s.SensorID, s.Model)
	}
	return validLatLon("space "+s.ID, s.Lat, s.Lon)
}

// NewRegistry indexes zones and spaces and checks what refers to what: unique
// zone, space and sensor ids, and every space in a known zone. Error
// messages number the spaces as rows of a spaces.csv with a header: the
// first space is line 2.
func NewRegistry(zones []Zone, spaces []Space) (*Registry, error) {
	b, err := newRegistryBuilder(zones)
	if err != nil {
		return nil, err
	}
	for i, s := range spaces {
		if err := b.add(s, i+2); err != nil {
			return nil, err
		}
	}
	return b.finish(), nil
}

// Replace makes r hold next's inventory, atomically: every method called
// after it answers from next's.
func (r *Registry) Replace(next *Registry) { r.d.Store(next.d.Load()) }

// Snapshot returns a Registry fixed to r's current inventory, which a later
// Replace of r does not change.
func (r *Registry) Snapshot() *Registry {
	s := &Registry{}
	s.d.Store(r.d.Load())
	return s
}

// SameVersion reports whether r and o hold the same inventory (one is a
// Snapshot of the other, and neither was replaced since).
func (r *Registry) SameVersion(o *Registry) bool { return r.d.Load() == o.d.Load() }

// Zones returns every zone in registry order. The slice must not be modified.
func (r *Registry) Zones() []Zone {
	d := r.d.Load()
	return d.zones
}

// NumSpaces returns how many spaces there are.
func (r *Registry) NumSpaces() int {
	return len(r.d.Load().recs)
}

// SpaceAt returns the i-th space in ID order, 0 <= i < NumSpaces(); it
// allocates nothing. Together with NumSpaces it walks every space.
func (r *Registry) SpaceAt(i int) Space {
	d := r.d.Load()
	_ = d.recs[i] // out of range panics here, before i is narrowed
	return d.space(int32(i))
}

// Spaces returns every space sorted by ID, in a new slice: about 110 MB at a
// million spaces. Loops over every space use NumSpaces and SpaceAt, pages
// SpacesRange, on a Snapshot if they must agree.
func (r *Registry) Spaces() []Space {
	return r.SpacesRange(0, r.NumSpaces())
}

// SpacesRange returns the spaces Spaces()[lo:hi] in a new slice, without
// building the others. It panics, like slicing, unless 0 <= lo <= hi <=
// NumSpaces().
func (r *Registry) SpacesRange(lo, hi int) []Space {
	d := r.d.Load()
	if lo < 0 || hi < lo || hi > len(d.recs) {
		panic(fmt.Sprintf("occupancy: SpacesRange(%d, %d) of %d spaces", lo, hi, len(d.recs)))
	}
	out := make([]Space, hi-lo)
	for i := range out {
		out[i] = d.space(int32(lo + i))
	}
	return out
}

// Zone returns the zone with the given id.
func (r *Registry) Zone(id string) (Zone, bool) {
	d := r.d.Load()
	i, ok := d.zoneIdx[id]
	if !ok {
		return Zone{}, false
	}
	return d.zones[i], true
}

// Space returns the space with the given id.
func (r *Registry) Space(id string) (Space, bool) {
	d := r.d.Load()
	i, ok := d.byID.find(id, d.spaceID)
	if !ok {
		return Space{}, false
	}
	return d.space(i), true
}

// SpaceBySensor returns the space whose sensor has the given id. The DevEUI
// of a LoRaWAN sensor matches in any case.
func (r *Registry) SpaceBySensor(sensorID string) (Space, bool) {
	d := r.d.Load()
	if i, ok := d.bySensor.find(sensorID, d.sensorID); ok {
		return d.space(i), true
	}
	if eui, ok := NormalizeDevEUI(sensorID); ok && eui != sensorID {
		if i, ok := d.bySensor.find(eui, d.sensorID); ok && d.models[d.recs[i].model].LoRaWAN() {
			return d.space(i), true
		}
	}
	return Space{}, false
}

// SpacesInZone returns the spaces of a zone sorted by ID, in a new slice.
func (r *Registry) SpacesInZone(zoneID string) []Space {
	d := r.d.Load()
	return d.spacesOf(d.zoneMembers(zoneID))
}

// NumSpacesInZone returns how many spaces a zone has, 0 for an unknown zone.
func (r *Registry) NumSpacesInZone(zoneID string) int {
	return len(r.d.Load().zoneMembers(zoneID))
}

// ZoneRadius returns the distance in metres from a zone's centre to its
// farthest space: a circle that holds every space of the zone.
func (r *Registry) ZoneRadius(zoneID string) float64 {
	d := r.d.Load()
	if z, ok := d.zoneIdx[zoneID]; ok {
		return d.radius[z]
	}
	return 0
}

// SpaceIndex returns the position of the first space whose ID is > after in
// Spaces(); it is how list cursors resume.
func (r *Registry) SpaceIndex(after string) int {
	return r.d.Load().search(after)
}

const earthRadiusM = 6371008.8

// Distance returns the great-circle distance in metres between two points.
func Distance(lat1, lon1, lat2, lon2 float64) float64 {
	rad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusM * math.Asin(math.Min(1, math.Sqrt(a)))
}

func validLatLon(what string, lat, lon float64) error {
	if math.IsNaN(lat) || lat < -85.05112878 || lat > 85.05112878 {
		return Errorf(EINVALID, "%s: lat %v is out of range -85.05..85.05", what, lat)
	}
	if math.IsNaN(lon) || lon < -180 || lon > 180 {
		return Errorf(EINVALID, "%s: lon %v is out of range -180..180", what, lon)
	}
	return nil
}

// validID accepts ids that are safe inside Redis keys and URLs.
func validID(what, id string) error {
	if id == "" || len(id) > 64 {
		return Errorf(EINVALID, "%s %q must be 1-64 characters", what, id)
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return Errorf(EINVALID, "%s %q may hold only letters, digits, '-', '_' and '.'", what, id)
		}
	}
	return nil
}
