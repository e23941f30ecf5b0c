// Package httpapi serves the parking service over HTTP with Gin: the public
// availability API of the contract, the staff's view of rejected messages,
// health and readiness probes, Prometheus metrics, and the web pages for
// drivers and staff (pages.go, files in package web).
//
// Every error leaves in one JSON shape, rendered by writeError:
//
//	{"error": {"code": "not_found", "message": "space QA-1 not found"}}
//
// Handlers are methods on a handler struct, one file per resource; they
// report failures with c.Error and return, and the errors middleware turns
// the last error into the answer. Middleware that later issues add (staff
// auth, rate limits) do the same.
package httpapi

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/semaphore"

	"github.com/qiuai/parking/occupancy"
)

// Options configure the router built by NewRouter.
type Options struct {
	// Store reads single spaces, listings and rejected messages. Required.
	Store Store
	// Zones answers zone counts and nearby queries. Required.
	Zones ZoneReader
	// Closures closes and opens spaces and zones. Default nil: the closure
	// endpoints answer 404.
	Closures Closer
	// Sensors reads sensor health and incidents. Default nil: /sensors and
	// /incidents answer 404.
	Sensors SensorStore
	// HealthRules judge the sensors /sensors lists. Default: the rules'
	// defaults.
	HealthRules occupancy.HealthRules
	// History reads the occupancy history (and the forecasts made from
	// it). Default nil: the history and forecast endpoints answer 404.
	History occupancy.HistoryReader
	// Events reads the live feed. Default nil: /events answers 404.
	Events EventSource
	// Hub shares the process's reader of the live feed among the streams.
	// Default nil: each stream polls Events itself.
	Hub EventSubscriber
	// EventWriteTimeout is how long one write of an event stream may take
	// before the stream is ended (its client stopped reading). Default 30s.
	EventWriteTimeout time.Duration
	// EventMaxStreams caps the event streams open at once; past it a new
	// one gets 503 unavailable with Retry-After. EventMaxPerIP caps those
	// of one client IP (as ClientIP gives it, behind TrustedProxies); past
	// it, 429 rate_limited with Retry-After. Default 0: no limit (parkd's
	// configuration sets 2000 and 20).
	EventMaxStreams, EventMaxPerIP int
	// EventReplayWindow and EventReplayMax bound what a stream resuming
	// from a Last-Event-ID replays: an id older than EventReplayWindow
	// (before the feed's newest event), one the feed no longer holds the
	// events after, or a replay of more than EventReplayMax events gets a
	// reset event (reload your view) and the stream goes on from now.
	// Defaults 2m and 2000.
	EventReplayWindow time.Duration
	EventReplayMax    int
	// StoreTimeout bounds how long a public read waits for Redis: past it
	// the answer comes from memory, marked stale, or is 503 unavailable
	// (stale.go). Default 500ms.
	StoreTimeout time.Duration
	// Checker runs the consistency check. Default nil: the check endpoint
	// answers 404.
	Checker Checker
	// Reloader puts a registry read by RegistryLoader in force, as a job.
	// Default nil: the reload endpoints answer 404.
	Reloader RegistryReloader
	// Registry lists the zones and spaces: the static fields of every answer.
	// Required.
	Registry *occupancy.Registry
	// Gatherer is what /metrics exposes. Default prometheus.DefaultGatherer.
	Gatherer prometheus.Gatherer
	// MetricsToken, when set, is the bearer token GET /metrics requires: a
	// scraper's own, apart from the staff tokens (see MetricsHandler).
	// Default "": /metrics is open.
	MetricsToken string
	// NoMetrics leaves /metrics out of the router, for a caller that serves
	// MetricsHandler on a listener of its own. Default false.
	NoMetrics bool
	// LogRequests logs every request at INFO; otherwise at DEBUG. Answers
	// of 500 and above are logged at WARN, and 429s (rate limited) at DEBUG
	// (parkd_http_requests_total counts them), either way. Default false.
	LogRequests bool
	// Registerer receives the HTTP metrics. Default
	// prometheus.DefaultRegisterer. Collectors already registered there (a
	// second router on the same registry) are reused.
	Registerer prometheus.Registerer
	// Checks decide /readyz: it is 200 only when every check passes. Default
	// none (always ready).
	Checks []Check
	// CheckTimeout bounds each readiness check. Default 1s.
	CheckTimeout time.Duration
	// MaxBodyBytes caps a request body; reading more fails. Default 1 MiB.
	MaxBodyBytes int64
	// TrustedProxies are the networks (CIDRs or IPs) whose X-Forwarded-For
	// and X-Real-IP headers are believed for the client IP. Default none:
	// the client IP is the connection's remote address.
	TrustedProxies []string
	// Tokens are the staff bearer tokens. Default none: every staff
	// endpoint answers 401.
	Tokens []Token
	// PublicRate is how many requests a second each client IP may make to
	// the public API (/api/v1, /api/openapi.json, /ngsi-ld/v1), with bursts
	// of twice that. Callers with a valid staff token, probes and /metrics
	// are not limited. Default 0: no limit (parkd's configuration sets 20).
	PublicRate float64
	// Tiles is the raster map the web pages draw the spaces over (tiles.go).
	// Default none: the pages draw a schematic and load nothing from
	// outside parkd.
	Tiles TileSource
	// RegistryLoader re-reads the registry for POST
	// /api/v1/admin/registry/reload. Default nil: that endpoint answers 404.
	RegistryLoader func() (*occupancy.Registry, error)
	// Logger receives request logs and internal errors. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Check is one readiness check, e.g. "redis" pinging the store. Func returns
// nil when the dependency is ready; its context carries the check timeout.
type Check struct {
	Name string
	Func func(ctx context.Context) error
}

func (o *Options) ensureDefaults() {
	if o.Gatherer == nil {
		o.Gatherer = prometheus.DefaultGatherer
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.DefaultRegisterer
	}
	if o.CheckTimeout <= 0 {
		o.CheckTimeout = time.Second
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.EventWriteTimeout <= 0 {
		o.EventWriteTimeout = 30 * time.Second
	}
	if o.EventReplayWindow <= 0 {
		o.EventReplayWindow = 2 * time.Minute
	}
	if o.EventReplayMax <= 0 {
		o.EventReplayMax = 2000
	}
	if o.StoreTimeout <= 0 {
		o.StoreTimeout = 500 * time.Millisecond
	}
	o.HealthRules = o.HealthRules.WithDefaults()
	o.Tiles = o.Tiles.WithDefaults()
}

// NewRouter returns the service's HTTP handler. It panics if Store, Zones
// or Registry is nil, a trusted proxy does not parse or Tiles is not valid:
// all are wiring bugs. Gin's mode (gin.SetMode) is process-wide and left to the caller.
func NewRouter(opts Options) *gin.Engine {
	if opts.Store == nil || opts.Zones == nil || opts.Registry == nil {
		panic("httpapi: Options.Store, Options.Zones and Options.Registry are required")
	}
	opts.ensureDefaults()
	if err := opts.Tiles.Validate(); err != nil {
		panic("httpapi: " + err.Error())
	}
	log := opts.Logger.With("component", "http")

	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	if err := r.SetTrustedProxies(opts.TrustedProxies); err != nil {
		panic("httpapi: trusted proxies: " + err.Error())
	}
	metrics := newHTTPMetrics(opts.Registerer)
	r.Use(
		metricsMiddleware(metrics),
		logMiddleware(log, opts.LogRequests),
		recoveryMiddleware(log),
		errorsMiddleware(log),
		bodyLimitMiddleware(opts.MaxBodyBytes),
	)
	auth := newAuthenticator(opts.Tokens)
	// Unknown admin paths and methods answer 401/403 before 404/405, so
	// only admins learn what the admin API holds.
	r.NoRoute(auth.authenticate, guardAdminPaths, noRoute)
	r.NoMethod(auth.authenticate, guardAdminPaths, noMethod)

	h := &handler{store: opts.Store, zones: opts.Zones, closures: opts.Closures, sensors: opts.Sensors,
		rules: opts.HealthRules, historyR: opts.History, feed: opts.Events, hub: opts.Hub,
		eventWriteTimeout: opts.EventWriteTimeout, checker: opts.Checker, reloader: opts.Reloader,
		reg: opts.Registry, now: opts.Now, log: log, loadRegistry: opts.RegistryLoader, tiles: newTilesJSON(opts.Tiles),
		streams:   newStreamLimits(opts.EventMaxStreams, opts.EventMaxPerIP, metrics),
		replay:    replayBounds{window: opts.EventReplayWindow, max: opts.EventReplayMax, resets: metrics.eventResets},
		storeWait: opts.StoreTimeout, joins: sync.Pool{New: func() any { return new([]byte) }},
		writeTurns: semaphore.NewWeighted(int64(max(2, runtime.GOMAXPROCS(0))))}
	probes := r.Group("/", noStore)
	probes.GET("/healthz", healthz)
	probes.GET("/readyz", auth.authenticate, readyz(opts.Checks, opts.CheckTimeout))
	if !opts.NoMetrics {
		r.GET("/metrics", gin.WrapH(MetricsHandler(opts.Gatherer, opts.MetricsToken)))
	}

	public := []gin.HandlerFunc{auth.authenticate}
	if opts.PublicRate > 0 {
		public = append(public, newIPLimiter(opts.PublicRate, opts.Now).rateLimit)
	}
	r.GET("/api/openapi.json", append(public, serveOpenAPI)...)
	h.routes(r.Group("/api/v1", append(public, noStore, checkQuery)...))
	h.ngsiRoutes(r.Group("/ngsi-ld/v1", append(public, noStore, checkQuery, publicRead(opts.StoreTimeout))...))
	pageRoutes(r, embeddedPages(), pagesCSP(opts.Tiles)) // the driver and staff pages: pages.go
	return r
}

// routes registers the API's resources, one file each.
func (h *handler) routes(api *gin.RouterGroup) {
	read := api.Group("", publicRead(h.storeWait)) // public reads: a bounded wait for Redis, stale.go
	read.GET("/summary", h.summary)
	read.GET("/zones", h.listZones)
	read.GET("/zones/:id", h.getZone)
	read.GET("/spaces", h.listSpaces)
	read.GET("/spaces/:id", h.getSpace)
	read.GET("/nearby", h.nearby)
	read.GET("/map", h.mapData)  // every zone and space, compact, for the pages: mapdata.go
	h.historyRoutes(read)        // zone and town history and forecast: history.go
	api.GET("/events", h.events) // Server-Sent Events, bounded: events.go, streams.go

	// Staff: a bearer token of role viewer or above. Staff reads (sensor
	// health, incidents) go on viewer; staff actions (closures, incident
	// ack/resolve) on an api.Group("", requireRole(RoleOperator)).
	viewer := api.Group("", requireRole(RoleViewer))
	viewer.GET("/ingest/rejected", h.listRejected)
	// Sensor health and incidents: sensors.go, incidents.go.
	h.incidentRoutes(viewer, api.Group("", requireRole(RoleOperator)))
	h.closureRoutes(api.Group("", requireRole(RoleOperator))) // closures.go

	// Admin: every route under /api/v1/admin needs role admin. Register
	// admin routes on this group only.
	h.adminRoutes(api.Group("/admin", requireRole(RoleAdmin))) // adminPrefix
}

// adminPrefix starts every admin path.
const adminPrefix = "/api/v1/admin"

// guardAdminPaths requires role admin for any path under adminPrefix.
func guardAdminPaths(c *gin.Context) {
	if p := c.Request.URL.Path; p == adminPrefix || strings.HasPrefix(p, adminPrefix+"/") {
		requireRole(RoleAdmin)(c)
		return
	}
	c.Next()
}

// adminRoutes registers the /api/v1/admin/* routes; the group already
// requires role admin.
func (h *handler) adminRoutes(admin *gin.RouterGroup) {
	admin.POST("/check", h.check)                    // consistency check and repair: admin.go
	admin.POST("/registry/reload", h.reloadRegistry) // admin_registry.go
	admin.GET("/registry/reload/jobs/:id", h.reloadJob)
}
