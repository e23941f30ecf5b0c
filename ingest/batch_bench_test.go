package ingest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
	"github.com/qiuai/parking/simulator/town"
)

// BenchmarkHandleBatch is the ingest workers' path for a batch of messages
// on the Qiuai registry and a private redis-server: decode, validate, one
// pipelined round trip, results counted. ns/op is per batch; messages/s is
// the throughput of one worker.
func BenchmarkHandleBatch(b *testing.B) {
	zones, spaces, err := town.Generate(town.Options{})
	if err != nil {
		b.Fatal(err)
	}
	reg, err := occupancy.NewRegistry(zones, spaces)
	if err != nil {
		b.Fatal(err)
	}
	st, err := redisstore.New(redisstore.Options{Client: testenv.MustStartRedis(b).Client(b), Registry: reg})
	if err != nil {
		b.Fatal(err)
	}
	if err := st.Init(context.Background()); err != nil {
		b.Fatal(err)
	}
	p, err := NewPipeline(PipelineOptions{Store: st})
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now().Add(-24 * time.Hour)
	k := 0
	for _, size := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			msgs := make([]Message, size)
			b.ReportAllocs()
			for b.Loop() {
				for i := range msgs {
					sp := spaces[k%len(spaces)]
					msgs[i] = Message{Topic: topicFor(sp.SensorID), Payload: payloadFor(t0.Add(time.Duration(k)*time.Millisecond), k/len(spaces)%2 == 0, k)}
					k++
				}
				if err := p.Handle(context.Background(), msgs, func(int) {}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "messages/s")
		})
	}
}
