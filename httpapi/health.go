package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// healthz answers while the process is alive: GET /healthz.
func healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readyJSON is the answer of /readyz.
type readyJSON struct {
	Status string            `json:"status"` // ready or not_ready
	Checks map[string]string `json:"checks"` // check name -> "ok", "failed", or for staff what failed
}

// readyz runs every check at once, each bounded by timeout: GET /readyz is
// 200 when all pass and 503 otherwise. It says which check failed; what
// failed (error text, with addresses and ids) only to a caller with a
// staff token.
func readyz(checks []Check, timeout time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		results := runChecks(c.Request.Context(), checks, timeout)
		body := readyJSON{Status: "ready", Checks: make(map[string]string, len(checks))}
		status, staff := http.StatusOK, isStaff(c)
		for i, ch := range checks {
			body.Checks[ch.Name] = "ok"
			if err := results[i]; err != nil {
				body.Checks[ch.Name] = "failed"
				if staff {
					body.Checks[ch.Name] = err.Error()
				}
				body.Status, status = "not_ready", http.StatusServiceUnavailable
			}
		}
		c.JSON(status, body)
	}
}

// runChecks runs the checks concurrently and returns their errors in order.
// A check that outlives its timeout counts as failed; a panicking one too.
func runChecks(ctx context.Context, checks []Check, timeout time.Duration) []error {
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, ch := range checks {
		wg.Go(func() { errs[i] = runCheck(ctx, ch, timeout) })
	}
	wg.Wait()
	return errs
}

func runCheck(ctx context.Context, ch Check, timeout time.Duration) (err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if rec := recover(); rec != nil {
				done <- fmt.Errorf("check panicked: %v", rec)
			}
		}()
		done <- ch.Func(ctx)
	}()
	select {
	case err = <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("no answer within %s", timeout)
	}
}
