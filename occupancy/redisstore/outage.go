package redisstore

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
)

// Outages. A command that fails because Redis is down, refusing
// connections, still loading its data, failing over, or slower than the
// caller's deadline returns an EUNAVAILABLE error (occupancy.Unavailable),
// so the HTTP layer answers 503 and the read model answers from memory,
// instead of a 500 for what is not a bug. One go-redis hook codes the
// errors of every command and pipeline of the store's client, whatever
// method ran them.

// outageReplies are the error replies of a Redis that is up but cannot
// serve now: loading its AOF, a replica without its master, a cluster
// without a slot's master, a slot moving, a script running too long, a
// master just demoted.
var outageReplies = []string{"LOADING", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "BUSY", "READONLY"}

// isOutage reports whether err says Redis did not answer (rather than that
// the command or its data were wrong).
func isOutage(err error) bool {
	var ne net.Error
	switch {
	case err == nil, errors.Is(err, redis.Nil):
		return false
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, redis.ErrClosed), errors.Is(err, redis.ErrPoolTimeout), errors.Is(err, redis.ErrPoolExhausted):
		return true
	}
	for _, p := range outageReplies {
		if redis.HasErrorPrefix(err, p) {
			return true
		}
	}
	return false
}

// coded returns err as an EUNAVAILABLE error if it is an outage not coded
// yet, else err itself.
func coded(err error) error {
	if !isOutage(err) || occupancy.ErrorCode(err) == occupancy.EUNAVAILABLE {
		return err
	}
	return occupancy.Unavailable(err)
}

// outageHook codes the outage errors of every command (coded). New adds it
// to the store's client; as coding an error twice changes nothing, a
// client shared by several stores may have it more than once.
type outageHook struct{}

// DialHook leaves dialing alone: its errors reach ProcessHook.
func (outageHook) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook codes a command's error; the client sets it on the command.
func (outageHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		return coded(next(ctx, cmd))
	}
}

// ProcessPipelineHook codes a pipeline's error and each of its commands'.
func (outageHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, c := range cmds {
			if e := c.Err(); e != nil {
				if ce := coded(e); ce != e {
					c.SetErr(ce)
				}
			}
		}
		return coded(err)
	}
}
