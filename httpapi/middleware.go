package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/qiuai/parking/occupancy"
)

// quietRoutes are polled by machines; their requests are logged at debug
// level only, even with request logging on.
var quietRoutes = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// logMiddleware logs one line per request: method, path, route, status,
// duration and client IP. The query string is left out: it holds drivers'
// locations. The level: WARN for 500 and above; INFO when logRequests is
// set, except for 429s (a client over its rate would flood the log: the
// metrics count them) and the probes; DEBUG otherwise.
func logMiddleware(log *slog.Logger, logRequests bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		status := c.Writer.Status()
		level := slog.LevelDebug
		switch {
		case status >= 500:
			level = slog.LevelWarn
		case logRequests && status != http.StatusTooManyRequests && !quietRoutes[c.FullPath()]:
			level = slog.LevelInfo
		}
		ctx := c.Request.Context()
		if !log.Enabled(ctx, level) {
			return
		}
		log.LogAttrs(context.WithoutCancel(ctx), level, "request",
			slog.String("method", c.Request.Method),
			slog.String("path", truncate(c.Request.URL.Path, 200)),
			slog.String("route", c.FullPath()),
			slog.Int("status", status),
			slog.Duration("duration", time.Since(start)),
			slog.String("client_ip", c.ClientIP()),
			slog.Int("bytes", c.Writer.Size()))
	}
}

// recoveryMiddleware turns a panic in a handler into the JSON 500 answer and
// logs it with its stack. http.ErrAbortHandler is passed on: it means "drop
// the connection".
func recoveryMiddleware(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			rec := recover()
			if rec == nil {
				return
			}
			if err, ok := rec.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(rec)
			}
			err := fmt.Errorf("panic: %v", rec)
			if c.Writer.Written() {
				log.Error("request failed after answering", "path", c.Request.URL.Path, "err", err,
					"stack", string(debug.Stack()))
				c.Abort()
				return
			}
			writeError(c, log.With("stack", string(debug.Stack())), err)
		}()
		c.Next()
	}
}

// noStore marks answers as not cacheable: they are live state.
func noStore(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Next()
}

// bodyLimitMiddleware caps how much of a request body handlers can read:
// a request whose Content-Length is over n gets 413 at once; reading past
// n of a body of unstated length fails with *http.MaxBytesError, which
// readJSON answers with 413.
func bodyLimitMiddleware(n int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > n {
			fail(c, occupancy.Errorf(eTooLarge, "the body is larger than %d bytes", n))
			return
		}
		if c.Request.Body != nil {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, n)
		}
		c.Next()
	}
}
