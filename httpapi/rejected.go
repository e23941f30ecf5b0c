package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// Limits of the rejected-message listing.
const (
	defaultRejectedLimit = 50
	maxRejectedLimit     = 1000
)

// rejectedJSON is a message ingest refused, kept for staff to inspect.
type rejectedJSON struct {
	ID         string   `json:"id"`
	ReceivedAt jsonTime `json:"received_at"`
	Topic      string   `json:"topic"`
	Result     string   `json:"result"` // invalid or unknown_sensor
	Reason     string   `json:"reason"`
	Payload    string   `json:"payload"` // cut to 1 KiB
}

// listRejected answers GET /api/v1/ingest/rejected?limit=: the newest
// rejected messages, newest first (default 50, at most 1000).
//
// Staff only: behind a bearer token of role viewer.
func (h *handler) listRejected(c *gin.Context) {
	limit, err := intParam(c.Request.URL.Query(), "limit", defaultRejectedLimit, 1, maxRejectedLimit)
	if err != nil {
		fail(c, err)
		return
	}
	dls, err := h.store.DeadLetters(c.Request.Context(), limit)
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]rejectedJSON, len(dls))
	for i, d := range dls {
		out[i] = rejectedJSON{ID: d.ID, ReceivedAt: jsonTime(d.ReceivedAt), Topic: d.Topic,
			Result: d.Result, Reason: d.Reason, Payload: d.Payload}
	}
	c.JSON(http.StatusOK, gin.H{"rejected": out})
}
