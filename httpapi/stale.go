package httpapi

import (
	"context"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/qiuai/parking/occupancy"
)

// Public reads while Redis is sick. A public read (the availability
// answers, the history, NGSI-LD) waits for Redis at most StoreTimeout:
// past it, the readers answer from parkd's memory where they hold a view
// (the read model), and mark the answer stale, or fail with EUNAVAILABLE,
// a 503 with Retry-After. An answer from memory says so: "stale": true and
// "confirmed_at" (when parkd last heard from Redis) in its JSON, and the
// header Parkd-Stale with that time (for NGSI-LD, whose entities have no
// room for it).

// staleHeader names the header of a stale answer.
const staleHeader = "Parkd-Stale"

// stalenessKey is the gin context key of the request's Staleness.
const stalenessKey = "parkd.staleness"

// publicRead bounds the request's wait for the store to timeout and gives
// it an occupancy.Staleness for the readers to mark.
func publicRead(timeout time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), timeout)
		defer cancel()
		ctx, st := occupancy.WithStaleness(ctx)
		c.Request = c.Request.WithContext(ctx)
		c.Set(stalenessKey, st)
		c.Next()
	}
}

// staleJSON marks an answer given from parkd's memory while Redis did not
// answer; both fields are left out of a fresh answer.
type staleJSON struct {
	Stale bool `json:"stale,omitempty"`
	// ConfirmedAt is when parkd last heard from Redis: the figures are as
	// of then, or later.
	ConfirmedAt *jsonTime `json:"confirmed_at,omitempty"`
}

// staleOf returns the marks of c's answer and, when it is stale, sets the
// Parkd-Stale header. Call it after the reads, before writing the answer.
func staleOf(c *gin.Context) staleJSON {
	v, _ := c.Get(stalenessKey)
	st, _ := v.(*occupancy.Staleness)
	if st == nil {
		return staleJSON{}
	}
	at, stale := st.Stale()
	if !stale {
		return staleJSON{}
	}
	t := jsonTime(at)
	c.Header(staleHeader, at.UTC().Format(timeLayout))
	return staleJSON{Stale: true, ConfirmedAt: &t}
}
