package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/qiuai/parking/internal/storetest"
	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// TestOutageIsUnavailable: with Redis stopped (connections refused) or
// frozen (SIGSTOP: connections accepted, nothing answered, the caller's
// deadline passes), the store's reads, pipelines and scripts fail with
// EUNAVAILABLE, not an internal error, and within the caller's deadline;
// a missing value (redis.Nil) is no outage.
func TestOutageIsUnavailable(t *testing.T) {
	srv := testenv.MustStartRedis(t)
	rdb, err := redisstore.NewClient(srv.URL) // parkd's client: its timeouts and retries
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	reg := storetest.Registry(t)
	s := storetest.NewStore(t, rdb, reg, time.Now)
	sp := reg.Spaces()[0]
	if st, err := s.Space(context.Background(), sp.ID); err != nil || st.Status != occupancy.StatusUnknown {
		t.Fatalf("a space never heard from: %+v, %v", st, err)
	}
	calls := map[string]func(ctx context.Context) error{
		"Space (one command)": func(ctx context.Context) error { _, err := s.Space(ctx, sp.ID); return err },
		"States (a pipeline)": func(ctx context.Context) error { _, err := s.States(ctx, reg.Spaces()[:5]); return err },
		"Zones (shared read)": func(ctx context.Context) error { _, err := s.Zones(ctx); return err },
		"Apply (a script)": func(ctx context.Context) error {
			_, err := s.Apply(ctx, storetest.Reading(sp.SensorID, true, time.Now(), 1))
			return err
		},
		"ZoneSnapshots (MULTI)": func(ctx context.Context) error {
			_, err := s.ZoneSnapshots(ctx, []string{sp.ZoneID})
			return err
		},
	}
	check := func(t *testing.T, within time.Duration) {
		for name, call := range calls {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			start := time.Now()
			err := call(ctx)
			took := time.Since(start)
			cancel()
			if occupancy.ErrorCode(err) != occupancy.EUNAVAILABLE {
				t.Errorf("%s: %v (code %q), want %s", name, err, occupancy.ErrorCode(err), occupancy.EUNAVAILABLE)
			}
			if took > within {
				t.Errorf("%s took %v, more than %v", name, took, within)
			}
		}
	}
	t.Run("frozen", func(t *testing.T) {
		srv.Freeze(t)
		check(t, 2*time.Second) // the 300 ms deadline, and a loaded machine's scheduling
		srv.Thaw(t)
	})
	t.Run("stopped", func(t *testing.T) {
		srv.Stop(t)
		check(t, 2*time.Second)
		srv.Start(t)
	})
	t.Run("back", func(t *testing.T) {
		for name, call := range calls {
			if err := call(context.Background()); err != nil {
				t.Errorf("%s after the outage: %v", name, err)
			}
		}
	})
}
