package httpapi

import (
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/qiuai/parking/occupancy"
)

// defaultListLimit is the page size of GET /api/v1/spaces.
const defaultListLimit = 100

// spacesPage is one page of the space listing.
type spacesPage struct {
	Spaces     []spaceJSON `json:"spaces"`
	NextCursor *string     `json:"next_cursor"` // null on the last page
	staleJSON
}

// getSpace answers GET /api/v1/spaces/:id, or 404.
func (h *handler) getSpace(c *gin.Context) {
	id := c.Param("id")
	sp, ok := h.reg.Space(id)
	if !ok {
		fail(c, occupancy.Errorf(occupancy.ENOTFOUND, "space %s not found", truncate(id, 64)))
		return
	}
	st, err := h.store.Space(c.Request.Context(), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, struct {
		spaceJSON
		staleJSON
	}{newSpaceJSON(sp, st, isStaff(c)), staleOf(c)})
}

// listSpaces answers GET /api/v1/spaces?zone=&status=&limit=&cursor=: the
// spaces in ID order, a page at a time. Pass next_cursor as cursor to get
// the next page.
func (h *handler) listSpaces(c *gin.Context) {
	f, err := parseSpaceFilter(c.Request.URL.Query(), h.reg)
	if err != nil {
		fail(c, err)
		return
	}
	states, next, err := h.store.ListSpaces(c.Request.Context(), f)
	if err != nil {
		fail(c, err)
		return
	}
	page := spacesPage{Spaces: make([]spaceJSON, 0, len(states))}
	for _, st := range states {
		if sp, ok := h.reg.Space(st.SpaceID); ok {
			page.Spaces = append(page.Spaces, newSpaceJSON(sp, st, isStaff(c)))
		}
	}
	if next != "" {
		page.NextCursor = &next
	}
	page.staleJSON = staleOf(c)
	c.JSON(http.StatusOK, page)
}

// parseSpaceFilter reads a listing filter from URL parameters: zone must be
// in reg, status one of the four, limit 1-MaxListLimit (default 100). It
// returns an EINVALID error naming the parameter.
func parseSpaceFilter(v url.Values, reg *occupancy.Registry) (occupancy.SpaceFilter, error) {
	var f occupancy.SpaceFilter
	var err error
	if f.ZoneID, _, err = param(v, "zone"); err != nil {
		return f, err
	}
	if _, ok := reg.Zone(f.ZoneID); f.ZoneID != "" && !ok {
		return f, occupancy.Errorf(occupancy.EINVALID, "zone %q is not a known zone", truncate(f.ZoneID, maxParamLen))
	}
	status, _, err := param(v, "status")
	if err != nil {
		return f, err
	}
	f.Status = occupancy.Status(truncate(status, maxParamLen))
	if f.Limit, err = intParam(v, "limit", defaultListLimit, 1, occupancy.MaxListLimit); err != nil {
		return f, err
	}
	if f.After, _, err = param(v, "cursor"); err != nil {
		return f, err
	}
	if len(f.After) > 128 {
		return f, occupancy.Errorf(occupancy.EINVALID, "cursor is longer than 128 bytes")
	}
	return f, f.Validate()
}
