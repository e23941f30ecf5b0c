package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/qiuai/parking/httpapi"
	"github.com/qiuai/parking/ingest"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// app is a running parkd: the parts wired together.
type app struct {
	cfg     Config
	log     *slog.Logger
	reg     *occupancy.Registry
	store   *redisstore.Store
	free    *redisstore.FreeIndex // nearby's in-memory index of free spaces
	events  *redisstore.EventHub  // the one reader of the live feed the SSE streams share
	subs    []*ingest.Subscriber  // the main broker's, then the LoRaWAN network server's if it has its own
	server  *httpapi.Server
	metrics *prometheus.Registry
	ready   chan struct{} // closed once the store is initialised
}

// run starts parkd and blocks until ctx is done and everything has stopped.
// reg may be nil: then it is loaded from cfg.Registry. started, if non-nil,
// is called with the HTTP address once the API listens.
func run(ctx context.Context, cfg Config, reg *occupancy.Registry, log *slog.Logger, started ...func(net.Addr)) error {
	a, err := newApp(cfg, reg, log)
	if err != nil {
		return err
	}
	addr, err := a.server.Listen()
	if err != nil {
		return fmt.Errorf("http: listen on %s: %w (set PARKD_HTTP_ADDR to another address)", cfg.HTTP.Addr, err)
	}
	log.Info("parkd listening", "http", "http://"+addr.String(), "mqtt", redisstore.RedactURL(cfg.MQTT.URL),
		"redis", redisstore.RedactURL(cfg.Redis.URL),
		"client_id", cfg.MQTT.ClientID, "spaces", a.reg.NumSpaces(), "zones", len(a.reg.Zones()))
	for _, f := range started {
		f(addr)
	}
	return a.serve(ctx)
}

func newApp(cfg Config, reg *occupancy.Registry, log *slog.Logger) (*app, error) {
	var err error
	fromDir := reg == nil
	if reg == nil {
		if reg, err = occupancy.LoadRegistry(cfg.Registry); err != nil {
			return nil, fmt.Errorf("registry %s: %w", cfg.Registry, errors.New(occupancy.ErrorMessage(err)))
		}
	}
	a := &app{cfg: cfg, log: log, reg: reg, metrics: prometheus.NewRegistry(), ready: make(chan struct{})}
	a.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	rdb, err := newRedisClient(cfg)
	if err != nil {
		return nil, err
	}
	mqttTLS, err := cfg.MQTT.TLS.build("mqtt")
	if err != nil {
		return nil, err
	}
	a.store, err = redisstore.New(redisstore.Options{Client: rdb, Registry: reg, Prefix: cfg.Redis.Prefix,
		OfflineAfter: cfg.OfflineAfter, Levels: levelThresholds(cfg.Levels), Logger: log.With("component", "store"),
		Health: occupancy.HealthRules{LowBatteryMV: cfg.Health.LowBatteryMV, FlapChanges: cfg.Health.FlapChanges}})
	if err != nil {
		return nil, err
	}
	// Nearby's index holds free spaces' states and answers from memory (about
	// 100 B per space); for a city-sized registry it holds only positions and
	// statuses (about 40 B) and reads the states with one round trip.
	a.free = redisstore.NewFreeIndex(a.store, redisstore.FreeIndexOptions{Confirm: reg.NumSpaces() > indexStatesMax})
	registerFreeIndexMetrics(a.metrics, a.free)
	a.events = redisstore.NewEventHub(a.store, redisstore.EventHubOptions{})
	registerEventHubMetrics(a.metrics, a.events)
	if a.subs, err = a.subscribers(mqttTLS); err != nil {
		return nil, err
	}
	router := httpapi.NewRouter(httpapi.Options{Store: redisstore.HubStore{IndexedStore: redisstore.IndexedStore{Store: a.store, Free: a.free}, Hub: a.events},
		Registry: reg, Gatherer: a.metrics, Registerer: a.metrics, Logger: log, Checks: a.checks(), Tokens: cfg.staffTokens(),
		PublicRate: cfg.HTTP.PublicRate, TrustedProxies: cfg.HTTP.TrustedProxies,
		RegistryLoader: registryLoader(cfg, fromDir)})
	a.server = httpapi.NewServer(cfg.HTTP.Addr, router, httpapi.ServerOptions{})
	return a, nil
}

// subscribers builds the MQTT subscribers: one on the main broker for the
// native topic and, unless the LoRaWAN network server has a broker of its
// own, its topics too; and then one on that broker. They share the store,
// the worker settings and the metrics.
func (a *app) subscribers(mqttTLS *tls.Config) ([]*ingest.Subscriber, error) {
	cfg := a.cfg
	native := ingest.Options{BrokerURL: cfg.MQTT.URL, ClientID: cfg.MQTT.ClientID,
		Username: cfg.MQTT.Username, Password: cfg.MQTT.Password, TLSConfig: mqttTLS, Topic: cfg.MQTT.Topic,
		SharedGroup: cfg.MQTT.SharedGroup, Workers: cfg.MQTT.Workers, QueueSize: cfg.MQTT.Queue,
		Batch: cfg.MQTT.Batch, BatchWait: cfg.MQTT.BatchWait,
		Routes: ingest.LoRaWANRoutes(a.reg, cfg.LoRaWAN.TTSTopic, cfg.LoRaWAN.ChirpStackTopic),
		Store:  a.store, Registerer: a.metrics, Logger: a.log}
	lw := cfg.LoRaWAN.MQTT
	if lw.URL == "" {
		s, err := ingest.New(native)
		return []*ingest.Subscriber{s}, err
	}
	lorawan := native
	native.Routes = nil
	lwTLS, err := lw.TLS.build("lorawan.mqtt")
	if err != nil {
		return nil, err
	}
	lorawan.BrokerURL, lorawan.Username, lorawan.Password, lorawan.TLSConfig = lw.URL, lw.Username, lw.Password, lwTLS
	lorawan.ClientID, lorawan.SkipNative = cmp.Or(lw.ClientID, cfg.MQTT.ClientID+"-lorawan"), true
	var subs []*ingest.Subscriber
	for _, o := range []ingest.Options{native, lorawan} {
		s, err := ingest.New(o)
		if err != nil {
			return nil, err
		}
		subs = append(subs, s)
	}
	return subs, nil
}

// checks are the readiness checks: the registry is loaded (it is, once the
// app exists), the store is initialised and answers, the broker is connected.
func (a *app) checks() []httpapi.Check {
	return []httpapi.Check{
		{Name: "redis", Func: func(ctx context.Context) error {
			select {
			case <-a.ready:
			default:
				return errors.New("store not initialised yet")
			}
			return a.store.Ping(ctx)
		}},
		{Name: "mqtt", Func: func(context.Context) error {
			for _, s := range a.subs {
				if err := s.Ready(); err != nil {
					return err
				}
			}
			return nil
		}},
		{Name: "registry", Func: func(context.Context) error { return nil }},
	}
}

// serve runs the HTTP server, the store's set-up, the sweeper and the
// subscriber until ctx is done, then shuts them down: the server finishes
// in-flight requests, the subscriber the messages it holds.
func (a *app) serve(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(a.server.Serve)
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), a.cfg.HTTP.ShutdownTimeout)
		defer cancel()
		return a.server.Shutdown(sctx)
	})
	g.Go(func() error {
		if err := a.initStore(gctx); err != nil {
			return err
		}
		a.store.WarnEncoding(gctx)       // Redis's listpack limits against the zones
		setMemoryLimit(os.Getenv, a.log) // memlimit.go
		close(a.ready)
		go a.store.RunSweeper(gctx, a.cfg.SweepInterval)
		go a.store.RunHistorySampler(gctx) // 5-minute occupancy history: redisstore/history.go
		go a.store.RunReopener(gctx, redisstore.ReopenInterval)
		go a.store.RunDetector(gctx, detectInterval, nil) // incidents: redisstore/detector.go
		go a.free.Run(gctx)                               // nearby's index: redisstore/freeindex.go
		go a.events.Run(gctx)                             // SSE streams' shared reader: redisstore/hub.go
		for _, s := range a.subs[1:] {
			g.Go(func() error { return s.Run(gctx) })
		}
		return a.subs[0].Run(gctx)
	})
	err := g.Wait()
	a.log.Info("parkd stopped")
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// initStore initialises the store, retrying with backoff while Redis is
// unreachable, so parkd can start before Redis does.
func (a *app) initStore(ctx context.Context) error {
	delay := 100 * time.Millisecond
	for {
		err := a.store.Init(ctx)
		if err == nil {
			return nil
		}
		a.log.Warn("store not ready, retrying", "err", err, "in", delay)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay + rand.N(delay/2)):
		}
		delay = min(2*delay, 5*time.Second)
	}
}
