package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/alicebob/miniredis/v2"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"golang.org/x/sync/errgroup"

	"github.com/qiuai/parking/configs"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
	"github.com/qiuai/parking/simulator"
)

// demoOptions are the demo's own settings.
type demoOptions struct {
	accel           float64
	redisFromEnv    bool // PARKD_REDIS_URL is set: use that Redis, not an embedded one
	registryFromEnv bool // PARKD_REGISTRY is set: it must exist
}

// runDemo runs parkd with an embedded MQTT broker, an embedded Redis (unless
// one is configured) and the simulator, all on free local ports, so it works
// with nothing installed and beside a running Mosquitto or Redis.
func runDemo(ctx context.Context, cfg Config, opts demoOptions, log *slog.Logger) error {
	reg, regName, err := demoRegistry(cfg.Registry, opts.registryFromEnv)
	if err != nil {
		return err
	}
	broker, brokerURL, err := startBroker(log)
	if err != nil {
		return err
	}
	defer broker.Close()
	cfg.MQTT.URL = brokerURL
	redisName := "Redis at " + redisstore.RedactURL(cfg.Redis.URL) + " (PARKD_REDIS_URL)"
	if !opts.redisFromEnv {
		mr := miniredis.NewMiniRedis()
		if err := mr.StartAddr("127.0.0.1:0"); err != nil {
			return fmt.Errorf("demo: start embedded redis: %w", err)
		}
		defer mr.Close()
		cfg.Redis.URL = "redis://" + mr.Addr() + "/0"
		cfg.Redis.PollFeed = true // miniredis stalls every script while an XREAD blocks
		redisName = "embedded Redis (miniredis) at " + mr.Addr() + ", in memory"
	}
	staff := "tokens from PARKD_TOKENS / PARKD_TOKENS_FILE"
	if cfg.HTTP.Tokens == "" {
		tok, err := demoAdminToken()
		if err != nil {
			return err
		}
		cfg.HTTP.Tokens = "admin:" + tok
		staff = "admin token " + tok + " (new each run; Authorization: Bearer …)"
	}
	listening := make(chan struct{})
	started := func(addr net.Addr) {
		base := "http://" + addr.String()
		fmt.Fprintf(os.Stderr, `
parkd demo is running:
  MQTT broker   embedded (mochi-mqtt) at %s
  Redis         %s
  registry      %s: %d spaces in %d zones
  simulator     one sensor per space, demand at %gx real time
  drivers       %s/            (the map and the nearest free spaces)
  staff page    %s/staff       (sign in with the staff token below)
  API           %s/api/v1/summary   %s/api/v1/zones
                %s/api/v1/nearby?lat=29.8521&lon=121.6402&radius_m=300
  metrics       %s/metrics
  OpenAPI       %s/api/openapi.json
  staff         %s
Stop with Ctrl-C.

`, brokerURL, redisName, regName, reg.NumSpaces(), len(reg.Zones()), opts.accel, base, base, base, base, base,
			base, base, staff)
		close(listening)
	}
	// parkd and the simulator under one errgroup: a stop waits for both.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return run(gctx, cfg, reg, log, started) })
	g.Go(func() error {
		select {
		case <-gctx.Done():
			return nil
		case <-listening:
		}
		runSimulator(gctx, brokerURL, reg, opts.accel, log)
		return nil
	})
	return g.Wait()
}

// demoAdminToken returns a random admin token for the demo's staff API.
func demoAdminToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("demo: admin token: %w", err)
	}
	return "demo-" + hex.EncodeToString(b), nil
}

// demoRegistry loads the registry from dir when it exists, else the Qiuai
// registry built into the binary, so the demo runs from any directory.
func demoRegistry(dir string, required bool) (*occupancy.Registry, string, error) {
	if _, err := os.Stat(dir); err == nil || required {
		reg, err := occupancy.LoadRegistry(dir)
		if err != nil {
			return nil, "", fmt.Errorf("registry %s: %s", dir, occupancy.ErrorMessage(err))
		}
		return reg, dir, nil
	}
	sub, err := fs.Sub(configs.FS, "qiuai")
	if err != nil {
		return nil, "", err
	}
	reg, err := occupancy.LoadRegistryFS(sub, ".")
	if err != nil {
		return nil, "", fmt.Errorf("built-in registry: %w", err)
	}
	return reg, "Qiuai (built in)", nil
}

// startBroker starts an embedded MQTT broker on a free local port.
func startBroker(log *slog.Logger) (*mqtt.Server, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", fmt.Errorf("demo: broker listen: %w", err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if log.Enabled(context.Background(), slog.LevelDebug) {
		quiet = log.With("component", "broker")
	}
	b := mqtt.New(&mqtt.Options{InlineClient: false, Logger: quiet})
	if err := b.AddHook(new(auth.AllowHook), nil); err != nil {
		return nil, "", err
	}
	if err := b.AddListener(listeners.NewNet("demo", ln)); err != nil {
		return nil, "", fmt.Errorf("demo: broker listener: %w", err)
	}
	if err := b.Serve(); err != nil {
		return nil, "", fmt.Errorf("demo: broker: %w", err)
	}
	return b, "tcp://" + ln.Addr().String(), nil
}

// runSimulator drives the demo's sensors until ctx is done, printing a
// progress line every 10 seconds.
func runSimulator(ctx context.Context, brokerURL string, reg *occupancy.Registry, accel float64, log *slog.Logger) {
	sim, err := simulator.New(simulator.Options{BrokerURL: brokerURL, Registry: reg, Accel: accel,
		Heartbeat: 5 * time.Minute, MaxRate: 1000, Seed: time.Now().UnixNano(),
		Logger: log, Progress: prefixWriter{os.Stderr, "simulator: "},
		ProgressInterval: 10 * time.Second})
	if err == nil {
		err = sim.Run(ctx)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Error("simulator stopped", "err", err)
	}
}

// prefixWriter writes each line with a prefix.
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	if _, err := io.WriteString(p.w, p.prefix); err != nil {
		return 0, err
	}
	return p.w.Write(b)
}
