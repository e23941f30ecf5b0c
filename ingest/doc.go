// Package ingest receives the sensors' MQTT messages and writes them to the
// occupancy store, acknowledging each message to the broker only after its
// effect (the reading, or the dead letter of a rejected message) is stored.
//
// # Parts
//
// The formats live in package codec (docs/sensors.md): the native JSON,
// The Things Stack v3 and ChirpStack v4 envelopes, and the Bosch and Nwave
// frames, each with Decode and Encode. LoRaWANRoutes gives the Subscriber
// one Route per network server: each subscription filter has its own
// decoder (a codec.LoRaWANDecoder, which joins envelope and frame through
// the registry), all behind the same pipeline.
//
// The Pipeline is the one path of every message; a single message is a
// batch of one. Pipeline.Handle
//   - decodes and validates each message (Reading.Validate) and applies
//     the readings in one Store.ApplyBatch round trip, in order, counting
//     applied, duplicate and stale ones;
//   - keeps each message rejected for good (EINVALID, unknown sensor,
//     panic) in the store's dead-letter stream, counts it, logs it at a
//     limited rate, and reports it handled, so it is acknowledged and never
//     blocks the queue;
//   - recovers a panic once, for the whole attempt, and pins it on the
//     message that causes it by handling the others one at a time; that
//     message is dead-lettered (result "panic") rather than retried, as a
//     deterministic panic retried for ever would hold a worker and one of
//     the broker's in-flight slots for good;
//   - retries everything else (the store is unreachable) with exponential
//     backoff and jitter, RetryMin doubling up to RetryMax, until it
//     succeeds or the context ends, each attempt within AttemptTimeout;
//     meanwhile those messages stay unacknowledged and StoreErr (hence
//     Subscriber.Ready) reports the outage.
//
// The Subscriber is the thin transport: paho at QoS 1 with a persistent
// session (CleanSession false, a stable client id), the publish handler
// registered before connecting, the subscription renewed in OnConnect, and
// what acknowledging each message itself needs around paho (package
// mqttconn: manual acks, in-order delivery, a store that keeps nothing,
// buffered connections, and why). paho calls the handler on its router
// goroutine, in the order of arrival; the handler only puts the message on
// a bounded queue, and Workers goroutines hand batches to the Pipeline and
// Ack each message as soon as it is handled. Every message is acknowledged
// exactly once, a rejected one included; one whose store write has not
// succeeded is never acknowledged and the broker delivers it again to the
// next session.
//
// # Batches
//
// A worker takes a message and then what is already queued, without
// waiting (or up to Options.BatchWait), up to Options.Batch (default 64).
// Per message, the result is the same whatever the batch: a bad message is
// dead-lettered and acknowledged, a store error is retried (only the failed
// messages), duplicates and stale readings are counted as such. Under
// light load the queue is empty and a batch is one message; batches grow
// with the load, so the round trips per message fall when it matters.
//
// # Bounds
//
// While the queue is full, the handler waits for room on paho's router
// goroutine, which then reads nothing more from the connection: TCP pushes
// back and the broker keeps the rest. The messages held in the process are
// then at most QueueSize + Workers × Batch, however fast messages come.
// (With OrderMatters false paho would start a goroutine per message, and
// those waiting on the full queue are not bounded by the broker's in-flight
// window once acknowledgements flow: docs/bench/inflight-repro.md.)
//
// paho reads PINGRESP on the same goroutine, so the handler must not wait
// long: if the queue has had no room for Options.StallAfter (1s), the
// workers are stuck (the store is down), and each new message waits on a
// goroutine of its own until a worker finishes one. Nothing is
// acknowledged while the workers are stuck, so the broker's in-flight
// window (Mosquitto's max_inflight_messages) bounds those. A store outage
// does not grow memory: the rest waits at the broker, in the session's
// queue (Mosquitto's max_queued_messages bounds that; set it large).
//
// Messages of one sensor may still be applied in any order, by different
// workers or on redelivery; the store's apply is ordered by sensor time and
// sequence, so the newest reading wins whatever the order of arrival, and
// redeliveries are duplicates.
//
// # Several instances
//
// With Options.SharedGroup set, instances subscribe to $share/GROUP/topic
// and the broker splits the stream between them. Each instance needs its
// own stable client id. Mosquitto deals messages round-robin to every member
// of the group, offline ones included: the share of an instance that is down
// waits in its persistent session until an instance with that client id
// connects again (TestSubscriberSharedGroupOfflineMember). Nothing is lost,
// but those readings are late, so a stopped instance must be restarted (or
// replaced under the same client id) promptly.
//
// # Store
//
// The Store interface is declared here with what ingest uses, ApplyBatch
// and AddDeadLetter; *redisstore.Store satisfies it. Ingest imports no
// Redis code.
//
// # Metrics
//
//	parkd_ingest_messages_total{result}    applied, duplicate, stale, invalid, unknown_sensor
//	parkd_ingest_retries_total             failed store writes that were retried (one per message of a failed attempt)
//	parkd_ingest_panics_total              handler panics (dead-lettered)
//	parkd_ingest_store_down_seconds_total  time store writes were failing
//	parkd_ingest_store_down_since_seconds  start of the current outage (unix), 0 when up
//	parkd_ingest_inflight                  messages held by workers
//	parkd_ingest_apply_seconds             store apply latency, one per ApplyBatch call (histogram)
//	parkd_mqtt_connected                   1 while connected to the broker
package ingest
