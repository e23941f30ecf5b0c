package httpapi

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

// TestServerGracefulShutdown serves on a free port, starts a slow request,
// shuts down meanwhile and checks that the request still completes while
// new connections are refused.
func TestServerGracefulShutdown(t *testing.T) {
	e := newEnv(t)
	started := make(chan struct{})
	e.router.GET("/api/v1/slow", func(c *gin.Context) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		c.JSON(http.StatusOK, gin.H{"done": true})
	})
	srv := NewServer("127.0.0.1:0", e.router, ServerOptions{})
	addr, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Listen(); err == nil {
		t.Error("a second Listen succeeded")
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()

	base := "http://" + addr.String()
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz %d", resp.StatusCode)
	}

	type result struct {
		status int
		body   string
		err    error
	}
	slow := make(chan result, 1)
	go func() {
		resp, err := http.Get(base + "/api/v1/slow")
		if err != nil {
			slow <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		slow <- result{resp.StatusCode, string(b), err}
	}()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	r := <-slow
	if r.err != nil || r.status != 200 || r.body != `{"done":true}` {
		t.Errorf("in-flight request: %d %q %v; want it finished", r.status, r.body, r.err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve returned %v after Shutdown, want nil", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("the server still answers after Shutdown")
	}
}

func TestServerDefaults(t *testing.T) {
	srv := NewServer("127.0.0.1:0", http.NotFoundHandler(), ServerOptions{ReadTimeout: time.Minute})
	s := srv.srv
	if s.ReadHeaderTimeout != 5*time.Second || s.ReadTimeout != time.Minute || s.WriteTimeout != 30*time.Second ||
		s.IdleTimeout != 120*time.Second || s.MaxHeaderBytes != 64<<10 {
		t.Errorf("server settings %v %v %v %v %v", s.ReadHeaderTimeout, s.ReadTimeout, s.WriteTimeout,
			s.IdleTimeout, s.MaxHeaderBytes)
	}
	// Shutdown before Serve releases the port.
	if _, err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}
