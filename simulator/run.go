package simulator

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Run connects to the broker and publishes until Duration has passed or ctx
// ends. Then it publishes the messages still held by the reorder fault and
// waits for the PUBACK of every message (for at most DrainTimeout), so that
// Truth is what the broker has. The end of ctx is a normal stop: Run
// returns an error only if it could not connect or was already run.
func (s *Simulator) Run(ctx context.Context) error {
	if err := s.claim(); err != nil {
		return err
	}
	o := s.opts
	pub, err := dialPublisher(ctx, publisherOptions{BrokerURL: o.BrokerURL, Username: o.Username,
		Password: o.Password, ClientID: o.ClientID, Connections: o.Publishers, MaxRate: o.MaxRate,
		MaxInflight: o.MaxInflight, Logger: s.log}, &s.pubs)
	if err != nil {
		return err
	}
	s.out = pub
	if o.Duration > 0 && o.Duration < o.StartupSpread {
		s.log.Warn("Duration is shorter than StartupSpread: some sensors will never send",
			"duration", o.Duration, "startup_spread", o.StartupSpread)
	}
	s.log.Info("simulator started", "broker", o.BrokerURL, "sensors", len(s.sensors), "silent", s.silent,
		"accel", o.Accel, "virtual_start", o.Start.In(o.Location).Format(time.RFC3339), "max_rate", o.MaxRate)

	stopMeter, meterDone := make(chan struct{}), make(chan struct{})
	start := time.Now()
	s.count.started.Store(&start)
	go s.meter(o.Progress, o.ProgressInterval, stopMeter, meterDone)

	s.publishAll(ctx, pub, start)
	close(stopMeter)
	<-meterDone
	st := s.Stats()
	s.log.Info("simulator stopped", "sent", st.Sent, "acked", st.Acked, "errors", st.Errors)
	return nil
}

// publishAll runs the simulation, flushes held messages and waits for the
// PUBACKs. Publishing outlives ctx so that no reading is half sent and the
// truth stays exact: it ends DrainTimeout after ctx ends or Duration passes,
// so that a broker that stays away cannot hold Run for ever.
func (s *Simulator) publishAll(ctx context.Context, pub *publisher, start time.Time) {
	pubCtx, cancelPub := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelPub()
	startDrain := sync.OnceFunc(func() { time.AfterFunc(s.opts.DrainTimeout, cancelPub) })
	defer context.AfterFunc(ctx, startDrain)()
	s.loop(ctx, pubCtx, start)
	startDrain()
	s.flush(pubCtx)
	pub.drain(pubCtx)
}

// claim marks the simulator as run; it runs once.
func (s *Simulator) claim() error {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	if s.ran {
		return errors.New("simulator: Run called twice")
	}
	s.ran = true
	return nil
}

// loop runs events as their wall time comes, until Duration has passed or
// ctx ends. A loop that falls behind (MaxRate, a slow broker) runs late
// events at once: the model's decisions never depend on the wall clock.
func (s *Simulator) loop(ctx, pubCtx context.Context, start time.Time) {
	end := time.Time{}
	if s.opts.Duration > 0 {
		end = start.Add(s.opts.Duration)
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for ctx.Err() == nil {
		due := end
		if len(s.events) > 0 {
			if at := start.Add(time.Duration(s.events.peek().at)); end.IsZero() || at.Before(end) {
				due = at
			}
		}
		if due.IsZero() { // nothing to do (every sensor silent) and no end
			<-ctx.Done()
			return
		}
		if d := time.Until(due); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		}
		if due.Equal(end) {
			return
		}
		s.handle(pubCtx, s.events.pop())
	}
}

// simulate runs every event up to wall offset until without waiting: the
// test driver of the model.
func (s *Simulator) simulate(ctx context.Context, until time.Duration) {
	for len(s.events) > 0 && s.events.peek().at < int64(until) {
		s.handle(ctx, s.events.pop())
	}
}
