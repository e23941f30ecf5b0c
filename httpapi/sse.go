package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/sync/semaphore"

	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/feed"
)

// sseOut writes an event stream, each write with a deadline of its own
// (Options.EventWriteTimeout). The server's write timeout does not apply to
// a stream (it would end it); this one ends the stream of a client that
// stopped reading (its TCP window full), which would otherwise hold its
// handler, and its subscription, for as long as the connection lives. A
// failed write ends the stream: the client reconnects with its last id.
type sseOut struct {
	ctx     context.Context // the request's
	w       gin.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	staff   bool                // incidents are written too
	joins   *sync.Pool          // of *[]byte, for chunks
	turns   *semaphore.Weighted // the streams' writes take turns (events.go)
}

// send runs write with a fresh deadline and flushes, in its turn.
func (o *sseOut) send(write func() error) error {
	release, err := o.turn()
	if err != nil {
		return err
	}
	defer release()
	err = o.rc.SetWriteDeadline(time.Now().Add(o.timeout))
	if err != nil && !errors.Is(err, http.ErrNotSupported) { // a writer without deadlines: no limit
		return err
	}
	if err := write(); err != nil {
		return err
	}
	return o.rc.Flush()
}

// turnWait is the longest a stream waits for its turn to write: then it
// writes anyway, so that streams whose writes block (their clients
// stopped reading, until the write deadline ends them) cannot hold up
// every other stream.
const turnWait = 50 * time.Millisecond

// turn waits for a turn to write, at most turnWait, and returns what
// gives it back. It fails only when the request ends meanwhile.
func (o *sseOut) turn() (release func(), err error) {
	ctx, cancel := context.WithTimeout(o.ctx, turnWait)
	defer cancel()
	if err := o.turns.Acquire(ctx, 1); err != nil {
		if o.ctx.Err() != nil {
			return nil, o.ctx.Err()
		}
		return func() {}, nil // waited long enough: without a turn
	}
	return func() { o.turns.Release(1) }, nil
}

// comment writes an SSE field line of its own (a keep-alive comment, the
// retry delay).
func (o *sseOut) comment(line string) error {
	return o.send(func() error {
		_, err := fmt.Fprintf(o.w, "%s\n\n", line)
		return err
	})
}

// events writes evs, leaving out incidents unless the caller is staff.
func (o *sseOut) events(evs []occupancy.Event) error {
	return o.chunks([][]byte{appendEvents(nil, evs, o.staff)})
}

// chunks writes rendered events in one write (one deadline, one HTTP
// chunk, one flush), joined in a pooled buffer when there are several.
func (o *sseOut) chunks(chunks [][]byte) error {
	return o.send(func() error {
		if len(chunks) == 1 {
			_, err := o.w.Write(chunks[0])
			return err
		}
		buf := o.joins.Get().(*[]byte)
		defer o.joins.Put(buf)
		*buf = (*buf)[:0]
		for _, c := range chunks {
			*buf = append(*buf, c...)
		}
		_, err := o.w.Write(*buf)
		return err
	})
}

// appendEvents appends evs to buf as SSE messages, leaving out incidents
// unless staff. Events of one stream entry share its id (a call's space
// changes and the zone's counts after them) and come together: only the
// last of them carries the SSE id, so a client cut off inside an entry
// resumes before it (its Last-Event-ID is the entry before) and gets it
// whole again. Each message: id (on the last), event (the type) and data
// (the event as JSON, on one line, with its id).
func appendEvents(buf []byte, evs []occupancy.Event, staff bool) []byte {
	for i, e := range evs {
		if e.Type == occupancy.EventIncident && !staff {
			continue
		}
		e = e.WithData()
		e.Time = e.Time.UTC()
		data, err := json.Marshal(e)
		if err != nil {
			continue // not an event to send; the others are
		}
		if i == len(evs)-1 || evs[i+1].ID != e.ID {
			buf = append(append(append(buf, "id: "...), e.ID...), '\n')
		}
		buf = append(append(append(buf, "event: "...), e.Type...), '\n')
		buf = append(append(append(buf, "data: "...), data...), "\n\n"...)
	}
	return buf
}

// wire is a delivery of the shared reader rendered for the streams, once
// for all of them (feed.Delivery.Memo): the public and the staff stream's
// bytes, and each zone's first and last position in it.
type wire struct {
	public, staff []byte
	first, last   map[string]string // zone -> position
}

// render is the feed.Delivery.Memo of a delivery's wire.
func render(evs []occupancy.Event) any {
	w := &wire{public: appendEvents(nil, evs, false), staff: appendEvents(nil, evs, true),
		first: map[string]string{}, last: map[string]string{}}
	for _, e := range evs {
		pos, zone, _ := strings.Cut(e.ID, "@")
		if _, ok := w.first[zone]; !ok {
			w.first[zone] = pos
		}
		w.last[zone] = pos
	}
	return w
}

// follower turns the shared reader's deliveries into one stream's bytes,
// leaving out what the stream's catch-up wrote already. Only the first
// deliveries can overlap the catch-up: a zone's events come in order, so
// once a delivery has taken a zone past the stream's cursor, none of that
// zone's later events can be behind it. A delivery whose zones are all
// past the cursor goes out as rendered once for all; one that overlaps is
// filtered (EventCursor.Unseen) and rendered for the stream alone.
type follower struct {
	cur    *occupancy.EventCursor
	passed map[string]bool // zones the shared reader has taken past the catch-up
	staff  bool
}

func newFollower(cur *occupancy.EventCursor, staff bool) *follower {
	return &follower{cur: cur, passed: map[string]bool{}, staff: staff}
}

// chunks returns the bytes of ds for the stream, in order.
func (f *follower) chunks(ds []*feed.Delivery) [][]byte {
	out := make([][]byte, 0, len(ds))
	for _, d := range ds {
		w := d.Memo(render).(*wire)
		if f.overlaps(w) {
			out = append(out, appendEvents(nil, f.cur.Unseen(d.Events), f.staff))
		} else if f.staff {
			out = append(out, w.staff)
		} else {
			out = append(out, w.public)
		}
		for zone := range w.first {
			f.passed[zone] = true
		}
	}
	return out
}

// overlaps reports whether w may hold events the catch-up wrote: a zone
// not yet passed whose first event in w is not past the cursor.
func (f *follower) overlaps(w *wire) bool {
	for zone, pos := range w.first {
		if !f.passed[zone] && occupancy.ComparePositions(pos, f.cur.Pos(zone)) <= 0 {
			return true
		}
	}
	return false
}
