// Package mqttconn is what the ingest's MQTT subscriber needs around
// paho.mqtt.golang to acknowledge each message itself, after its store
// write, without losing or stalling any: Configure sets the paho options,
// and Conn and DiscardStore replace paho's connection and store. Each
// exists for a behaviour of paho or of Mosquitto.
//
// # Manual acknowledgement
//
// paho acknowledges a message as soon as its handler returns unless
// automatic acks are off
// (https://github.com/eclipse-paho/paho.mqtt.golang/issues/459; the option
// came with https://github.com/eclipse-paho/paho.mqtt.golang/pull/578). The
// ingest acks from its workers once the message is stored, so Configure
// turns them off. Every message must then be acked eventually, a rejected
// one too: the broker holds one of its in-flight slots for each message
// not acknowledged (Mosquitto's max_inflight_messages, 20 by default).
//
// A worker may ack after the connection has dropped (a batch that ends
// while paho reconnects, or at shutdown). paho v1.5.0 could then panic,
// sending on a closed channel
// (https://github.com/eclipse-paho/paho.mqtt.golang/issues/726); v1.5.1
// drops such an ack instead
// (https://github.com/eclipse-paho/paho.mqtt.golang/pull/729), and the
// broker delivers the message again to the next session. go.mod requires
// v1.5.1 or later.
//
// # In-order delivery
//
// With OrderMatters true paho calls the handler on its router goroutine,
// in the order of arrival, and reads nothing more from the connection
// until it returns (https://github.com/eclipse-paho/paho.mqtt.golang/issues/427).
// With OrderMatters false it starts a goroutine per message, which the
// broker's in-flight window no longer bounds once acks flow
// (docs/bench/inflight-repro.md). Configure sets it true, so that a full
// queue holds paho back and TCP pushes back to the broker. The handler
// must still not block for long: paho reads PINGRESP on the same goroutine
// and drops the connection when one is late (its README, "Common
// problems"; https://github.com/eclipse-paho/paho.mqtt.golang/issues/474),
// so the subscriber sets messages aside once its queue has had no room
// for a while.
//
// # A store that keeps nothing
//
// paho keeps each received QoS 1 message in its store until the PUBACK is
// sent (persistInbound, as quoted in
// https://github.com/eclipse-paho/paho.mqtt.golang/issues/538): a map
// entry under a formatted key and its deletion, about a tenth of parkd's
// CPU in a flood, for no use here. On reconnecting, paho discards stored
// inbound messages other than QoS 2 PUBRELs, and resends stored SUBSCRIBEs
// only with ResumeSubs, which Configure turns off (the subscriber
// subscribes in OnConnect). The broker's persistent session is what keeps
// unacknowledged messages. So Configure gives paho a DiscardStore.
//
// # Buffered connections
//
// paho reads each packet's fixed header a byte or two at a time and writes
// each packet with a write of its own: on a bare TCP connection, three or
// four read system calls per message, and one small TCP segment per PUBACK
// that the broker reads with a system call of its own (about a fifth of
// parkd's CPU in a flood, and more of Mosquitto's). A Conn reads through a
// buffer and coalesces writes. Configure dials MQTT over TCP and TLS
// through Conn, directly (not through a proxy named in the environment);
// WebSocket and Unix socket brokers are left to paho.
//
// # Waiting for the broker after DISCONNECT
//
// Mosquitto reads one packet of a connection per readiness event of its
// loop (loop_handle_reads_writes in src/mux_epoll.c,
// https://github.com/eclipse/mosquitto/blob/08e55f31e116bbfb1e3273c0cbdc86e8eb169614/src/mux_epoll.c)
// and, when a new connection takes over the client id, closes the old one
// with whatever of it is still unread. A subscriber restarted at once
// found PUBACKs of its last session unread, and those messages delivered
// again (seen in CI: two of five PUBACKs read). So after a DISCONNECT,
// Conn.Close half-closes and waits, up to Options.CloseTimeout, for the
// broker to close its side: it handles a connection's packets in order, so
// by then it has taken every PUBACK. Options.Quiesce is the wait to give
// Client.Disconnect for that.
package mqttconn
