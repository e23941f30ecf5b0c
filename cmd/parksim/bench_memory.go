package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
	"github.com/qiuai/parking/simulator/town"
)

// partMemory is (e) and (f): for each registry size, the Redis memory per
// space and parkd's RSS once the registry is loaded, and again once every
// sensor has reported once; and the time parkd takes to load the registry.
func (b *bench) partMemory(ctx context.Context) error {
	sizes, err := parseList(b.f.sizes)
	if err != nil {
		return err
	}
	for _, s := range sizes {
		if err := b.memoryAt(ctx, int(s)); err != nil {
			return fmt.Errorf("%d spaces: %w", int(s), err)
		}
	}
	return nil
}

// memoryAt measures one registry size on an emptied Redis.
func (b *bench) memoryAt(ctx context.Context, n int) error {
	if err := b.rdb.FlushAll(ctx).Err(); err != nil { // the bench's private redis-server
		return err
	}
	base, err := b.settledMemory(ctx)
	if err != nil {
		return err
	}
	b.progress("bench: (e) generating a town of %d spaces", n)
	dir := b.sub(fmt.Sprintf("town-%d", n))
	zones, spaces, err := town.Generate(town.Options{Spaces: n, Seed: 1})
	if err != nil {
		return err
	}
	if err := town.WriteRegistry(dir, zones, spaces); err != nil {
		return err
	}
	reg, err := occupancy.NewRegistry(zones, spaces)
	if err != nil {
		return err
	}
	b.progress("bench: (e) starting parkd on %d spaces", n)
	p, took, err := b.startParkd(ctx, fmt.Sprintf("size-%d", n), dir, 5*time.Minute)
	if err != nil {
		return err
	}
	defer p.stop()
	loaded, err := b.settledMemory(ctx)
	if err != nil {
		return err
	}
	rssLoaded, descLoaded := p.memory()
	label := fmt.Sprintf("%d spaces", n)
	b.add(benchRow{part: "e", what: label + ": parkd start → ready (registry load + store init)",
		figure: fmt.Sprintf("%.2f s", took.Seconds()), target: loadTarget(n, took), verdict: loadVerdict(n, took)})
	b.add(memoryRow(label+": Redis per registered space (no reading yet)", base, loaded, n))
	if err := b.fill(ctx, reg, spaces); err != nil {
		return err
	}
	filled, err := b.settledMemory(ctx)
	if err != nil {
		return err
	}
	b.add(memoryRow(label+": Redis per space, every sensor reported once (half free)", base, filled, n))
	if byKey, err := b.memoryByKey(ctx, n); err == nil {
		b.add(benchRow{part: "e", what: label + ": the same by key (MEMORY USAGE ÷ spaces)", figure: byKey, target: "-", verdict: "-"})
	} else {
		b.progress("bench: (e) memory by key: %v", err)
	}
	b.exercise(p, spaces)
	rssUsed, descUsed := p.memory()
	b.add(benchRow{part: "f", what: label + ": parkd RSS after load / after serving requests",
		figure: descLoaded + " / " + descUsed, target: rssTarget(n), verdict: rssVerdict(n, max(rssLoaded, rssUsed))})
	return nil
}

// loadTarget and the functions below give the targets that apply to the
// 1M-space registry.
func loadTarget(n int, _ time.Duration) string {
	if n >= 1_000_000 {
		return "≤ 30 s"
	}
	return "-"
}

func loadVerdict(n int, took time.Duration) string {
	if n >= 1_000_000 {
		return verdict(took <= 30*time.Second)
	}
	return "-"
}

func rssTarget(n int) string {
	if n >= 1_000_000 {
		return "≤ 300 MB"
	}
	return "-"
}

func rssVerdict(n int, rss int64) string {
	if n >= 1_000_000 {
		return verdict(rss <= 300_000_000)
	}
	return "-"
}

// settledMemory reads Redis's memory until its data part holds still
// (within 0.5 % over half a second, at most 5 s): right after a burst of
// large pipelined scripts Redis holds a few MB of transient buffers (seen:
// 3-4 MB after the 100 000-space fill, gone 10 ms later), which would count
// as 30-40 B a space.
func (b *bench) settledMemory(ctx context.Context) (redisMemory, error) {
	prev, err := b.usedMemory(ctx)
	for deadline := time.Now().Add(5 * time.Second); err == nil && time.Now().Before(deadline); {
		select {
		case <-ctx.Done():
			return prev, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		var cur redisMemory
		if cur, err = b.usedMemory(ctx); err != nil {
			break
		}
		d := cur.data() - prev.data()
		prev = cur
		if max(d, -d)*200 <= cur.data() {
			break
		}
	}
	return prev, err
}

// redisMemory is what INFO memory says of Redis's memory.
type redisMemory struct {
	used    int64 // used_memory
	clients int64 // mem_clients_normal: the connections' buffers, in used
}

// data is used_memory less the connections' buffers: what the keys hold.
func (m redisMemory) data() int64 { return m.used - m.clients }

// usedMemory returns Redis's INFO memory used_memory and
// mem_clients_normal.
func (b *bench) usedMemory(ctx context.Context) (redisMemory, error) {
	info, err := b.rdb.Info(ctx, "memory").Result()
	if err != nil {
		return redisMemory{}, err
	}
	var m redisMemory
	found := 0
	for _, line := range strings.Split(info, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		var dst *int64
		switch k {
		case "used_memory":
			dst = &m.used
		case "mem_clients_normal":
			dst = &m.clients
		default:
			continue
		}
		if *dst, err = strconv.ParseInt(v, 10, 64); err != nil {
			return m, fmt.Errorf("INFO memory %s: %w", k, err)
		}
		found++
	}
	if found != 2 {
		return m, fmt.Errorf("no used_memory or mem_clients_normal in INFO memory")
	}
	return m, nil
}

// memoryRow is the row of Redis's memory per space from base to now: the
// growth of used_memory less the connections' buffers (parkd's ~20
// connections hold a few hundred KB of buffers, which a town of 3 000
// spaces would otherwise count as 70 B a space), and used_memory's growth
// as it is.
func memoryRow(label string, base, now redisMemory, n int) benchRow {
	per := float64(now.data()-base.data()) / float64(n)
	return benchRow{part: "e", what: label,
		figure: fmt.Sprintf("%.0f B (used_memory +%s, of which connection buffers +%s: %.0f B with them)", per,
			mb(now.used-base.used), mb(now.clients-base.clients), float64(now.used-base.used)/float64(n)),
		target: "≤ 200 B", verdict: verdict(per <= 200)}
}

// memoryByKey sums MEMORY USAGE over every key by the key's kind (the
// part after the zone's hash tag, "free:*" as one) and divides by n, the
// number of spaces: "states 84 B, events 86 B, …", largest first.
func (b *bench) memoryByKey(ctx context.Context, n int) (string, error) {
	sums := map[string]int64{}
	iter := b.rdb.Scan(ctx, 0, "*", 1000).Iterator()
	var keys []string
	flush := func() error {
		cmds, err := b.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range keys {
				p.MemoryUsage(ctx, k, 0)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for i, c := range cmds {
			sums[keyKind(keys[i])] += c.(*redis.IntCmd).Val()
		}
		keys = keys[:0]
		return nil
	}
	for iter.Next(ctx) {
		if keys = append(keys, iter.Val()); len(keys) == 1000 {
			if err := flush(); err != nil {
				return "", err
			}
		}
	}
	if err := iter.Err(); err != nil {
		return "", err
	}
	if err := flush(); err != nil {
		return "", err
	}
	kinds := slices.Collect(maps.Keys(sums))
	slices.SortFunc(kinds, func(a, c string) int { return cmp.Compare(sums[c], sums[a]) })
	var parts []string
	for _, k := range kinds {
		if per := float64(sums[k]) / float64(n); per >= 0.5 {
			parts = append(parts, fmt.Sprintf("%s %.0f B", k, per))
		}
	}
	return strings.Join(parts, ", "), nil
}

// keyKinds name the kinds of a zone's keys (redisstore's zoneKeys).
var keyKinds = map[string]string{"s": "states", "ev": "events",
	"c": "counters", "free": "free geo sets", "h": "history", "inc": "incidents"}

// keyKind returns the kind of a key: pk:{Z01}:free:ev is "free geo sets".
func keyKind(key string) string {
	_, rest, ok := strings.Cut(key, "}:")
	if !ok {
		return "other"
	}
	rest, _, _ = strings.Cut(rest, ":")
	if name, ok := keyKinds[rest]; ok {
		return name
	}
	return rest
}

// fill applies one reading per space of reg (spaces are its spaces)
// straight to the store (pipelined batches, bypassing MQTT so a million
// spaces take seconds, not minutes): every other space occupied.
func (b *bench) fill(ctx context.Context, reg *occupancy.Registry, spaces []occupancy.Space) error {
	st, err := redisstore.New(redisstore.Options{Client: b.rdb, Registry: reg})
	if err != nil {
		return err
	}
	// No Init: parkd has written the states and loaded the scripts.
	const batch = 500
	var next, done atomic.Int64
	now := time.Now()
	stop := b.ticker(2*time.Second, func(w io.Writer) {
		fmt.Fprintf(w, "bench: (e) applied one reading to %d of %d spaces\n", done.Load(), len(spaces))
	})
	defer stop()
	g, gctx := errgroup.WithContext(ctx)
	for range 4 {
		g.Go(func() error {
			rs := make([]occupancy.Reading, 0, batch)
			for {
				i := int(next.Add(batch)) - batch
				if i >= len(spaces) {
					return nil
				}
				rs = rs[:0]
				for j, sp := range spaces[i:min(i+batch, len(spaces))] {
					rs = append(rs, occupancy.Reading{SensorID: sp.SensorID, Occupied: (i+j)%2 == 0,
						TS: now, Seq: 1, Kind: occupancy.ReadingStatus, BatteryMV: 3600})
				}
				_, errs := st.ApplyBatch(gctx, rs)
				for _, err := range errs {
					if err != nil {
						return err
					}
				}
				done.Add(int64(len(rs)))
			}
		})
	}
	return g.Wait()
}

// exercise sends parkd a few hundred API requests about spaces, so its
// RSS includes serving.
func (b *bench) exercise(p *parkdProc, spaces []occupancy.Space) {
	for i := range 300 {
		sp := spaces[(i*7919)%len(spaces)]
		for _, path := range []string{"/api/v1/summary", "/api/v1/zones",
			fmt.Sprintf("/api/v1/nearby?lat=%.6f&lon=%.6f&radius_m=300&limit=10", sp.Lat, sp.Lon),
			"/api/v1/spaces/" + sp.ID} {
			if resp, err := b.http.Get(p.base + path); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}
}

// ticker calls f with the progress writer every d until stop is called.
func (b *bench) ticker(d time.Duration, f func(io.Writer)) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				f(b.prog)
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
