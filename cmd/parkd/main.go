// Command parkd is the Qiuai parking occupancy service: it subscribes to the
// sensors' MQTT messages, keeps live availability in Redis and serves it over
// HTTP. With -demo it runs everything in one process with nothing installed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `parkd: the Qiuai parking occupancy service.

Usage:
  parkd [-config FILE]   run the service (MQTT ingest, Redis state, HTTP API)
  parkd check [-repair]  check (and repair) the counters and indexes in Redis
                         against the spaces' states; parkd check -h for more
  parkd -demo            run everything in one process: embedded MQTT broker,
                         embedded Redis (unless PARKD_REDIS_URL is set), the
                         Qiuai registry and the sensor simulator

Environment variables override the config file: PARKD_MQTT_URL,
PARKD_MQTT_CLIENT_ID, PARKD_MQTT_USERNAME, PARKD_MQTT_PASSWORD(_FILE),
PARKD_MQTT_SHARED_GROUP, PARKD_MQTT_BATCH_WAIT, PARKD_MQTT_TLS_{CA,CERT,KEY}_FILE,
PARKD_MQTT_TLS_SERVER_NAME, PARKD_REDIS_URL(_FILE), PARKD_REDIS_PASSWORD(_FILE),
PARKD_REDIS_TLS_{CA,CERT,KEY}_FILE, PARKD_REDIS_TLS_SERVER_NAME, PARKD_HTTP_ADDR, PARKD_REGISTRY,
PARKD_OFFLINE_AFTER, PARKD_LOG_LEVEL, PARKD_LOG_FORMAT, PARKD_TOKENS(_FILE),
PARKD_METRICS_ADDR, PARKD_METRICS_TOKEN(_FILE), PARKD_EVENTS_MAX_STREAMS,
PARKD_EVENTS_MAX_PER_IP, PARKD_MAP_TILES_{URL,SUBDOMAINS,ATTRIBUTION,CRS,
MIN_ZOOM,MAX_ZOOM}. See configs/parkd.yaml and docs/operations.md.

Memory: unless GOMEMLIMIT is set (a Go runtime soft limit such as 250MiB, or
off), parkd sets a soft limit of its heap once started plus 160 MiB, and
under it GOGC=400 unless GOGC is set.

Options:
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := realMain(ctx, os.Args[1:], os.Getenv, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "parkd:", err)
		os.Exit(1)
	}
}

// realMain parses the command line and runs parkd until ctx is done.
func realMain(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "check" {
		return runCheck(ctx, args[1:], getenv, os.Stdout, stderr)
	}
	fs := flag.NewFlagSet("parkd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	config := configFlag(fs, getenv)
	demo := fs.Bool("demo", false, "run the self-contained demo (embedded broker, Redis and simulator)")
	accel := fs.Float64("demo-accel", 60, "demo: simulated seconds per real second for the demand model")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config()
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.Log.Level, cfg.Log.Format)
	if *demo {
		return runDemo(ctx, cfg, demoOptions{accel: *accel, redisFromEnv: getenv("PARKD_REDIS_URL") != "",
			registryFromEnv: getenv("PARKD_REGISTRY") != ""}, log)
	}
	return run(ctx, cfg, nil, log)
}

// configFlag adds -config to fs and returns the loader to call once fs is
// parsed: a config file named on the command line must exist, the default
// one may be missing.
func configFlag(fs *flag.FlagSet, getenv func(string) string) func() (Config, error) {
	path := fs.String("config", "configs/parkd.yaml", "YAML config `file`; optional unless given explicitly")
	return func() (Config, error) {
		explicit := false
		fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "config" })
		return loadConfig(*path, explicit, getenv)
	}
}

func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
