package httpapi

import (
	"log/slog"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/qiuai/parking/occupancy"
)

// Error codes of the HTTP layer, beside occupancy's ENOTFOUND, EINVALID,
// ECONFLICT, EUNAVAILABLE and EINTERNAL.
const (
	eMethodNotAllowed = "method_not_allowed"
)

// statusOf maps error codes to HTTP statuses; any other code is a 500.
var statusOf = map[string]int{
	occupancy.ENOTFOUND: http.StatusNotFound,
	occupancy.EINVALID:  http.StatusBadRequest,
	occupancy.ECONFLICT: http.StatusConflict,
	// Redis down or too slow, or parkd at its live streams' limit.
	occupancy.EUNAVAILABLE: http.StatusServiceUnavailable,
	eMethodNotAllowed:      http.StatusMethodNotAllowed,
	eUnauthorized:          http.StatusUnauthorized,
	eForbidden:             http.StatusForbidden,
	eRateLimited:           http.StatusTooManyRequests,
	eTooLarge:              http.StatusRequestEntityTooLarge,
	eUnsupportedMedia:      http.StatusUnsupportedMediaType,
}

// errorBody is the single shape of every error answer.
type errorBody struct {
	Error errorJSON `json:"error"`
}

type errorJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeError renders err as the JSON error answer and aborts the chain. It
// is the only place that maps error codes to statuses. Errors without a
// known code are 500 "internal error"; they are logged with their detail,
// which never reaches the client.
func writeError(c *gin.Context, log *slog.Logger, err error) {
	code := occupancy.ErrorCode(err)
	status, ok := statusOf[code]
	msg := occupancy.ErrorMessage(err)
	if !ok {
		status, code, msg = http.StatusInternalServerError, occupancy.EINTERNAL, "internal error"
		level := slog.LevelError
		if c.Request.Context().Err() != nil {
			level = slog.LevelWarn // the client left or its deadline passed
		}
		log.Log(c.Request.Context(), level, "request failed", "method", c.Request.Method,
			"path", c.Request.URL.Path, "route", c.FullPath(), "err", err)
	}
	c.Header("Cache-Control", "no-store")
	if status == http.StatusServiceUnavailable && c.Writer.Header().Get("Retry-After") == "" {
		c.Header("Retry-After", strconv.Itoa(unavailableRetrySeconds))
	}
	c.AbortWithStatusJSON(status, errorBody{Error: errorJSON{Code: code, Message: msg}})
}

// unavailableRetrySeconds is the Retry-After of a 503 that sets none of its
// own: about when the read model asks a Redis that failed again.
const unavailableRetrySeconds = 2

// errorsMiddleware renders the last error a handler or middleware reported
// with c.Error, unless an answer was already written.
func errorsMiddleware(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		if err := c.Errors.Last(); err != nil && !c.Writer.Written() {
			writeError(c, log, err.Err)
		}
	}
}

// fail reports err for errorsMiddleware to render and stops the chain.
func fail(c *gin.Context, err error) {
	_ = c.Error(err)
	c.Abort()
}

// invalid reports a 400 with the formatted message.
func invalid(c *gin.Context, format string, args ...any) {
	fail(c, occupancy.Errorf(occupancy.EINVALID, format, args...))
}

// noRoute answers paths that match no route.
func noRoute(c *gin.Context) {
	fail(c, occupancy.Errorf(occupancy.ENOTFOUND, "no such path: %s", truncate(c.Request.URL.Path, 200)))
}

// noMethod answers a known path asked with a method it does not serve. Gin
// has set the Allow header.
func noMethod(c *gin.Context) {
	fail(c, occupancy.Errorf(eMethodNotAllowed, "method %s is not allowed here; allowed: %s",
		truncate(c.Request.Method, 20), c.Writer.Header().Get("Allow")))
}

// truncate cuts s to at most n bytes, on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
