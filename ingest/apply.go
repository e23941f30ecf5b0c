package ingest

import (
	"context"
	"errors"
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
// order, and counts the applied, duplicate and stale ones; then it notes
// the readings rejected for their sensor time (noteClocks). outs[k] is the
// outcome for msgs[idx[k]]: nil when its reading took effect (or was a
// duplicate or stale), an EINVALID error, a *codec.UnknownSensorError, an
// *occupancy.ClockError, a *retainedError, the store's error, or the
// *panicError of a message whose handling panicked before. outs is the
// handling's scratch, valid until the next apply.
func (h *handling) apply(ctx context.Context, idx []int) []error {
	sc := h.scratch
	outs := grow(sc.outs, len(idx))
	rs, clocks := sc.rs[:0], sc.clocks[:0]
	at := sc.at[:0] // rs[j] is the reading of msgs[idx[at[j]]]
	defer func() { sc.outs, sc.rs, sc.at, sc.clocks = outs, rs, at, clocks }()
	for k, i := range idx {
		if pe := h.state[i].panicked; pe != nil {
			outs[k] = pe
			continue
		}
		r, err := h.p.prepare(h.msgs[i])
		var ce *occupancy.ClockError
		if errors.As(err, &ce) {
			clocks = append(clocks, clockNote{k: k, r: r})
		}
		if err != nil {
			outs[k] = err
			continue
		}
		rs, at = append(rs, r), append(at, k)
	}
	if len(rs) > 0 {
		results, errs := h.p.storeBatch(ctx, rs)
		for j, k := range at {
			outs[k] = h.p.outcome(rs[j], results[j], errs[j])
		}
	}
	if len(clocks) > 0 {
		h.p.noteClocks(ctx, clocks, rs, at, outs)
	}
	return outs
}

// clockNote is a reading rejected for its sensor time: the reading of
// msgs[idx[k]] in an apply.
type clockNote struct {
	k int
	r occupancy.Reading
}

// noteClocks notes the readings of clocks as signs of life (Store.NoteClocks)
// and sets their outcomes in outs: the *occupancy.ClockError they have, an
// unknown sensor's error, or the store's error (retried). A rejected
// reading followed in the same apply by one of the same sensor that went
// to the store (rs, at) is superseded: the later one is the sensor's last
// word and its sign of life, so it is not noted, and the clock_skew
// problem a later applied reading clears is not set again behind it.
func (p *Pipeline) noteClocks(ctx context.Context, clocks []clockNote, rs []occupancy.Reading, at []int, outs []error) {
	var note []occupancy.Reading
	var ks []int
	for _, c := range clocks {
		if !superseded(c, rs, at) {
			note, ks = append(note, c.r), append(ks, c.k)
		}
	}
	if len(note) == 0 {
		return
	}
	known, err := p.store.NoteClocks(ctx, note)
	for j, k := range ks {
		switch {
		case err != nil:
			outs[k] = fmt.Errorf("ingest: note the clock of sensor %s: %w", note[j].SensorID, err)
		case j < len(known) && !known[j]:
			outs[k] = &codec.UnknownSensorError{SensorID: note[j].SensorID}
		}
	}
}

// superseded reports whether a reading of c's sensor comes after c in rs
// (at[j] is the position of rs[j]).
func superseded(c clockNote, rs []occupancy.Reading, at []int) bool {
	for j := len(rs) - 1; j >= 0 && at[j] > c.k; j-- {
		if rs[j].SensorID == c.r.SensorID {
			return true
		}
	}
	return false
}

// prepare decodes m and validates the reading: its fields, then its sensor
// time against the receive time (a *occupancy.ClockError, with the
// reading). A retained message is not decoded: a *retainedError.
func (p *Pipeline) prepare(m Message) (occupancy.Reading, error) {
	if m.Retained {
		return occupancy.Reading{}, errRetained
	}
	dec := m.Decode
	if dec == nil {
		dec = codec.DecodeNative
	}
	r, err := dec(m.Topic, m.Payload)
	if err != nil {
		return r, err
	}
	if err := r.ValidateFields(); err != nil {
		return r, err
	}
	return r, r.CheckClock(p.now(), p.maxAge)
}

// retainedError is the outcome of a retained message (Message.Retained).
type retainedError struct{}

// Error implements error.
func (*retainedError) Error() string {
	return "retained message, replayed by the broker at subscribe: not applied (sensors must publish " +
		"without the retain flag; clear it by publishing an empty retained message to its topic)"
}

// errRetained is the one retainedError.
var errRetained error = &retainedError{}

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
