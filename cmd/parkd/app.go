package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/qiuai/parking/httpapi"
	"github.com/qiuai/parking/ingest"
	"github.com/qiuai/parking/internal/retry"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/feed"
	"github.com/qiuai/parking/occupancy/jobs"
	"github.com/qiuai/parking/occupancy/readmodel"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// app is a running parkd: the parts wired together.
type app struct {
	cfg      Config
	log      *slog.Logger
	reg      *occupancy.Registry
	store    *redisstore.Store
	model    *readmodel.Model // zones, summary and nearby from memory
	hub      *feed.Hub        // the live feed's fan-out to the SSE streams
	tailer   *feed.Tailer     // the one reader of the zones' change streams
	detector *jobs.Detector
	reloader *jobs.Reloader       // registry reloads; decides when this instance's registry may be used
	subs     []*ingest.Subscriber // the main broker's, then the LoRaWAN network server's if it has its own
	server   *httpapi.Server
	// metricsServer serves /metrics on http.metrics_addr; nil when
	// /metrics is on the API's listener.
	metricsServer *httpapi.Server
	metrics       *prometheus.Registry
	ready         chan struct{} // closed once the store is initialised
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
	if a.metricsServer != nil {
		maddr, err := a.metricsServer.Listen()
		if err != nil {
			return fmt.Errorf("http: metrics: listen on %s: %w (set PARKD_METRICS_ADDR to another address)", cfg.HTTP.MetricsAddr, err)
		}
		log.Info("metrics listening", "http", "http://"+maddr.String()+"/metrics")
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
		OfflineAfter: cfg.OfflineAfter, Levels: levelThresholds(cfg.Levels), Logger: log.With("component", "store")})
	if err != nil {
		return nil, err
	}
	a.wireLive()
	a.reloader = jobs.NewReloader(jobs.ReloaderOptions{Store: a.store, Registry: reg, Load: registryLoader(cfg, fromDir),
		Instance: cfg.MQTT.ClientID, MaxRemoveShare: cfg.Reload.MaxRemoveShare, Reloaded: a.model.Rebuild, Logger: log})
	rules := cfg.healthRules()
	a.detector = jobs.NewDetector(jobs.DetectorOptions{Store: a.store, Registry: reg, Rules: rules,
		Interval: cfg.DetectInterval, Logger: log})
	if a.subs, err = a.subscribers(mqttTLS); err != nil {
		return nil, err
	}
	tokens, err := cfg.staffTokens()
	if err != nil {
		return nil, err
	}
	gin.SetMode(gin.ReleaseMode) // process-wide: no route list or debug warnings on stdout
	router := httpapi.NewRouter(httpapi.Options{Store: reads{a.model, a.store}, Zones: a.model,
		Closures: closures{store: a.store, model: a.model, reg: reg}, Sensors: a.store, HealthRules: rules,
		History: a.store, Events: a.store, Hub: a.hub, Checker: a.store, Reloader: a.reloader,
		Registry: reg, Gatherer: a.metrics, Registerer: a.metrics, Logger: log, Checks: a.checks(), Tokens: tokens,
		PublicRate: cfg.HTTP.PublicRate, TrustedProxies: cfg.HTTP.TrustedProxies, LogRequests: cfg.HTTP.LogRequests,
		MetricsToken: cfg.HTTP.MetricsToken, NoMetrics: cfg.HTTP.MetricsAddr != "",
		EventMaxStreams: cfg.HTTP.EventsMaxStreams, EventMaxPerIP: cfg.HTTP.EventsMaxPerIP,
		RegistryLoader: registryLoader(cfg, fromDir), Tiles: cfg.Map.Tiles.source()})
	a.server = httpapi.NewServer(cfg.HTTP.Addr, router, httpapi.ServerOptions{Logger: log})
	if cfg.HTTP.MetricsAddr != "" {
		a.metricsServer = httpapi.NewServer(cfg.HTTP.MetricsAddr, httpapi.MetricsHandler(a.metrics, cfg.HTTP.MetricsToken),
			httpapi.ServerOptions{Logger: log})
	}
	return a, nil
}

// wireLive builds the live feed's reader and the parts it feeds: the read
// model and the SSE hub.
func (a *app) wireLive() {
	a.model = readmodel.New(readmodel.Options{Store: a.store, Registry: a.reg,
		Confirm: a.reg.NumSpaces() > indexStatesMax, Logger: a.log})
	registerReadModelMetrics(a.metrics, a.model)
	a.hub = feed.NewHub(feed.HubOptions{})
	registerHubMetrics(a.metrics, a.hub)
	a.tailer = feed.NewTailer(feed.TailerOptions{Source: a.store, Sinks: []feed.Sink{a.model, a.hub},
		Poll: a.cfg.Redis.PollFeed, Zones: len(a.reg.Zones()), Logger: a.log})
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
		Batch: cfg.MQTT.Batch, BatchWait: cfg.MQTT.BatchWait, MaxReadingAge: cfg.MaxReadingAge,
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

// checks are the readiness checks: the registry is the one in force (the
// reloader has no problem with it), the store is initialised and answers,
// the broker is connected.
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
		{Name: "registry", Func: func(context.Context) error {
			if p := a.reloader.Problem(); p != "" {
				return errors.New(p)
			}
			return nil
		}},
	}
}

// serve runs the HTTP server, the registry reloader, the store's set-up
// (once the reloader finds the registry in force), the feed reader, the
// periodic jobs and the subscribers, each under one errgroup, until ctx is
// done; then it shuts them down and waits for every one: the server
// finishes in-flight requests, the subscribers the messages they hold.
func (a *app) serve(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, srv := range a.servers() {
		g.Go(srv.Serve)
		g.Go(func() error {
			<-gctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), a.cfg.HTTP.ShutdownTimeout)
			defer cancel()
			return srv.Shutdown(sctx)
		})
	}
	g.Go(func() error { return a.reloader.Run(gctx) }) // first of all: it says when the registry may be used
	g.Go(func() error {
		select { // the registry is in force, or being put in force (jobs.Reloader.Run)
		case <-gctx.Done():
			return gctx.Err()
		case <-a.reloader.Usable():
		}
		if err := a.initStore(gctx); err != nil {
			return err
		}
		a.store.WarnEncoding(gctx)       // Redis's listpack limits against the zones
		setMemoryLimit(os.Getenv, a.log) // memlimit.go
		close(a.ready)
		for _, run := range a.runners() {
			g.Go(func() error { return run(gctx) })
		}
		return nil
	})
	err := g.Wait()
	a.log.Info("parkd stopped")
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// servers are the HTTP servers: the API's, and the metrics' own when
// http.metrics_addr is set.
func (a *app) servers() []*httpapi.Server {
	if a.metricsServer == nil {
		return []*httpapi.Server{a.server}
	}
	return []*httpapi.Server{a.server, a.metricsServer}
}

// runners are the long-running parts started once the store is ready:
// each returns when its context is done.
func (a *app) runners() []func(context.Context) error {
	log := a.log
	out := []func(context.Context) error{
		a.hub.Run,    // the SSE streams' subscriptions
		a.tailer.Run, // the one reader of the change streams: read model and hub
		a.detector.Run,
		func(ctx context.Context) error { return jobs.RunSweeper(ctx, a.store, a.cfg.SweepInterval, log) },
		func(ctx context.Context) error { return jobs.RunReopener(ctx, a.store, jobs.ReopenInterval, log) },
		func(ctx context.Context) error { return jobs.RunHistorySampler(ctx, a.store, time.Now, log) },
	}
	for _, s := range a.subs {
		out = append(out, s.Run)
	}
	return out
}

// initStore initialises the store, retrying with backoff while Redis is
// unreachable, so parkd can start before Redis does.
func (a *app) initStore(ctx context.Context) error {
	wait := retry.Backoff(100*time.Millisecond, 5*time.Second)
	for {
		err := a.store.Init(ctx)
		if err == nil {
			return nil
		}
		delay := wait.NextBackOff()
		a.log.Warn("store not ready, retrying", "err", err, "in", delay)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
	}
}
