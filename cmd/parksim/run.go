package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/qiuai/parking/configs"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/simulator"
)

// cst is Qiuai's time zone, for -start given as a time of day.
var cst = time.FixedZone("CST", 8*3600)

// runFlags are the flags of `parksim run`.
type runFlags struct {
	opts          simulator.Options
	registry      string
	start         string
	verifyURL     string
	verifyTimeout time.Duration
	truthFile     string
	quiet         bool
	logLevel      slog.Level
}

// runFlagSet defines the flags of `parksim run` into f.
func (c *cli) runFlagSet(f *runFlags) *flag.FlagSet {
	fs := c.newFlagSet("run", "parksim run [flags]")
	o := &f.opts
	fs.StringVar(&o.BrokerURL, "broker", c.envOr("PARKSIM_BROKER", "tcp://127.0.0.1:1883"), "MQTT broker `URL` (env PARKSIM_BROKER)")
	fs.StringVar(&o.Username, "username", c.getenv("PARKSIM_USERNAME"), "broker user name (env PARKSIM_USERNAME)")
	fs.StringVar(&o.Password, "password", "", "broker password (prefer env PARKSIM_PASSWORD: flags show in ps)")
	fs.StringVar(&o.ClientID, "client-id", "parksim", "MQTT client id `prefix`; a random part and the connection number follow")
	fs.StringVar(&f.registry, "registry", "configs/qiuai", "registry `folder` with zones.yaml and spaces.csv (the built-in Qiuai town if the default is absent)")
	fs.Float64Var(&o.Accel, "accel", 60, "virtual seconds of the demand model per wall second")
	fs.StringVar(&f.start, "start", "", "virtual start: RFC 3339 time, or HH:MM today in Qiuai (default: now)")
	fs.DurationVar(&o.Duration, "duration", 0, "how long to publish (0: until SIGINT/SIGTERM)")
	fs.Float64Var(&o.MaxRate, "rate", 2000, "maximum messages per second, faults included")
	fs.IntVar(&o.Publishers, "publishers", 2, "MQTT connections to publish over")
	fs.IntVar(&o.MaxInflight, "inflight", 500, "unacknowledged messages per connection")
	fs.DurationVar(&o.Heartbeat, "heartbeat", 10*time.Minute, "heartbeat period of each sensor (wall clock)")
	fs.DurationVar(&o.StartupSpread, "spread", 0, "time over which every sensor sends its first message (0: 2s, or longer for -rate)")
	fs.DurationVar(&o.DrainTimeout, "drain", 30*time.Second, "how long to wait for PUBACKs at the end")
	fs.Float64Var(&o.Faults.DuplicatePct, "dup", 0, "`percent` of messages published twice")
	fs.Float64Var(&o.Faults.ReorderPct, "reorder", 0, "`percent` of messages held back until after the sensor's next one")
	fs.Float64Var(&o.Faults.MalformedPct, "malformed", 0, "garbage messages per 100 real ones (`percent`), in addition to them")
	fs.Float64Var(&o.Faults.SilentPct, "silent", 0, "`percent` of sensors that never send")
	fs.Int64Var(&o.Seed, "seed", 1, "seed of the demand model and the faults: the same seed repeats a run")
	fs.Func("format", "message `format`: native (default), ttn or chirpstack: the registry's LoRaWAN spaces send their model's frames in The Things Stack or ChirpStack uplinks",
		func(s string) (err error) { o.Format, err = simulator.ParseFormat(s); return err })
	fs.StringVar(&f.verifyURL, "verify", "", "after the run, verify parkd's API at `URL` (e.g. http://127.0.0.1:8080); exit 1 on a mismatch")
	fs.DurationVar(&f.verifyTimeout, "verify-timeout", 30*time.Second, "how long verify retries until everything matches")
	fs.StringVar(&f.truthFile, "truth", "", "save the ground truth as JSON to `FILE` (for parksim verify)")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress line")
	fs.TextVar(&f.logLevel, "log-level", slog.LevelInfo, "log `level`: debug, info, warn or error")
	return fs
}

// run is `parksim run`.
func (c *cli) run(args []string) error {
	var f runFlags
	fs := c.runFlagSet(&f)
	if err := parse(fs, args); err != nil {
		return err
	}
	if f.opts.Password == "" {
		f.opts.Password = c.getenv("PARKSIM_PASSWORD")
	}
	con := newConsole(c.stderr, c.stderrIsTTY)
	log := slog.New(slog.NewTextHandler(con, &slog.HandlerOptions{Level: f.logLevel}))
	if err := c.prepare(&f, fs, con, log); err != nil {
		return err
	}
	sim, err := simulator.New(f.opts)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop) // a second signal ends the process at once
	err = sim.Run(ctx)
	con.done()
	fmt.Fprintf(c.stderr, "parksim: %s\n", sim.Stats().Summary())
	if err != nil {
		return err
	}
	return c.afterRun(&f, sim)
}

// prepare loads the registry and fills in the options that flags do not
// give directly.
func (c *cli) prepare(f *runFlags, fs *flag.FlagSet, con *console, log *slog.Logger) error {
	reg, err := loadRegistry(f.registry, isSet(fs, "registry"))
	if err != nil {
		return err
	}
	if f.opts.Start, err = parseStart(f.start, time.Now()); err != nil {
		fmt.Fprintf(c.stderr, "parksim: %v\n", err)
		return usageError{err}
	}
	f.opts.Registry, f.opts.Logger = reg, log
	if !f.quiet {
		f.opts.Progress = con.progress()
		f.opts.ProgressInterval = 5 * time.Second
		if con.tty {
			f.opts.ProgressInterval = time.Second
		}
	}
	return nil
}

// afterRun saves the truth and verifies the API, as the flags ask.
func (c *cli) afterRun(f *runFlags, sim *simulator.Simulator) error {
	truth := sim.Truth()
	if f.truthFile != "" {
		if err := saveTruth(f.truthFile, truth); err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "parksim: truth of %d spaces saved to %s\n", len(truth), f.truthFile)
	}
	if f.verifyURL == "" {
		return nil
	}
	return c.verifyTruth(context.Background(), f.verifyURL, truth, simulator.VerifyOptions{Timeout: f.verifyTimeout})
}

// loadRegistry reads the registry folder. When the folder is the default
// and absent (parksim run outside the repository), it uses the Qiuai
// registry built into the binary.
func loadRegistry(dir string, explicit bool) (*occupancy.Registry, error) {
	if _, err := os.Stat(dir); !explicit && errors.Is(err, fs.ErrNotExist) {
		return occupancy.LoadRegistryFS(configs.FS, "qiuai")
	}
	return occupancy.LoadRegistry(dir)
}

// parseStart reads -start: empty (now), HH:MM today in Qiuai, or RFC 3339.
func parseStart(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation("15:04", s, cst); err == nil {
		y, m, d := now.In(cst).Date()
		return time.Date(y, m, d, t.Hour(), t.Minute(), 0, 0, cst), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("-start %q is neither HH:MM nor an RFC 3339 time", s)
	}
	return t, nil
}

// saveTruth writes the truth to a file.
func saveTruth(path string, truth map[string]simulator.Expected) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("save truth: %w", err)
	}
	if err := simulator.WriteTruth(f, truth); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save truth: %w", err)
	}
	return nil
}

// isSet reports whether the named flag was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
