package ingest

import (
	"context"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// worker is one of the Subscriber's workers, with its batch and the
// messages it hands to the pipeline, both reused from one batch to the
// next.
type worker struct {
	s     *Subscriber
	batch []mqtt.Message
	msgs  []Message
	acked int       // messages of the batch acknowledged
	ack   func(int) // w.ackOne, made once
}

// work takes messages from the queue until shutdown, one at a time or in
// batches (Batch, BatchWait), and hands them to the pipeline.
func (s *Subscriber) work(ctx context.Context) {
	w := &worker{s: s, batch: make([]mqtt.Message, 0, s.opts.Batch), msgs: make([]Message, 0, s.opts.Batch)}
	w.ack = w.ackOne
	for {
		if w.batch = s.collect(w.batch); len(w.batch) == 0 {
			return // shutdown
		}
		w.process(ctx)
		clear(w.batch) // let the messages go
		w.batch = w.batch[:0]
	}
}

// process hands the batch to the pipeline, which calls ackOne for each
// message as soon as it is handled for good. The messages not handled when
// Handle returns (shutdown) stay unacknowledged and the broker delivers
// them again.
func (w *worker) process(ctx context.Context) {
	s, n := w.s, len(w.batch)
	s.pipe.m.inflight.Add(float64(n))
	w.acked = 0
	for _, m := range w.batch {
		w.msgs = append(w.msgs, Message{Topic: m.Topic(), Payload: m.Payload(), Decode: s.routeFor(m.Topic()).decode,
			Retained: m.Retained()})
	}
	err := s.pipe.Handle(ctx, w.msgs, w.ack)
	s.progressed()
	s.pipe.m.inflight.Sub(float64(n - w.acked))
	if err != nil {
		s.log.Info("messages left unacknowledged for redelivery", "messages", n-w.acked, "error", err.Error())
	}
	clear(w.msgs)
	w.msgs = w.msgs[:0]
}

// ackOne acknowledges message i of the batch.
func (w *worker) ackOne(i int) {
	w.batch[i].Ack()
	w.acked++
	w.s.pipe.m.inflight.Dec()
}

// collect forms the next batch in batch: it waits for one message, takes
// what else is queued up to Batch, then waits up to BatchWait for more
// while the batch is not full. One worker collects at a time (the others
// wait their turn), so a wait gathers the messages that arrive during it
// instead of spreading them over idle workers. It returns an empty batch
// at shutdown; a batch begun before shutdown is returned to be handled.
func (s *Subscriber) collect(batch []mqtt.Message) []mqtt.Message {
	s.collecting.Lock()
	defer s.collecting.Unlock()
	select {
	case <-s.stop:
		return batch
	default:
	}
	select {
	case <-s.stop:
		return batch
	case m := <-s.queue:
		batch = s.take(append(batch, m))
	}
	if s.opts.BatchWait <= 0 || len(batch) == s.opts.Batch {
		return batch
	}
	wait := time.NewTimer(s.opts.BatchWait)
	defer wait.Stop()
	for len(batch) < s.opts.Batch {
		select {
		case m := <-s.queue:
			batch = s.take(append(batch, m))
		case <-wait.C:
			return batch
		case <-s.stop:
			return batch
		}
	}
	return batch
}

// take adds to batch what is queued, without waiting, up to Batch.
func (s *Subscriber) take(batch []mqtt.Message) []mqtt.Message {
	for len(batch) < s.opts.Batch {
		select {
		case m := <-s.queue:
			batch = append(batch, m)
		default:
			return batch
		}
	}
	return batch
}
