package jobs_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/internal/storetest"
	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
	"github.com/qiuai/parking/simulator/town"
)

// BenchmarkReloadMillion reloads a city of a million spaces (the synthetic
// city of parksim registry -spaces 1000000) three times on a private
// redis-server: 300 000 spaces removed, then 300 000 moved 5 m, then the
// 300 000 added back. A third of the spaces are free, so the free sets are
// full. It reports each reload's time and the longest Redis command of each
// (Redis's SLOWLOG keeping every command over 200 µs; commands run by a
// script are logged too, in capitals, and left out here): no script may
// hold Redis for more than about 10 ms. redis-server runs at nice -15. About a minute and a half on 2 cores:
//
//	go test -run '^$' -bench ReloadMillion -benchtime 1x ./occupancy/jobs
func BenchmarkReloadMillion(b *testing.B) {
	ctx := context.Background()
	zones, spaces, err := town.Generate(town.Options{Spaces: 1_000_000})
	if err != nil {
		b.Fatal(err)
	}
	rdb := testenv.MustStartRedis(b).Client(b)
	favour(b, rdb)
	reg := mustRegistry(b, zones, spaces)
	s, err := redisstore.New(redisstore.Options{Client: rdb, Registry: reg})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Init(ctx); err != nil {
		b.Fatal(err)
	}
	fillFree(b, s, spaces)
	rl := storetest.Reloader(b, s, reg)
	moved := make([]occupancy.Space, 0, len(spaces))
	for i, sp := range spaces {
		if i%10 >= 3 && i%10 < 6 {
			sp.Lat += 5.0 / 111320
		}
		moved = append(moved, sp)
	}
	steps := []struct {
		name string
		next *occupancy.Registry
	}{
		{"remove_300k", mustRegistry(b, zones, keep(spaces, func(i int) bool { return i%10 >= 3 }))},
		{"move_300k", mustRegistry(b, zones, keep(moved, func(i int) bool { return i%10 >= 3 }))},
		{"add_300k", mustRegistry(b, zones, moved)},
	}
	b.ResetTimer()
	for range b.N {
		for _, st := range steps {
			rdb.ConfigSet(ctx, "slowlog-log-slower-than", "200") // µs: every script that matters, few single commands
			rdb.ConfigSet(ctx, "slowlog-max-len", "1000000")
			rdb.SlowLogReset(ctx)
			rdb.ConfigResetStat(ctx)
			start := time.Now()
			job := storetest.Reload(b, rl, st.next)
			took := time.Since(start)
			d := commandTimes(b, rdb)
			b.ReportMetric(took.Seconds(), st.name+"_s")
			b.ReportMetric(ms(d.max), st.name+"_max_ms")
			b.ReportMetric(ms(d.p999), st.name+"_p999_ms")
			b.Logf("%s: %s, result %+v; %s", st.name, took.Round(time.Millisecond), job.Result, d)
		}
	}
}

// durations sums up the commands of Redis's slow log (every command).
type durations struct {
	n, over1, over10        int
	p50, p99, p999, max     time.Duration
	scripts, scriptsOver10  int
	scriptP99, scriptMax    time.Duration
	maxWhat, scriptsMaxWhat string
}

func (d durations) String() string {
	return fmt.Sprintf("%d commands: p50 %s, p99 %s, p99.9 %s, max %s (%s), %d over 1 ms, %d over 10 ms; "+
		"%d scripts: p99 %s, max %s (%s), %d over 10 ms", d.n, d.p50, d.p99, d.p999, d.max, d.maxWhat, d.over1, d.over10,
		d.scripts, d.scriptP99, d.scriptMax, d.scriptsMaxWhat, d.scriptsOver10)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// commandTimes reads Redis's slow log (set to keep every command).
func commandTimes(b *testing.B, rdb redis.UniversalClient) durations {
	logs, err := rdb.SlowLogGet(context.Background(), -1).Result()
	if err != nil {
		b.Fatal(err)
	}
	var all, scripts []time.Duration
	var d durations
	for _, l := range logs {
		name := l.Args[0]
		if name == "slowlog" || name == "config" || name == "info" {
			continue
		}
		if strings.ToUpper(name) == name {
			continue // a command run by a script
		}
		all = append(all, l.Duration)
		what := name + " " + strings.Join(l.Args[min(3, len(l.Args)-1):min(4, len(l.Args))], " ")
		if l.Duration > d.max {
			d.max, d.maxWhat = l.Duration, what
		}
		if name == "evalsha" || name == "eval" {
			scripts = append(scripts, l.Duration)
			if l.Duration > d.scriptMax {
				d.scriptMax, d.scriptsMaxWhat = l.Duration, what
			}
			if l.Duration > 10*time.Millisecond {
				d.scriptsOver10++
			}
		}
		if l.Duration > time.Millisecond {
			d.over1++
		}
		if l.Duration > 10*time.Millisecond {
			d.over10++
		}
	}
	slices.Sort(all)
	slices.Sort(scripts)
	q := func(v []time.Duration, p float64) time.Duration {
		if len(v) == 0 {
			return 0
		}
		return v[min(len(v)-1, int(p*float64(len(v))))]
	}
	d.n, d.p50, d.p99, d.p999 = len(all), q(all, 0.5), q(all, 0.99), q(all, 0.999)
	d.scripts, d.scriptP99 = len(scripts), q(scripts, 0.99)
	return d
}

// fillFree makes a third of the spaces free (the rest stay unknown).
func fillFree(b *testing.B, s *redisstore.Store, spaces []occupancy.Space) {
	var batch []occupancy.Reading
	t0 := time.Now().Add(-time.Minute)
	for i, sp := range spaces {
		if i%3 != 0 {
			continue
		}
		batch = append(batch, occupancy.Reading{SensorID: sp.SensorID, Occupied: false, TS: t0, Seq: 1})
		if len(batch) == 1000 || i == len(spaces)-1 {
			if _, errs := s.ApplyBatch(context.Background(), batch); errs[0] != nil {
				b.Fatal(errs[0])
			}
			batch = batch[:0]
		}
	}
}

func keep(spaces []occupancy.Space, f func(int) bool) []occupancy.Space {
	var out []occupancy.Space
	for i, sp := range spaces {
		if f(i) {
			out = append(out, sp)
		}
	}
	return out
}

func mustRegistry(b *testing.B, zones []occupancy.Zone, spaces []occupancy.Space) *occupancy.Registry {
	reg, err := occupancy.NewRegistry(zones, spaces)
	if err != nil {
		b.Fatal(err)
	}
	return reg
}

// favour raises redis-server's scheduling priority (nice -15, as root) so
// that other processes on a shared machine preempt it less: production
// Redis has a machine of its own. Without root it says so and goes on.
func favour(b *testing.B, rdb redis.UniversalClient) {
	info, err := rdb.Info(context.Background(), "server").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			pid, _ := strconv.Atoi(v)
			if err := syscall.Setpriority(syscall.PRIO_PROCESS, pid, -15); err != nil {
				b.Logf("redis-server keeps its priority: %v", err)
			}
			return
		}
	}
}
