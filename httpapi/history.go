package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/qiuai/parking/occupancy"
)

// History query limits.
const (
	historyDefaultSpan = 24 * time.Hour
	historyMaxPoints   = 2016 // a week of 5-minute buckets
)

// historyRoutes registers the history and forecast of a zone and of the
// town (also reachable as zone "all"). Public, like the zones themselves.
func (h *handler) historyRoutes(api *gin.RouterGroup) {
	api.GET("/zones/:id/history", h.zoneHistory)
	api.GET("/zones/:id/forecast", h.zoneForecast)
	api.GET("/history", h.townHistory)
	api.GET("/forecast", h.townForecast)
}

// historyJSON is the answer of the history endpoints.
type historyJSON struct {
	ZoneID      string             `json:"zone_id"`
	From        jsonTime           `json:"from"`
	To          jsonTime           `json:"to"`
	StepSeconds int                `json:"step_seconds"`
	Points      []historyPointJSON `json:"points"`
}

type historyPointJSON struct {
	Start jsonTime `json:"start"`
	occupancy.Counts
	Samples int `json:"samples"`
}

// forecastJSON is the answer of the forecast endpoints.
type forecastJSON struct {
	ZoneID            string             `json:"zone_id"`
	At                jsonTime           `json:"at"`
	Free              int                `json:"free"`
	Total             int                `json:"total"`
	Method            string             `json:"method"`
	Baseline          *float64           `json:"baseline"`
	Adjustment        float64            `json:"adjustment"`
	LastHourFree      *float64           `json:"last_hour_free"`
	UsualLastHourFree *float64           `json:"usual_last_hour_free"`
	Weeks             []forecastWeekJSON `json:"weeks"`
}

type forecastWeekJSON struct {
	WeeksAgo int      `json:"weeks_ago"`
	At       jsonTime `json:"at"`
	Free     *int     `json:"free"`
}

func (h *handler) zoneHistory(c *gin.Context)  { h.history(c, c.Param("id")) }
func (h *handler) townHistory(c *gin.Context)  { h.history(c, occupancy.AllZones) }
func (h *handler) zoneForecast(c *gin.Context) { h.forecast(c, c.Param("id")) }
func (h *handler) townForecast(c *gin.Context) { h.forecast(c, occupancy.AllZones) }

// historyStore returns the history (Options.History), checking that zoneID
// is a registry zone or "all".
func (h *handler) historyStore(zoneID string) (occupancy.HistoryReader, error) {
	if _, ok := h.reg.Zone(zoneID); !ok && zoneID != occupancy.AllZones {
		return nil, occupancy.Errorf(occupancy.ENOTFOUND, "zone %s not found", truncate(zoneID, 64))
	}
	if h.historyR == nil {
		return nil, missing("history")
	}
	return h.historyR, nil
}

// history answers GET …/history?from=&to=&step=: the buckets of [from, to)
// (default the last 24 h; from rounded down to 5 minutes) averaged over
// steps of step (a multiple of 5m, default 5m), steps without a sample left
// out.
func (h *handler) history(c *gin.Context, zoneID string) {
	hs, err := h.historyStore(zoneID)
	if err != nil {
		fail(c, err)
		return
	}
	from, to, step, err := h.historyParams(c.Request.URL.Query())
	if err != nil {
		fail(c, err)
		return
	}
	raw, err := hs.History(c.Request.Context(), zoneID, from, to)
	if err != nil {
		fail(c, err)
		return
	}
	out := historyJSON{ZoneID: zoneID, From: jsonTime(from), To: jsonTime(to),
		StepSeconds: int(step / time.Second), Points: []historyPointJSON{}}
	for _, p := range occupancy.Downsample(raw, from, step) {
		out.Points = append(out.Points, historyPointJSON{Start: jsonTime(p.Start), Counts: p.Counts, Samples: p.Samples})
	}
	c.JSON(http.StatusOK, out)
}

// historyParams parses from, to and step.
func (h *handler) historyParams(v url.Values) (from, to time.Time, step time.Duration, err error) {
	if to, err = timeParam(v, "to", h.now()); err != nil {
		return
	}
	if from, err = timeParam(v, "from", to.Add(-historyDefaultSpan)); err != nil {
		return
	}
	from = occupancy.BucketStart(from)
	if step, err = stepParam(v); err != nil {
		return
	}
	switch {
	case !to.After(from):
		err = occupancy.Errorf(occupancy.EINVALID, "from must be before to")
	case to.Sub(from) > occupancy.HistoryRetention:
		err = occupancy.Errorf(occupancy.EINVALID, "from and to are at most %d days apart", occupancy.HistoryRetention/(24*time.Hour))
	case to.Sub(from)/step > historyMaxPoints:
		err = occupancy.Errorf(occupancy.EINVALID, "over %d points: use a larger step", historyMaxPoints)
	}
	return
}

// timeParam parses name as an RFC 3339 time; def when absent.
func timeParam(v url.Values, name string, def time.Time) (time.Time, error) {
	s, ok, err := param(v, name)
	if err != nil || !ok {
		return def, err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, occupancy.Errorf(occupancy.EINVALID, "%s %q is not an RFC 3339 time", name, truncate(s, maxParamLen))
	}
	return t.UTC(), nil
}

// stepParam parses step as a duration ("5m", "1h", "24h"), a multiple of
// occupancy.HistoryStep up to a day; default 5m.
func stepParam(v url.Values) (time.Duration, error) {
	s, ok, err := param(v, "step")
	if err != nil || !ok {
		return occupancy.HistoryStep, err
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d%occupancy.HistoryStep != 0 || d > 24*time.Hour {
		return 0, occupancy.Errorf(occupancy.EINVALID, "step %q must be a multiple of 5m up to 24h, e.g. 15m or 1h", truncate(s, maxParamLen))
	}
	return d, nil
}

// forecast answers GET …/forecast?at=: the estimated free spaces at at
// (required, from now to a week ahead).
func (h *handler) forecast(c *gin.Context, zoneID string) {
	hs, err := h.historyStore(zoneID)
	if err != nil {
		fail(c, err)
		return
	}
	at, err := timeParam(c.Request.URL.Query(), "at", time.Time{})
	if err == nil && at.IsZero() {
		err = occupancy.Errorf(occupancy.EINVALID, "at is required")
	}
	if err != nil {
		fail(c, err)
		return
	}
	current, err := h.currentCounts(c.Request.Context(), zoneID)
	if err != nil {
		fail(c, err)
		return
	}
	f, err := occupancy.ForecastFree(c.Request.Context(), hs, zoneID, current, at, h.now())
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, newForecastJSON(zoneID, f))
}

// currentCounts returns the live counters of zoneID, or the town's sum.
func (h *handler) currentCounts(ctx context.Context, zoneID string) (occupancy.Counts, error) {
	if zoneID != occupancy.AllZones {
		z, err := h.zones.Zone(ctx, zoneID)
		return z.Counts, err
	}
	zones, err := h.zones.Zones(ctx)
	var c occupancy.Counts
	for _, z := range zones {
		c.Add(z.Counts)
	}
	return c, err
}

func newForecastJSON(zoneID string, f occupancy.Forecast) forecastJSON {
	out := forecastJSON{ZoneID: zoneID, At: jsonTime(f.At), Free: f.Free, Total: f.Total, Method: f.Method,
		Baseline: f.Baseline, Adjustment: f.Adjustment, LastHourFree: f.LastHourFree,
		UsualLastHourFree: f.UsualLastHourFree, Weeks: []forecastWeekJSON{}}
	for _, w := range f.Weeks {
		out.Weeks = append(out.Weeks, forecastWeekJSON{WeeksAgo: w.WeeksAgo, At: jsonTime(w.At), Free: w.Free})
	}
	return out
}
