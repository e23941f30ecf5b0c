package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qiuai/parking/internal/storetest"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/jobs"
)

var errDown = errors.New("redis down")

// logs is a slog handler that keeps the records' levels, messages and
// attributes but the error, one line each.
type logs struct {
	mu    sync.Mutex
	lines []string
}

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }

func (l *logs) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "err" {
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		}
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, b.String())
	return nil
}

func (l *logs) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logs) WithGroup(string) slog.Handler      { return l }

func (l *logs) got() []string { l.mu.Lock(); defer l.mu.Unlock(); return slices.Clone(l.lines) }

// waitFor waits until l holds every one of lines.
func (l *logs) waitFor(t *testing.T, lines ...string) {
	t.Helper()
	storetest.Eventually(t, 10*time.Second, func() string {
		got := l.got()
		for _, line := range lines {
			if !slices.Contains(got, line) {
				return fmt.Sprintf("logged %q, want %q among them", got, line)
			}
		}
		return ""
	})
}

// run runs job until stop is called, which fails the test unless job
// returned nil within 10 s of its context's end.
func run(t *testing.T, job func(ctx context.Context) error) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- job(ctx) }()
	stop = sync.OnceFunc(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("the job returned %v, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("the job still runs 10s after its context ended")
		}
	})
	t.Cleanup(stop)
	return ctx, stop
}

// counter answers its calls from a script: the first ones in order, then
// 0; the call after the script ends its job's context and fails (a failure
// at shutdown, which is not logged).
type counter struct {
	mu     sync.Mutex
	script []error // nil: n spaces or closures; else the error
	calls  int
	cancel func()
}

func (c *counter) call(ctx context.Context) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	switch i := c.calls - 1; {
	case i < len(c.script) && c.script[i] != nil:
		return 0, c.script[i]
	case i < len(c.script):
		return 2, nil
	case i == len(c.script)+1:
		c.cancel()
		<-ctx.Done()
		return 0, ctx.Err()
	}
	return 0, nil
}

func (c *counter) Sweep(ctx context.Context) (int, error)     { return c.call(ctx) }
func (c *counter) ReopenDue(ctx context.Context) (int, error) { return c.call(ctx) }

// TestRunSweeperAndReopener: each calls the store every interval, logs what
// it did (not when it did nothing) and its failures (not those of its
// shutdown), and returns nil when its context ends.
func TestRunSweeperAndReopener(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(ctx context.Context, c *counter, log *slog.Logger) error
		want []string
	}{
		{"sweeper", func(ctx context.Context, c *counter, log *slog.Logger) error {
			return jobs.RunSweeper(ctx, c, 5*time.Millisecond, log)
		}, []string{"INFO silent spaces marked unknown count=2", "WARN sweep failed"}},
		{"reopener", func(ctx context.Context, c *counter, log *slog.Logger) error {
			return jobs.RunReopener(ctx, c, 5*time.Millisecond, log)
		}, []string{"INFO closures ended at their until count=2", "WARN reopening due closures failed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := &logs{}
			c := &counter{script: []error{nil, errDown}}
			ctx, cancel := context.WithCancel(context.Background())
			c.cancel = cancel
			done := make(chan error, 1)
			go func() { done <- tc.run(ctx, c, slog.New(l)) }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("returned %v, want nil", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("still running after 10s")
			}
			if got := l.got(); !slices.Equal(got, tc.want) {
				t.Errorf("logged %q, want %q", got, tc.want)
			}
		})
	}
}

// history records the times it is asked to sample; the first fails.
type history struct {
	mu sync.Mutex
	at []time.Time
}

func (h *history) RecordHistory(_ context.Context, at time.Time) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.at = append(h.at, at)
	if len(h.at) == 1 {
		return errDown
	}
	return nil
}

func (h *history) samples() []time.Time { h.mu.Lock(); defer h.mu.Unlock(); return slices.Clone(h.at) }

// TestRunHistorySampler: the sampler samples at once, then a second into
// each bucket; it logs a failure, and returns when its context ends, in the
// middle of its wait.
func TestRunHistorySampler(t *testing.T) {
	end := occupancy.BucketStart(storetest.T0).Add(occupancy.HistoryStep)
	start, base := time.Now(), end.Add(-time.Second) // a second before a bucket ends
	now := func() time.Time { return base.Add(time.Since(start)) }
	h, l := &history{}, &logs{}
	_, stop := run(t, func(ctx context.Context) error { return jobs.RunHistorySampler(ctx, h, now, slog.New(l)) })
	storetest.Eventually(t, 10*time.Second, func() string {
		if got := h.samples(); len(got) < 2 {
			return fmt.Sprintf("samples at %v, want 2", got)
		}
		return ""
	})
	stop() // the sampler waits until a second into the bucket after
	got := h.samples()
	next := occupancy.BucketStart(got[0]).Add(occupancy.HistoryStep)
	if len(got) != 2 || got[1].Before(next.Add(time.Second)) || !got[1].Before(next.Add(occupancy.HistoryStep)) {
		t.Errorf("samples at %v, want one at once and one a second into the next bucket (%s)", got, next)
	}
	if got, want := l.got(), []string{"WARN history sample failed"}; !slices.Equal(got, want) {
		t.Errorf("logged %q, want %q", got, want)
	}
}
