package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/qiuai/parking/ingest/codec"
	"github.com/qiuai/parking/occupancy"
)

// BatchStore is a Store that can also apply several readings in one round
// trip (redisstore.Store can). HandleBatch uses it when the pipeline's
// store has it; with a plain Store a batch's readings are applied one by
// one.
type BatchStore interface {
	Store
	// ApplyBatch applies rs in their order, in one round trip. results[i]
	// and errs[i] answer rs[i] as Apply would; a reading with a non-nil
	// errs[i] (EINTERNAL) may or may not have been applied, and is retried.
	ApplyBatch(ctx context.Context, rs []occupancy.Reading) ([]occupancy.Result, []error)
}

// Message is one message of a batch.
type Message struct {
	Topic   string
	Payload []byte
	// Decode decodes it; nil means Decode (the native format).
	Decode Decoder
}

// HandleBatch handles each of msgs as Handler does, Retry(DeadLetter(
// Recover(Apply))), except that the readings of one attempt go to the
// store in one round trip when it is a BatchStore, in the order of msgs (so
// the readings of one sensor arrive in order). done(i) is called, on the
// calling goroutine, once msgs[i] is handled for good: its reading applied
// (or found a duplicate or stale) or its dead letter stored. The caller
// acknowledges it then, and not before. A message whose store write failed
// is tried again, with the others that failed, after Retry's backoff; the
// ones done are not. HandleBatch returns nil once every message is done, or
// an error when ctx ended first: the messages not done must then not be
// acknowledged.
func (p *Pipeline) HandleBatch(ctx context.Context, msgs []Message, done func(i int)) error {
	pending := make([]int, len(msgs))
	for i := range pending {
		pending[i] = i
	}
	delay := p.retryMin
	for {
		var err error
		if pending, err = p.attemptBatch(ctx, msgs, pending, done); len(pending) == 0 {
			p.storeUp()
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("ingest: stopped before %d of %d messages were handled: %w", len(pending), len(msgs), err)
		}
		p.storeDownN(err, delay, len(pending))
		if !sleep(ctx, jitter(delay)) {
			return fmt.Errorf("ingest: stopped while retrying %d messages: %w", len(pending), err)
		}
		delay = min(2*delay, p.retryMax)
	}
}

// attemptBatch makes one attempt, within AttemptTimeout, at msgs[i] for
// each i of idx. It returns the indexes that failed, in order, and the last
// failure.
func (p *Pipeline) attemptBatch(ctx context.Context, msgs []Message, idx []int, done func(int)) (failed []int, err error) {
	actx, cancel := context.WithTimeout(ctx, p.attempt)
	defer cancel()
	errs := p.applyBatch(actx, msgs, idx)
	for k, i := range idx {
		if e := p.fileRejected(actx, msgs[i].Topic, msgs[i].Payload, errs[k]); e != nil {
			failed, err = append(failed, i), e
			continue
		}
		done(i)
	}
	return failed, err
}

// applyBatch decodes, validates and applies msgs[i] for each i of idx.
// errs[k] is what Recover(Apply) returns for msgs[idx[k]].
func (p *Pipeline) applyBatch(ctx context.Context, msgs []Message, idx []int) []error {
	errs := make([]error, len(idx))
	rs := make([]occupancy.Reading, 0, len(idx))
	at := make([]int, 0, len(idx)) // rs[j] is the reading of msgs[idx[at[j]]]
	for k, i := range idx {
		r, err := p.safePrepare(msgs[i])
		if err != nil {
			errs[k] = err
			continue
		}
		rs, at = append(rs, r), append(at, k)
	}
	if len(rs) == 0 {
		return errs
	}
	if bs, ok := p.store.(BatchStore); ok {
		if results, serrs, ok := p.storeBatch(ctx, bs, rs); ok {
			for j, k := range at {
				errs[k] = p.safeSettle(msgs[idx[k]].Topic, rs[j], results[j], serrs[j])
			}
			return errs
		}
	}
	// A plain store, or a batch call that panicked: one by one, so that a
	// panic is the message's that caused it.
	for j, k := range at {
		errs[k] = p.safeApplyOne(ctx, msgs[idx[k]].Topic, rs[j])
	}
	return errs
}

// safePrepare is prepare with m's decoder, a panic turned into a
// *PanicError.
func (p *Pipeline) safePrepare(m Message) (r occupancy.Reading, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = p.recovered(m.Topic, v)
		}
	}()
	dec := m.Decode
	if dec == nil {
		dec = codec.DecodeNative
	}
	return p.prepare(dec, m.Topic, m.Payload)
}

// storeBatch calls ApplyBatch. ok is false if it panicked or answered the
// wrong number of results; the caller then applies the readings one by one.
func (p *Pipeline) storeBatch(ctx context.Context, bs BatchStore, rs []occupancy.Reading) (results []occupancy.Result, errs []error, ok bool) {
	defer func() {
		if v := recover(); v != nil {
			ok = false
		}
	}()
	start := time.Now()
	results, errs = bs.ApplyBatch(ctx, rs)
	p.m.apply.Observe(time.Since(start).Seconds())
	return results, errs, len(results) == len(rs) && len(errs) == len(rs)
}

// safeSettle is settle with a panic turned into a *PanicError.
func (p *Pipeline) safeSettle(topic string, r occupancy.Reading, res occupancy.Result, serr error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = p.recovered(topic, v)
		}
	}()
	return p.settle(r, res, serr)
}

// safeApplyOne applies one prepared reading with Store.Apply, a panic
// turned into a *PanicError.
func (p *Pipeline) safeApplyOne(ctx context.Context, topic string, r occupancy.Reading) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = p.recovered(topic, v)
		}
	}()
	start := time.Now()
	res, serr := p.store.Apply(ctx, r)
	p.m.apply.Observe(time.Since(start).Seconds())
	return p.settle(r, res, serr)
}
