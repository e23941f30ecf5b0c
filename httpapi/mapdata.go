package httpapi

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/qiuai/parking/occupancy"
)

// mapJSON is the answer of GET /api/v1/map: everything a page needs to draw
// the town, in one compact answer (about 40 KB gzipped for 3718 spaces,
// where the pages of /api/v1/spaces hold ten times that).
type mapJSON struct {
	// UpdatedAt is the newest zone change (null before any).
	UpdatedAt jsonTime `json:"updated_at"`
	// Fields names the columns of each entry of Spaces.
	Fields []string   `json:"fields"`
	Zones  []zoneJSON `json:"zones"`
	// Spaces are [id, zone_id, lat, lon, kind, status], in registry order.
	Spaces [][6]any `json:"spaces"`
	// Tiles is the base map to draw under the spaces; absent without one.
	Tiles *tilesJSON `json:"tiles,omitempty"`
	staleJSON
}

// mapFields are the columns of mapJSON.Spaces.
var mapFields = []string{"id", "zone_id", "lat", "lon", "kind", "status"}

// mapData answers GET /api/v1/map: every zone with its counters and level,
// and every space as one short array with its status. Gzipped when the
// client takes it.
func (h *handler) mapData(c *gin.Context) {
	ctx := c.Request.Context()
	reg := h.reg.Snapshot()
	zones, err := h.zones.Zones(ctx)
	if err != nil {
		fail(c, err)
		return
	}
	spaces := reg.Spaces()
	states, err := h.store.States(ctx, spaces)
	if err != nil {
		fail(c, err)
		return
	}
	out := newMapJSON(reg.Zones(), zones, spaces, states)
	out.Tiles = h.tiles
	out.staleJSON = staleOf(c)
	body, err := json.Marshal(out)
	if err != nil {
		fail(c, fmt.Errorf("map: %w", err))
		return
	}
	writeJSONMaybeGzip(c, body)
}

// newMapJSON builds the map from the registry and the live state.
func newMapJSON(zones []occupancy.Zone, zs []occupancy.ZoneState, spaces []occupancy.Space, states []occupancy.SpaceState) mapJSON {
	byID := make(map[string]occupancy.ZoneState, len(zs))
	var newest time.Time
	for _, st := range zs {
		byID[st.ZoneID] = st
		if st.UpdatedAt.After(newest) {
			newest = st.UpdatedAt
		}
	}
	out := mapJSON{UpdatedAt: jsonTime(newest), Fields: mapFields,
		Zones: make([]zoneJSON, 0, len(zones)), Spaces: make([][6]any, len(spaces))}
	for _, z := range zones {
		out.Zones = append(out.Zones, newZoneJSON(z, byID[z.ID]))
	}
	for i, sp := range spaces {
		out.Spaces[i] = [6]any{sp.ID, sp.ZoneID, sp.Lat, sp.Lon, sp.Kind, states[i].Status}
	}
	return out
}

// writeJSONMaybeGzip writes a 200 JSON body, gzipped (fastest level) when
// the client takes gzip.
func writeJSONMaybeGzip(c *gin.Context, body []byte) {
	c.Header("Vary", "Accept-Encoding")
	if !acceptsGzip(c.Request) {
		c.Data(http.StatusOK, "application/json; charset=utf-8", body)
		return
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	_, _ = zw.Write(body)
	if err := zw.Close(); err != nil {
		fail(c, fmt.Errorf("map: gzip: %w", err))
		return
	}
	c.Header("Content-Encoding", "gzip")
	c.Data(http.StatusOK, "application/json; charset=utf-8", buf.Bytes())
}
