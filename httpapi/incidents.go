package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/qiuai/parking/occupancy"
)

// defaultIncidentLimit and maxIncidentLimit bound GET /api/v1/incidents.
const (
	defaultIncidentLimit = 100
	maxIncidentLimit     = 1000
)

// incidentJSON is an incident as staff see it; times not yet reached are null.
type incidentJSON struct {
	ID             string                   `json:"id"`
	Type           occupancy.IncidentType   `json:"type"`
	SpaceID        string                   `json:"space_id"`
	ZoneID         string                   `json:"zone_id"`
	Status         occupancy.IncidentStatus `json:"status"`
	Detail         string                   `json:"detail"`
	Start          jsonTime                 `json:"start"`
	OpenedAt       jsonTime                 `json:"opened_at"`
	AcknowledgedAt jsonTime                 `json:"acknowledged_at"`
	AcknowledgedBy *string                  `json:"acknowledged_by"`
	AckNote        *string                  `json:"ack_note"`
	ResolvedAt     jsonTime                 `json:"resolved_at"`
	ResolvedBy     *string                  `json:"resolved_by"`
	ResolveNote    *string                  `json:"resolve_note"`
}

func newIncidentJSON(inc occupancy.Incident) incidentJSON {
	opt := func(at jsonTime, s string) *string {
		if time.Time(at).IsZero() {
			return nil
		}
		return &s
	}
	j := incidentJSON{ID: inc.ID, Type: inc.Type, SpaceID: inc.SpaceID, ZoneID: inc.ZoneID, Status: inc.Status,
		Detail: inc.Detail, Start: jsonTime(inc.Start), OpenedAt: jsonTime(inc.OpenedAt),
		AcknowledgedAt: jsonTime(inc.AcknowledgedAt), ResolvedAt: jsonTime(inc.ResolvedAt)}
	j.AcknowledgedBy, j.AckNote = opt(j.AcknowledgedAt, inc.AcknowledgedBy), opt(j.AcknowledgedAt, inc.AckNote)
	j.ResolvedBy, j.ResolveNote = opt(j.ResolvedAt, inc.ResolvedBy), opt(j.ResolvedAt, inc.ResolveNote)
	return j
}

// incidentRoutes registers the incident endpoints: reads for viewers,
// acknowledge and resolve for operators.
func (h *handler) incidentRoutes(viewer, operator *gin.RouterGroup) {
	viewer.GET("/sensors", h.listSensors) // sensors.go
	viewer.GET("/incidents", h.listIncidents)
	operator.POST("/incidents/:id/ack", h.ackIncident)
	operator.POST("/incidents/:id/resolve", h.resolveIncident)
}

// listIncidents answers GET /api/v1/incidents?status=&type=&zone=&limit=:
// newest opened first.
func (h *handler) listIncidents(c *gin.Context) {
	hs, ok := h.healthStore(c)
	if !ok {
		return
	}
	q := c.Request.URL.Query()
	var f occupancy.IncidentFilter
	for name, dst := range map[string]*string{"status": (*string)(&f.Status), "type": (*string)(&f.Type), "zone": &f.ZoneID} {
		v, _, err := param(q, name)
		if err != nil {
			fail(c, err)
			return
		}
		*dst = truncate(v, maxParamLen)
	}
	if _, ok := h.reg.Zone(f.ZoneID); f.ZoneID != "" && !ok {
		invalid(c, "zone %q is not a known zone", f.ZoneID)
		return
	}
	limit, err := intParam(q, "limit", defaultIncidentLimit, 1, maxIncidentLimit)
	if err != nil {
		fail(c, err)
		return
	}
	incs, err := hs.Incidents(c.Request.Context(), f, limit)
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]incidentJSON, 0, len(incs))
	for _, inc := range incs {
		out = append(out, newIncidentJSON(inc))
	}
	c.JSON(http.StatusOK, gin.H{"incidents": out})
}

// noteRequest is the body of ack and resolve; the body may be empty.
type noteRequest struct {
	Note string `json:"note"`
}

// readNote reads an optional {"note": "…"} body; 400 if it is anything else
// or the note is not a valid note (occupancy.ValidateNote), 413 and 415 as
// readJSON says.
func readNote(c *gin.Context) (string, bool) {
	var req noteRequest
	if err := readJSON(c, &req); err != nil && !errors.Is(err, errEmptyBody) {
		fail(c, err)
		return "", false
	}
	if err := occupancy.ValidateNote(req.Note); err != nil {
		fail(c, err)
		return "", false
	}
	return req.Note, true
}

// callerName names the caller for the record: its role and the first 8 hex
// digits of its token's SHA-256 (which token, without revealing it), e.g.
// "operator:3f2a9c01".
func callerName(c *gin.Context) string {
	tok, _ := bearer(c)
	d := sha256.Sum256([]byte(tok))
	return string(callerRole(c)) + ":" + hex.EncodeToString(d[:4])
}

// ackIncident answers POST /api/v1/incidents/:id/ack with {"note"}.
func (h *handler) ackIncident(c *gin.Context) {
	h.moveIncident(c, SensorStore.AckIncident)
}

// resolveIncident answers POST /api/v1/incidents/:id/resolve with {"note"}.
func (h *handler) resolveIncident(c *gin.Context) {
	h.moveIncident(c, SensorStore.ResolveIncident)
}

// moveIncident runs an incident transition and answers the incident.
func (h *handler) moveIncident(c *gin.Context, move func(SensorStore, context.Context, string, string, string) (occupancy.Incident, error)) {
	hs, ok := h.healthStore(c)
	if !ok {
		return
	}
	note, ok := readNote(c)
	if !ok {
		return
	}
	inc, err := move(hs, c.Request.Context(), truncate(c.Param("id"), 200), callerName(c), note)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"incident": newIncidentJSON(inc)})
}
