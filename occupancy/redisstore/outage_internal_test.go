package redisstore

import (
	"errors"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
)

// replyError is an error reply of Redis, as go-redis returns it.
type replyError string

func (e replyError) Error() string { return string(e) }
func (replyError) RedisError()     {}

// TestOutageReplies: the replies of a Redis that is up but cannot serve
// (loading, failing over, busy) are outages; other replies, a missing
// value and the store's own errors are not.
func TestOutageReplies(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{replyError("LOADING Redis is loading the dataset in memory"), true},
		{replyError("MASTERDOWN Link with MASTER is down"), true},
		{replyError("CLUSTERDOWN The cluster is down"), true},
		{replyError("TRYAGAIN Multiple keys request during rehashing of slot"), true},
		{replyError("BUSY Redis is busy running a script"), true},
		{fmt.Errorf("redis store: apply: %w", replyError("READONLY You can't write against a read only replica.")), true},
		{redis.ErrClosed, true},
		{replyError("NOSCRIPT No matching script"), false},
		{replyError("WRONGTYPE Operation against a key holding the wrong kind of value"), false},
		{redis.Nil, false},
		{occupancy.Errorf(occupancy.EINVALID, "bad"), false},
		{errors.New("redis store: corrupt state"), false},
	}
	for _, tc := range tests {
		got := occupancy.ErrorCode(coded(tc.err)) == occupancy.EUNAVAILABLE
		if got != tc.want {
			t.Errorf("%v: unavailable %v, want %v", tc.err, got, tc.want)
		}
	}
}
