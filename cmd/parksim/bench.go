package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/simulator"
	"github.com/qiuai/parking/simulator/town"
)

// benchParts are the parts of `parksim bench`, in the order they run.
var benchParts = []string{"a", "b", "c", "d", "e", "g"}

// benchFlags are the flags of `parksim bench`.
type benchFlags struct {
	only        string        // comma-separated parts
	messages    uint64        // (a) and (b): messages published flat out
	rounds      int           // (a) and (b): rounds, alternating
	latRates    string        // (c): comma-separated msg/s
	latDuration time.Duration // (c): per rate
	sampleRate  float64       // (c): sampled messages per second
	apiRate     int           // (d): requests per second per endpoint
	apiDuration time.Duration // (d): per endpoint
	apiWarmup   time.Duration // (d): per endpoint, before apiDuration, not measured
	ingestRate  float64       // (d): background ingest msg/s
	sizes       string        // (e): comma-separated registry sizes
	parkdBin    string        // prebuilt parkd, or "" to build ./cmd/parkd
	keep        bool          // keep the temporary folder
	settle      bool          // wait for Redis's background work and sync before each measured part
	connections int           // publisher MQTT connections
	redisConfig string        // extra redis-server settings, "name value, name value"
	// (g): live streams at their limit.
	streams            int           // streams opened
	streamAddrs        int           // loopback addresses they come from
	streamsPerIP       int           // parkd's PARKD_EVENTS_MAX_PER_IP for (g)
	streamsIngest      float64       // background ingest msg/s
	streamsAPIRate     int           // requests per second to /healthz and /api/v1/summary
	streamsAPIDuration time.Duration // per endpoint
}

// benchFlagSet defines the flags of `parksim bench` into f.
func (c *cli) benchFlagSet(f *benchFlags) *flag.FlagSet {
	fs := c.newFlagSet("bench", "parksim bench [flags]   (run it in the repository root)")
	fs.StringVar(&f.only, "only", strings.Join(benchParts, ","), "parts to run: a broker rate, b parkd rate, c publish→visible latency, d API under load, e memory and RSS per registry size (f is measured with e), g live streams at their limit")
	fs.Uint64Var(&f.messages, "messages", 100000, "(a, b) messages published as fast as the broker acknowledges")
	fs.IntVar(&f.rounds, "rounds", 3, "(a, b) rounds: (a) and (b) alternate this many times; the table gives the medians")
	fs.StringVar(&f.latRates, "lat-rates", "1000,5000", "(c) fixed publish rates in msg/s")
	fs.DurationVar(&f.latDuration, "lat-duration", 10*time.Second, "(c) how long each rate runs")
	fs.Float64Var(&f.sampleRate, "samples", 200, "(c) sampled messages per second whose visibility is polled")
	fs.IntVar(&f.apiRate, "api-rate", 2000, "(d) requests per second to each endpoint")
	fs.DurationVar(&f.apiDuration, "api-duration", 10*time.Second, "(d) how long each endpoint is attacked and measured")
	fs.DurationVar(&f.apiWarmup, "api-warmup", 2*time.Second, "(d) how long each endpoint is attacked at the same rate first, not measured (the load generator opens its connections)")
	fs.Float64Var(&f.ingestRate, "ingest-rate", 5000, "(d) background ingest in msg/s")
	fs.StringVar(&f.sizes, "sizes", "3000,100000,1000000", "(e, f) registry sizes in spaces")
	fs.StringVar(&f.parkdBin, "parkd", "", "parkd `binary` to run (default: go build ./cmd/parkd)")
	fs.BoolVar(&f.keep, "keep", false, "keep the temporary folder (server logs)")
	fs.BoolVar(&f.settle, "settle", true, "before (c), each of its rates, (d) and (e): wait for Redis to end an AOF rewrite or snapshot in progress, then sync(2) the disks, so one part's writes are not the next part's stalls")
	fs.IntVar(&f.connections, "connections", 4, "MQTT connections of the publisher")
	fs.IntVar(&f.streams, "streams", 5000, "(g) event streams opened")
	fs.IntVar(&f.streamAddrs, "stream-addrs", 10, "(g) loopback addresses the streams come from, 127.0.0.2 on (at most 250)")
	fs.IntVar(&f.streamsPerIP, "streams-per-ip", 20, "(g) parkd's PARKD_EVENTS_MAX_PER_IP, its default (PARKD_EVENTS_MAX_STREAMS stays 2000; 300 fills it from 10 addresses)")
	fs.Float64Var(&f.streamsIngest, "streams-ingest-rate", 2000, "(g) background ingest in msg/s")
	fs.IntVar(&f.streamsAPIRate, "streams-api-rate", 200, "(g) requests per second to /healthz and to /api/v1/summary")
	fs.DurationVar(&f.streamsAPIDuration, "streams-api-duration", 10*time.Second, "(g) how long each of them is measured, the streams open")
	fs.StringVar(&f.redisConfig, "redis-config", "", "extra redis-server `settings`, comma-separated, e.g. \"hash-max-listpack-entries 1024, zset-max-listpack-entries 1024\"")
	return fs
}

// bench is one `parksim bench` run: its servers and its results.
type bench struct {
	f      benchFlags
	only   map[string]bool
	out    io.Writer // the table
	prog   io.Writer // progress lines
	dir    string
	bin    string // parkd binary
	redis  *child
	mosq   *child
	rdb    *redis.Client
	mqtt   string // broker URL
	reg    *occupancy.Registry
	regDir string // the Qiuai registry, written for parkd
	parkd  *parkdProc
	http   *http.Client
	rows   []benchRow
	header []string // the machine and versions, printed above the table
	// state continues the sensors of the loads parkd sees (b, c, d), so
	// every message flips its space: (c) needs that to see it applied.
	state simulator.LoadState
}

// benchRow is one line of the result table.
type benchRow struct {
	part, what, figure, target, verdict string
}

// bench is `parksim bench`.
func (c *cli) bench(args []string) error {
	var f benchFlags
	if err := parse(c.benchFlagSet(&f), args); err != nil {
		return err
	}
	b := &bench{f: f, only: map[string]bool{}, out: c.stdout, prog: c.stderr,
		http: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	for _, p := range strings.Split(f.only, ",") {
		p = strings.TrimSpace(p)
		if p == "f" {
			p = "e"
		}
		if !strings.Contains("abcdeg", p) || p == "" {
			fmt.Fprintf(c.stderr, "parksim bench: unknown part %q in -only (a, b, c, d, e, f, g)\n", p)
			return usageError{fmt.Errorf("bench: unknown part %q in -only", p)}
		}
		b.only[p] = true
	}
	if f.streamAddrs < 1 || f.streamAddrs > 250 || f.streams < 1 {
		return usageError{fmt.Errorf("bench: -stream-addrs %d must be 1-250 and -streams %d at least 1", f.streamAddrs, f.streams)}
	}
	if f.rounds < 1 || f.messages < 1 {
		return usageError{fmt.Errorf("bench: -rounds %d and -messages %d must be at least 1", f.rounds, f.messages)}
	}
	for _, l := range []string{f.latRates, f.sizes} {
		if _, err := parseList(l); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer b.close()
	if err := b.setUp(ctx); err != nil {
		return err
	}
	err := b.runParts(ctx)
	b.printTable()
	return err
}

// setUp creates the temporary folder, starts Redis and Mosquitto, builds
// parkd and writes the Qiuai registry.
func (b *bench) setUp(ctx context.Context) error {
	var err error
	if b.dir, err = os.MkdirTemp("", "parksim-bench-"); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	b.progress("bench: working in %s", b.dir)
	var addr string
	if b.redis, addr, err = startRedis(b.sub("redis"), redisArgs(b.f.redisConfig)...); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	b.rdb = redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, DisableIdentity: true})
	if b.mosq, addr, err = startMosquitto(b.sub("mosquitto")); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	b.mqtt = "tcp://" + addr
	if b.bin = b.f.parkdBin; b.bin == "" && (len(b.only) > 1 || !b.only["a"]) { // (a) alone needs no parkd
		b.progress("bench: building parkd")
		if b.bin, err = buildParkd(ctx, b.dir); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	if b.bin != "" {
		if b.bin, err = filepath.Abs(b.bin); err != nil { // parkd runs in its own folder
			return fmt.Errorf("bench: %w", err)
		}
	}
	b.header = machineInfo()
	if b.f.redisConfig != "" {
		b.header = append(b.header, "extra redis-server settings: "+b.f.redisConfig)
	}
	b.regDir = b.sub("qiuai")
	if b.reg, err = writeTown(b.regDir, 0); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}

// sub creates and returns a folder in the working folder.
func (b *bench) sub(name string) string {
	d := filepath.Join(b.dir, name)
	_ = os.MkdirAll(d, 0o755)
	return d
}

// writeTown generates a town of n spaces (0: Qiuai) into dir and loads it.
func writeTown(dir string, n int) (*occupancy.Registry, error) {
	zones, spaces, err := town.Generate(town.Options{Spaces: n, Seed: 1})
	if err != nil {
		return nil, err
	}
	if err := town.WriteRegistry(dir, zones, spaces); err != nil {
		return nil, err
	}
	return occupancy.NewRegistry(zones, spaces)
}

// runParts runs the chosen parts in order.
func (b *bench) runParts(ctx context.Context) error {
	steps := map[string]func(context.Context) error{
		"a": b.partRates, "b": b.partRates, "c": b.partLatency, "d": b.partAPI, "e": b.partMemory,
		"g": b.partStreams,
	}
	for _, p := range benchParts {
		if !b.only[p] || p == "b" && b.only["a"] { // (a) and (b) run together
			continue
		}
		if (p != "a" || b.only["b"]) && p != "e" && p != "g" && b.parkd == nil {
			if err := b.startMainParkd(ctx); err != nil {
				return err
			}
		}
		if (p == "e" || p == "g") && b.parkd != nil { // they run parkds of their own
			b.parkd.stop()
			b.parkd = nil
		}
		if p != "a" && p != "b" && p != "c" { // (c) settles before each of its rates
			b.settle(ctx, "("+p+")")
		}
		if err := steps[p](ctx); err != nil {
			return fmt.Errorf("bench (%s): %w", p, err)
		}
	}
	return nil
}

// startMainParkd starts the parkd of parts b–d on the Qiuai registry.
func (b *bench) startMainParkd(ctx context.Context) error {
	var err error
	b.parkd, _, err = b.startParkd(ctx, "main", b.regDir, time.Minute)
	return err
}

// close stops every server and removes the working folder unless -keep.
func (b *bench) close() {
	if b.parkd != nil {
		b.parkd.stop()
	}
	if b.rdb != nil {
		b.rdb.Close()
	}
	for _, c := range []*child{b.mosq, b.redis} {
		if c != nil {
			c.stop()
		}
	}
	if b.dir == "" {
		return
	}
	if b.f.keep {
		fmt.Fprintf(b.prog, "bench: kept %s\n", b.dir)
		return
	}
	os.RemoveAll(b.dir)
}

// progress writes one progress line.
func (b *bench) progress(format string, args ...any) {
	fmt.Fprintf(b.prog, format+"\n", args...)
}

// add records a result row and prints it at once as progress.
func (b *bench) add(r benchRow) {
	b.rows = append(b.rows, r)
	b.progress("bench: (%s) %s: %s", r.part, r.what, r.figure)
}

// printTable prints the results.
func (b *bench) printTable() {
	if len(b.rows) == 0 {
		return
	}
	for _, h := range b.header {
		fmt.Fprintln(b.out, h)
	}
	fmt.Fprintf(b.out, "load average at the end: %s\n\n", loadAvg())
	tw := tabwriter.NewWriter(b.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "part\tmeasure\tfigure\ttarget\tmet")
	for _, r := range b.rows {
		fmt.Fprintf(tw, "(%s)\t%s\t%s\t%s\t%s\n", r.part, r.what, r.figure, r.target, r.verdict)
	}
	tw.Flush()
}

// verdict says whether a figure meets its target.
func verdict(ok bool) string {
	if ok {
		return "yes"
	}
	return "NO"
}

// parseList parses a comma-separated list of numbers.
func parseList(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("bad number %q in %q", f, s)
		}
		out = append(out, v)
	}
	return out, nil
}

// errTimeout is a wait that did not end in time.
var errTimeout = errors.New("timed out")

// machineInfo describes the machine and the servers' versions.
func machineInfo() []string {
	version := func(name, pkg string, args ...string) string {
		bin, err := findProgram(name, pkg)
		if err != nil {
			return err.Error()
		}
		out, _ := exec.Command(bin, args...).CombinedOutput()
		line, _, _ := strings.Cut(string(out), "\n")
		return strings.TrimSpace(line)
	}
	return []string{
		fmt.Sprintf("machine: %d CPUs, %s, %s/%s", runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH),
		"redis: " + version("redis-server", "redis-server", "--version"),
		"mosquitto: " + version("mosquitto", "mosquitto", "-h"),
		"load average at the start: " + loadAvg(),
	}
}

// loadAvg returns the 1, 5 and 15 minute load averages: other work on the
// machine shows in the figures.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// redisArgs turns "name value, name value" into redis-server arguments.
func redisArgs(conf string) []string {
	var args []string
	for _, setting := range strings.Split(conf, ",") {
		if f := strings.Fields(setting); len(f) > 0 {
			args = append(args, append([]string{"--" + f[0]}, f[1:]...)...)
		}
	}
	return args
}
