package redisstore

import (
	"fmt"

	"github.com/redis/go-redis/v9"
)

// NewClient opens a client from a URL: redis://[user:password@]host:port/db,
// or rediss:// for TLS. Command timeouts follow the caller's context.
func NewClient(url string) (redis.UniversalClient, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis store: parse url: %w", err)
	}
	opt.ContextTimeoutEnabled = true
	return redis.NewClient(opt), nil
}
