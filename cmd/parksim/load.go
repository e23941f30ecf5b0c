package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/simulator"
)

// load is `parksim load`: a fixed-rate load of native-format readings at
// QoS 1, every message a newer reading that changes its space.
func (c *cli) load(args []string) error {
	var o simulator.LoadOptions
	var registry string
	var quiet bool
	fs := c.newFlagSet("load", "parksim load [flags]")
	fs.StringVar(&o.BrokerURL, "broker", c.envOr("PARKSIM_BROKER", "tcp://127.0.0.1:1883"), "MQTT broker `URL` (env PARKSIM_BROKER)")
	fs.StringVar(&o.Username, "username", c.getenv("PARKSIM_USERNAME"), "broker user name (env PARKSIM_USERNAME; password in env PARKSIM_PASSWORD)")
	fs.StringVar(&o.ClientID, "client-id", "parksim-load", "MQTT client id `prefix`")
	fs.StringVar(&registry, "registry", "configs/qiuai", "registry `folder` with zones.yaml and spaces.csv")
	fs.IntVar(&o.Sensors, "sensors", 0, "how many of the registry's sensors take turns (0: all)")
	fs.Float64Var(&o.Rate, "rate", 1000, "messages per second (negative: as fast as the broker acknowledges)")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "how long to publish (0: until -count or SIGINT)")
	fs.Uint64Var(&o.Count, "count", 0, "stop after this many messages (0: no limit)")
	fs.IntVar(&o.Connections, "connections", 4, "MQTT connections")
	fs.IntVar(&o.MaxInflight, "inflight", 500, "unacknowledged messages per connection")
	fs.BoolVar(&quiet, "quiet", false, "no progress line")
	if err := parse(fs, args); err != nil {
		return err
	}
	o.Password = c.getenv("PARKSIM_PASSWORD")
	reg, err := occupancy.LoadRegistry(registry)
	if err != nil {
		return fmt.Errorf("load: registry %s: %s", registry, occupancy.ErrorMessage(err))
	}
	o.Registry = reg
	o.Logger = slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if !quiet {
		o.Progress = c.stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := simulator.Load(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "sent %d, acked %d, errors %d in %.2fs (%.0f msg/s); all acked after %.2fs\n",
		st.Sent, st.Acked, st.Errors, st.Elapsed.Seconds(), float64(st.Sent)/st.Elapsed.Seconds(), st.Drained.Seconds())
	if st.Errors > 0 {
		return fmt.Errorf("load: %d messages were not acknowledged", st.Errors)
	}
	return nil
}
