package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// parkdProc is a parkd child process of the bench.
type parkdProc struct {
	*child
	base string // http://127.0.0.1:PORT
	http *http.Client
}

// startParkd starts parkd on regDir against the bench's Redis and broker,
// with the extra environment variables (NAME=value), and waits until
// /readyz answers 200 (registry loaded, store initialised, broker
// connected). It returns the time that took.
func (b *bench) startParkd(ctx context.Context, name, regDir string, timeout time.Duration, extra ...string) (*parkdProc, time.Duration, error) {
	port, err := freePort()
	if err != nil {
		return nil, 0, err
	}
	dir := b.sub("parkd-" + name)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	env := []string{
		"PARKD_MQTT_URL=" + b.mqtt,
		"PARKD_MQTT_CLIENT_ID=bench-parkd-" + name,
		"PARKD_REDIS_URL=redis://" + b.rdb.Options().Addr + "/0",
		"PARKD_HTTP_ADDR=" + addr,
		"PARKD_REGISTRY=" + regDir,
		"PARKD_LOG_LEVEL=warn",
		// The bench is one client IP standing for a town of drivers: the
		// per-IP limit of the public API (a defence against one abusive
		// client) would measure itself, not the API.
		"PARKD_PUBLIC_RATE=0",
	}
	env = append(env, extra...)
	start := time.Now()
	// dir holds no configs/parkd.yaml, so parkd runs on its defaults and env.
	c, err := startChild("parkd", filepath.Join(dir, "parkd.log"), dir, env, b.bin)
	if err != nil {
		return nil, 0, err
	}
	p := &parkdProc{child: c, base: "http://" + addr, http: b.http}
	if err := c.waitReady(timeout, p.ready); err != nil {
		return nil, 0, err
	}
	return p, time.Since(start), ctx.Err()
}

// ready succeeds when /readyz answers 200.
func (p *parkdProc) ready() error {
	resp, err := p.http.Get(p.base + "/readyz")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: /readyz %s", errNotReady, resp.Status)
	}
	return nil
}

// processed returns parkd_ingest_messages_total summed over its results.
func (p *parkdProc) processed() (float64, error) {
	return p.metric("parkd_ingest_messages_total{")
}

// metric returns the sum of the /metrics samples whose line starts with
// prefix (a metric name, with "{" to take every label set of a vector).
func (p *parkdProc) metric(prefix string) (float64, error) {
	resp, err := p.http.Get(p.base + "/metrics")
	if err != nil {
		return 0, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			return 0, fmt.Errorf("metrics: %q: %w", line, err)
		}
		sum += v
	}
	return sum, sc.Err()
}

// memory describes parkd's RSS and Go heap in use.
func (p *parkdProc) memory() (rssBytes int64, desc string) {
	n, err := rss(p.pid())
	if err != nil {
		return 0, "RSS unknown: " + err.Error()
	}
	desc = mb(n)
	if heap, err := p.metric("go_memstats_heap_inuse_bytes "); err == nil {
		desc += fmt.Sprintf(" (Go heap in use %s)", mb(int64(heap)))
	}
	return n, desc
}

// rss returns the resident set size of the process in bytes.
func rss(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// mb formats bytes in MB (10^6).
func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
