package redisstore_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
)

func f64p(v float64) *float64 { return &v }

func intp(v int) *int { return &v }

// TestApplyHealth checks that each health field keeps its last reported
// value, that a stale reading changes none, that the sweeper keeps them,
// and that a state stored before the health fields existed still reads.
func TestApplyHealth(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		clk := &clock{now: t0}
		s := newStore(t, rdb, clk)
		apply := func(r occupancy.Reading, want occupancy.Result) {
			t.Helper()
			r.SensorID = "S1"
			if got, err := s.Apply(ctx, r); err != nil || got != want {
				t.Fatalf("Apply(%+v) = %v, %v; want %v", r, got, err, want)
			}
		}
		health := func(want occupancy.Health, wantBattery int) {
			t.Helper()
			st, err := s.Space(ctx, "A-1")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(st.Health, want) || st.BatteryMV != wantBattery {
				t.Fatalf("health %s battery %d, want %s battery %d", fmtHealth(st.Health), st.BatteryMV, fmtHealth(want), wantBattery)
			}
		}
		health(occupancy.Health{}, 0)
		apply(occupancy.Reading{TS: t0, Seq: 0, Occupied: true, Firmware: "1.4.2", ResetCause: occupancy.ResetWatchdog,
			RSSI: intp(-97), SNR: f64p(7.25)}, occupancy.ResultApplied)
		health(occupancy.Health{Firmware: "1.4.2", ResetCause: "watchdog", RSSI: intp(-97), SNR: f64p(7.25)}, 0)
		apply(occupancy.Reading{TS: t0.Add(time.Minute), Seq: 1, Occupied: true, Kind: occupancy.ReadingHeartbeat,
			BatteryMV: 3300, TempC: f64p(-3.5), RSSI: intp(-110), SNR: f64p(-2)}, occupancy.ResultApplied)
		want := occupancy.Health{TempC: f64p(-3.5), Firmware: "1.4.2", ResetCause: "watchdog", RSSI: intp(-110), SNR: f64p(-2)}
		health(want, 3300)
		// Older: stale, changes nothing.
		apply(occupancy.Reading{TS: t0.Add(30 * time.Second), Seq: 9, BatteryMV: 2600, TempC: f64p(40),
			Firmware: "9.9.9", ResetCause: "other", RSSI: intp(-50), SNR: f64p(10)}, occupancy.ResultStale)
		health(want, 3300)
		// The sweeper marks it unknown and keeps its health.
		clk.now = t0.Add(2 * time.Hour)
		if _, err := s.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if st, _ := s.Space(ctx, "A-1"); st.Status != occupancy.StatusUnknown {
			t.Fatalf("after the sweep status %s, want unknown", st.Status)
		}
		health(want, 3300)
		// A state in the seven-field layout of earlier versions.
		if err := rdb.HSet(ctx, "pk:{A}:s", "A-2", "o|1|1764057600000|1764057600000|1764057600000000|3|3600").Err(); err != nil {
			t.Fatal(err)
		}
		st, err := s.Space(ctx, "A-2")
		if err != nil || st.Status != occupancy.StatusOccupied || st.BatteryMV != 3600 || st.Seq != 3 || !reflect.DeepEqual(st.Health, occupancy.Health{}) {
			t.Fatalf("old-layout state read as %+v, %v", st, err)
		}
		r := occupancy.Reading{SensorID: "S2", TS: time.UnixMilli(1764057600000).Add(time.Second), TempC: f64p(12)}
		if res, err := s.Apply(ctx, r); err != nil || res != occupancy.ResultApplied {
			t.Fatalf("apply over an old-layout state: %v, %v", res, err)
		}
		if st, _ := s.Space(ctx, "A-2"); st.Status != occupancy.StatusFree || st.BatteryMV != 3600 || st.Health.TempC == nil || *st.Health.TempC != 12 {
			t.Fatalf("after apply over an old-layout state: %+v", st)
		}
	})
}

func fmtHealth(h occupancy.Health) string {
	opt := func(p any) string {
		switch v := p.(type) {
		case *float64:
			if v != nil {
				return fmt.Sprint(*v)
			}
		case *int:
			if v != nil {
				return fmt.Sprint(*v)
			}
		}
		return "nil"
	}
	return fmt.Sprintf("{temp=%s fw=%q reset=%q rssi=%s snr=%s}", opt(h.TempC), h.Firmware, h.ResetCause, opt(h.RSSI), opt(h.SNR))
}
