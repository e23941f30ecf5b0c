package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/qiuai/parking/ingest/codec"
	"github.com/qiuai/parking/occupancy"
)

// settle makes one attempt at msgs[i] for each i of idx: the plain
// handling (apply), then each message's outcome settled in order: a reading
// that took effect, or a rejection once its dead letter is kept, is done
// (done is called), a failure is returned for retrying.
func (h *handling) settle(ctx context.Context, idx []int) (failed []int, err error) {
	outs := h.apply(ctx, idx)
	for k, i := range idx {
		if e := h.p.fileRejected(ctx, h.msgs[i].Topic, h.msgs[i].Payload, outs[k]); e != nil {
			failed, err = append(failed, i), e
			continue
		}
		h.state[i].done = true
		if h.done != nil {
			h.done(i)
		}
	}
	return failed, err
}

// apply is the plain handling of msgs[i] for each i of idx: it decodes and
// validates each message, applies the readings in one ApplyBatch call, in
// order, and counts the applied, duplicate and stale ones. outs[k] is the
// outcome for msgs[idx[k]]: nil when its reading took effect (or was a
// duplicate or stale), an EINVALID error, a *codec.UnknownSensorError, the
// store's error, or the *panicError of a message whose handling panicked
// before. outs is the handling's scratch, valid until the next apply.
func (h *handling) apply(ctx context.Context, idx []int) []error {
	sc := h.scratch
	outs := grow(sc.outs, len(idx))
	rs := sc.rs[:0]
	at := sc.at[:0] // rs[j] is the reading of msgs[idx[at[j]]]
	defer func() { sc.outs, sc.rs, sc.at = outs, rs, at }()
	for k, i := range idx {
		if pe := h.state[i].panicked; pe != nil {
			outs[k] = pe
			continue
		}
		r, err := h.p.prepare(h.msgs[i])
		if err != nil {
			outs[k] = err
			continue
		}
		rs, at = append(rs, r), append(at, k)
	}
	if len(rs) == 0 {
		return outs
	}
	results, errs := h.p.storeBatch(ctx, rs)
	for j, k := range at {
		outs[k] = h.p.outcome(rs[j], results[j], errs[j])
	}
	return outs
}

// prepare decodes m and validates the reading.
func (p *Pipeline) prepare(m Message) (occupancy.Reading, error) {
	dec := m.Decode
	if dec == nil {
		dec = codec.DecodeNative
	}
	r, err := dec(m.Topic, m.Payload)
	if err != nil {
		return r, err
	}
	return r, r.Validate(p.now())
}

// storeBatch applies rs with one ApplyBatch call, timed. It panics if the
// store answers the wrong number of results: a store bug that retrying
// cannot mend (attempt then applies the readings one by one).
func (p *Pipeline) storeBatch(ctx context.Context, rs []occupancy.Reading) ([]occupancy.Result, []error) {
	start := time.Now()
	results, errs := p.store.ApplyBatch(ctx, rs)
	p.m.apply.Observe(time.Since(start).Seconds())
	if len(results) != len(rs) || len(errs) != len(rs) {
		panic(fmt.Sprintf("ingest: store answered %d results and %d errors to %d readings", len(results), len(errs), len(rs)))
	}
	return results, errs
}

// outcome counts the store's answer to r and turns it into the message's
// outcome: nil for applied, duplicate and stale; an unknown-sensor error;
// or the store's error.
func (p *Pipeline) outcome(r occupancy.Reading, res occupancy.Result, err error) error {
	if err != nil {
		return fmt.Errorf("ingest: apply reading of sensor %s: %w", r.SensorID, err)
	}
	switch res {
	case occupancy.ResultApplied, occupancy.ResultDuplicate, occupancy.ResultStale:
		p.m.messages[res].Inc()
		return nil
	case occupancy.ResultUnknownSensor:
		return &codec.UnknownSensorError{SensorID: r.SensorID}
	}
	// A store bug: retrying cannot help, so reject it like a panic.
	panic(fmt.Sprintf("ingest: store returned unknown result %q", res))
}
