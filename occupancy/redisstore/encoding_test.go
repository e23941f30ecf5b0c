package redisstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
	"github.com/qiuai/parking/simulator/town"
)

// TestEncodingWarnings checks the listpack limits against the Qiuai town,
// whose largest zone has 480 spaces.
func TestEncodingWarnings(t *testing.T) {
	zones, spaces, err := town.Generate(town.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := occupancy.NewRegistry(zones, spaces)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		start func(t *testing.T) redis.UniversalClient
		want  []string // one piece of each warning, in order
	}{
		{"redis defaults", func(t *testing.T) redis.UniversalClient { return testenv.MustStartRedis(t).Client(t) },
			[]string{"hash-max-listpack-value is 64", "zset-max-listpack-entries is 128, below the largest zone's 480 spaces",
				"zset-max-listpack-value is 64"}},
		{"configs/redis.conf's limits", func(t *testing.T) redis.UniversalClient {
			return testenv.MustStartRedis(t, "--hash-max-listpack-entries", "1024", "--hash-max-listpack-value", "128",
				"--zset-max-listpack-entries", "1024", "--zset-max-listpack-value", "128").Client(t)
		}, nil},
		{"hash entries below the largest zone", func(t *testing.T) redis.UniversalClient {
			return testenv.MustStartRedis(t, "--hash-max-listpack-entries", "479", "--hash-max-listpack-value", "128",
				"--zset-max-listpack-entries", "480", "--zset-max-listpack-value", "128").Client(t)
		}, []string{"hash-max-listpack-entries is 479, below the largest zone's 480 spaces: set it to at least that"}},
		{"no CONFIG GET (miniredis)", func(t *testing.T) redis.UniversalClient {
			return redis.NewClient(&redis.Options{Addr: miniredis.RunT(t).Addr()})
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := redisstore.New(redisstore.Options{Client: tc.start(t), Registry: reg})
			if err != nil {
				t.Fatal(err)
			}
			got := s.EncodingWarnings(context.Background())
			if len(got) != len(tc.want) {
				t.Fatalf("warnings %q, want %d", got, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("warning %q does not say %q", got[i], w)
				}
			}
		})
	}
}
