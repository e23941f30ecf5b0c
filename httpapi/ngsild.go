package httpapi

import (
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/qiuai/parking/occupancy"
)

// Open data: the live state as NGSI-LD entities of the FIWARE Smart Data
// Models (dataModel.Parking), normalized form, read-only:
//
//	GET /ngsi-ld/v1/entities?type=ParkingSpot|OnStreetParking|OffStreetParking&limit=&offset=&count=
//	GET /ngsi-ld/v1/entities/{urn}
//
// The answer is application/ld+json with @context in each entity, or, for
// a client that accepts only application/json, plain JSON with the
// @context in a Link header.
//
// Errors keep the service's one error shape ({"error": {"code", "message"}}),
// not NGSI-LD's ProblemDetails.

// NGSI-LD entity types served.
const (
	ngsiParkingSpot      = "ParkingSpot"
	ngsiOnStreetParking  = "OnStreetParking"
	ngsiOffStreetParking = "OffStreetParking"
)

// NGSI-LD paging (ETSI GS CIM 009: default 20, at most 1000 here).
const (
	defaultNGSILimit = 20
	maxNGSILimit     = 1000
)

// ngsiContext is the JSON-LD @context of every entity: the Smart Data
// Models' parking context, then the NGSI-LD core context.
var ngsiContext = []string{
	"https://smart-data-models.github.io/dataModel.Parking/context.jsonld",
	"https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld",
}

// ngsiContentType is the content type of the entity answers, unless the
// client asks for plain application/json.
const ngsiContentType = "application/ld+json"

// ngsiContextLink is the Link header that carries the @context of a plain
// JSON answer (the NGSI-LD core context is implied).
var ngsiContextLink = "<" + ngsiContext[0] + `>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"`

// ngsiProperty is an NGSI-LD Property.
type ngsiProperty struct {
	Type       string `json:"type"` // Property
	Value      any    `json:"value"`
	ObservedAt string `json:"observedAt,omitempty"`
}

// ngsiGeoProperty is an NGSI-LD GeoProperty holding a GeoJSON point.
type ngsiGeoProperty struct {
	Type  string   `json:"type"` // GeoProperty
	Value geoPoint `json:"value"`
}

// geoPoint is a GeoJSON Point: coordinates are [lon, lat].
type geoPoint struct {
	Type        string     `json:"type"` // Point
	Coordinates [2]float64 `json:"coordinates"`
}

// ngsiRelationship is an NGSI-LD Relationship to another entity.
type ngsiRelationship struct {
	Type   string `json:"type"` // Relationship
	Object string `json:"object"`
}

// spotEntity is a space as a ParkingSpot.
type spotEntity struct {
	ID             string           `json:"id"`
	Type           string           `json:"type"`
	Name           ngsiProperty     `json:"name"`
	Status         ngsiProperty     `json:"status"`
	Category       ngsiProperty     `json:"category"`
	Location       ngsiGeoProperty  `json:"location"`
	RefParkingSite ngsiRelationship `json:"refParkingSite"`
	Context        []string         `json:"@context,omitempty"`
}

// siteEntity is a zone as an OnStreetParking or OffStreetParking.
type siteEntity struct {
	ID                  string          `json:"id"`
	Type                string          `json:"type"`
	Name                ngsiProperty    `json:"name"`
	Location            ngsiGeoProperty `json:"location"`
	TotalSpotNumber     ngsiProperty    `json:"totalSpotNumber"`
	AvailableSpotNumber ngsiProperty    `json:"availableSpotNumber"`
	OccupiedSpotNumber  ngsiProperty    `json:"occupiedSpotNumber"`
	Occupancy           ngsiProperty    `json:"occupancy"` // occupied / total, 0-1
	Context             []string        `json:"@context,omitempty"`
}

// ngsiTime formats t as NGSI-LD's DateTime, or "" for the zero time.
func ngsiTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

func prop(v any, observed time.Time) ngsiProperty {
	return ngsiProperty{Type: "Property", Value: v, ObservedAt: ngsiTime(observed)}
}

func point(lat, lon float64) ngsiGeoProperty {
	return ngsiGeoProperty{Type: "GeoProperty", Value: geoPoint{Type: "Point", Coordinates: [2]float64{lon, lat}}}
}

// siteType is the NGSI-LD type of a zone.
func siteType(t occupancy.ZoneType) string {
	if t == occupancy.OffStreet {
		return ngsiOffStreetParking
	}
	return ngsiOnStreetParking
}

// siteURN is the NGSI-LD id of a zone.
func siteURN(z occupancy.Zone) string { return "urn:ngsi-ld:" + siteType(z.Type) + ":" + z.ID }

// spotCategory is a space's ParkingSpot category: where it is, and what it
// is reserved for.
func spotCategory(z occupancy.Zone, k occupancy.Kind) []string {
	cat := []string{"onStreet"}
	if z.Type == occupancy.OffStreet {
		cat[0] = "offStreet"
	}
	switch k {
	case occupancy.KindAccessible:
		cat = append(cat, "forDisabled")
	case occupancy.KindEV:
		cat = append(cat, "forElectricalCharging")
	case occupancy.KindLoading:
		cat = append(cat, "forLoadUnload")
	}
	return cat
}

// newSpotEntity builds a ParkingSpot. Its status is observed when the
// sensor was last heard (or when the status began, if later).
func newSpotEntity(sp occupancy.Space, z occupancy.Zone, st occupancy.SpaceState) spotEntity {
	observed := st.LastSeen
	if st.Since.After(observed) {
		observed = st.Since
	}
	return spotEntity{ID: "urn:ngsi-ld:ParkingSpot:" + sp.ID, Type: ngsiParkingSpot,
		Name: prop(sp.ID, time.Time{}), Status: prop(string(st.Status), observed),
		Category: prop(spotCategory(z, sp.Kind), time.Time{}), Location: point(sp.Lat, sp.Lon),
		RefParkingSite: ngsiRelationship{Type: "Relationship", Object: siteURN(z)}, Context: ngsiContext}
}

// newSiteEntity builds an OnStreetParking or OffStreetParking.
func newSiteEntity(z occupancy.Zone, st occupancy.ZoneState) siteEntity {
	occ := 0.0
	if st.Counts.Total > 0 {
		occ = math.Round(float64(st.Counts.Occupied)/float64(st.Counts.Total)*1000) / 1000
	}
	return siteEntity{ID: siteURN(z), Type: siteType(z.Type), Name: prop(z.Name, time.Time{}),
		Location: point(z.Lat, z.Lon), TotalSpotNumber: prop(st.Counts.Total, time.Time{}),
		AvailableSpotNumber: prop(st.Counts.Free, st.UpdatedAt), OccupiedSpotNumber: prop(st.Counts.Occupied, st.UpdatedAt),
		Occupancy: prop(occ, st.UpdatedAt), Context: ngsiContext}
}

// ngsiRoutes registers the NGSI-LD API under /ngsi-ld/v1.
func (h *handler) ngsiRoutes(g *gin.RouterGroup) {
	g.GET("/entities", h.ngsiEntities)
	g.GET("/entities/:id", h.ngsiEntity)
}

// ngsiEntity answers GET /ngsi-ld/v1/entities/{urn}: one ParkingSpot,
// OnStreetParking or OffStreetParking, or 404.
func (h *handler) ngsiEntity(c *gin.Context) {
	urn := c.Param("id")
	typ, id, ok := strings.Cut(strings.TrimPrefix(urn, "urn:ngsi-ld:"), ":")
	if !strings.HasPrefix(urn, "urn:ngsi-ld:") || !ok || id == "" {
		invalid(c, "entity id %q is not urn:ngsi-ld:TYPE:ID", truncate(urn, 100))
		return
	}
	notFound := occupancy.Errorf(occupancy.ENOTFOUND, "entity %s not found", truncate(urn, 100))
	var ent any
	var err error
	switch typ {
	case ngsiParkingSpot:
		ent, err = h.spotEntity(c, id)
	case ngsiOnStreetParking, ngsiOffStreetParking:
		ent, err = h.siteEntity(c, typ, id)
	default:
		err = notFound
	}
	if occupancy.ErrorCode(err) == occupancy.ENOTFOUND {
		err = notFound
	}
	if err != nil {
		fail(c, err)
		return
	}
	staleOf(c)
	writeNGSI(c, []any{ent}, true)
}

// spotEntity returns the ParkingSpot of space id. ENOTFOUND if none.
func (h *handler) spotEntity(c *gin.Context, id string) (any, error) {
	sp, ok := h.reg.Space(id)
	if !ok {
		return nil, occupancy.Errorf(occupancy.ENOTFOUND, "no space %s", id)
	}
	st, err := h.store.Space(c.Request.Context(), id)
	if err != nil {
		return nil, err
	}
	z, _ := h.reg.Zone(sp.ZoneID)
	return newSpotEntity(sp, z, st), nil
}

// siteEntity returns zone id as a parking site of type typ. ENOTFOUND if
// there is no such zone of that type.
func (h *handler) siteEntity(c *gin.Context, typ, id string) (any, error) {
	z, ok := h.reg.Zone(id)
	if !ok || siteType(z.Type) != typ {
		return nil, occupancy.Errorf(occupancy.ENOTFOUND, "no %s %s", typ, id)
	}
	st, err := h.zones.Zone(c.Request.Context(), id)
	if err != nil {
		return nil, err
	}
	return newSiteEntity(z, st), nil
}

// ngsiQuery is a parsed entity query.
type ngsiQuery struct {
	typ           string
	limit, offset int
	count         bool
}

// parseNGSIQuery reads type (required), limit (0-1000, default 20), offset
// and count (true|false).
func parseNGSIQuery(v url.Values) (ngsiQuery, error) {
	var q ngsiQuery
	typ, _, err := param(v, "type")
	if err != nil {
		return q, err
	}
	switch typ {
	case ngsiParkingSpot, ngsiOnStreetParking, ngsiOffStreetParking:
		q.typ = typ
	case "":
		return q, occupancy.Errorf(occupancy.EINVALID, "type is required: ParkingSpot, OnStreetParking or OffStreetParking")
	default:
		return q, occupancy.Errorf(occupancy.EINVALID, "type %q is not ParkingSpot, OnStreetParking or OffStreetParking",
			truncate(typ, maxParamLen))
	}
	if q.limit, err = intParam(v, "limit", defaultNGSILimit, 0, maxNGSILimit); err != nil {
		return q, err
	}
	if q.offset, err = intParam(v, "offset", 0, 0, math.MaxInt32); err != nil {
		return q, err
	}
	count, _, err := param(v, "count")
	if err != nil {
		return q, err
	}
	switch count {
	case "", "false":
	case "true":
		q.count = true
	default:
		return q, occupancy.Errorf(occupancy.EINVALID, "count must be true or false")
	}
	return q, nil
}

// ngsiEntities answers GET /ngsi-ld/v1/entities: a page of entities of one
// type in registry order, as a JSON-LD array. With count=true the header
// NGSILD-Results-Count holds how many entities of the type there are.
func (h *handler) ngsiEntities(c *gin.Context) {
	q, err := parseNGSIQuery(c.Request.URL.Query())
	if err != nil {
		fail(c, err)
		return
	}
	var out []any
	var total int
	if q.typ == ngsiParkingSpot {
		out, total, err = h.spotEntities(c, q)
	} else {
		out, total, err = h.siteEntities(c, q)
	}
	if err != nil {
		fail(c, err)
		return
	}
	if q.count {
		c.Header("NGSILD-Results-Count", strconv.Itoa(total))
	}
	staleOf(c) // the header only: an entity array has no room for more
	writeNGSI(c, out, false)
}

// writeNGSI answers 200 with the entities, or with the only one when single.
// As NGSI-LD says: application/ld+json (the default) carries @context in
// each entity; application/json carries it in a Link header.
func writeNGSI(c *gin.Context, entities []any, single bool) {
	c.Header("Vary", "Accept")
	if c.NegotiateFormat(ngsiContentType, "application/json") == "application/json" {
		withoutContext(entities)
		c.Header("Link", ngsiContextLink)
	} else {
		c.Header("Content-Type", ngsiContentType) // c.JSON keeps a content type already set
	}
	var body any = entities
	if single {
		body = entities[0]
	}
	c.JSON(http.StatusOK, body)
}

// withoutContext drops @context from each entity.
func withoutContext(entities []any) {
	for i, e := range entities {
		switch ent := e.(type) {
		case spotEntity:
			ent.Context = nil
			entities[i] = ent
		case siteEntity:
			ent.Context = nil
			entities[i] = ent
		}
	}
}

// page returns the bounds of the page [offset, offset+limit) of n items.
func page(n, offset, limit int) (int, int) {
	lo := min(offset, n)
	return lo, min(lo+limit, n)
}

// spotEntities returns a page of ParkingSpot entities and how many spaces
// there are.
func (h *handler) spotEntities(c *gin.Context, q ngsiQuery) ([]any, int, error) {
	reg := h.reg.Snapshot() // one version for the page and the count
	n := reg.NumSpaces()
	lo, hi := page(n, q.offset, q.limit)
	spaces := reg.SpacesRange(lo, hi) // only the page: never a copy of every space
	out := make([]any, 0, len(spaces))
	if len(spaces) == 0 {
		return out, n, nil
	}
	states, err := h.store.States(c.Request.Context(), spaces)
	if err != nil {
		return nil, 0, err
	}
	for i, sp := range spaces {
		z, _ := reg.Zone(sp.ZoneID)
		out = append(out, newSpotEntity(sp, z, states[i]))
	}
	return out, n, nil
}

// siteEntities returns a page of the zones of q's type as parking sites and
// how many such zones there are.
func (h *handler) siteEntities(c *gin.Context, q ngsiQuery) ([]any, int, error) {
	var zones []occupancy.Zone
	for _, z := range h.reg.Zones() {
		if siteType(z.Type) == q.typ {
			zones = append(zones, z)
		}
	}
	lo, hi := page(len(zones), q.offset, q.limit)
	out := make([]any, 0, hi-lo)
	if hi == lo {
		return out, len(zones), nil
	}
	states, err := h.zones.Zones(c.Request.Context())
	if err != nil {
		return nil, 0, err
	}
	byID := make(map[string]occupancy.ZoneState, len(states))
	for _, st := range states {
		byID[st.ZoneID] = st
	}
	for _, z := range zones[lo:hi] {
		out = append(out, newSiteEntity(z, byID[z.ID]))
	}
	return out, len(zones), nil
}
