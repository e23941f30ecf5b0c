package mqttconn

import "github.com/eclipse/paho.mqtt.golang/packets"

// DiscardStore is a paho Store that keeps nothing: the broker's session
// keeps what is not acknowledged (see the package doc).
type DiscardStore struct{}

// Open implements mqtt.Store.
func (DiscardStore) Open() {}

// Put implements mqtt.Store: it drops the packet.
func (DiscardStore) Put(string, packets.ControlPacket) {}

// Get implements mqtt.Store: nothing is there.
func (DiscardStore) Get(string) packets.ControlPacket { return nil }

// All implements mqtt.Store: no keys.
func (DiscardStore) All() []string { return nil }

// Del implements mqtt.Store.
func (DiscardStore) Del(string) {}

// Close implements mqtt.Store.
func (DiscardStore) Close() {}

// Reset implements mqtt.Store.
func (DiscardStore) Reset() {}
