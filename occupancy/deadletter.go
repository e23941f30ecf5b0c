package occupancy

import "time"

// DeadLetter is a rejected sensor message (malformed, out of contract, from
// an unknown sensor, with a wrong sensor clock, a retained one the broker
// replayed, or one whose handling panicked), kept for staff to inspect.
type DeadLetter struct {
	ID         string    `json:"id"` // store's entry id; empty when adding
	ReceivedAt time.Time `json:"received_at"`
	Topic      string    `json:"topic"`
	Result     string    `json:"result"` // invalid, unknown_sensor, clock, retained or panic
	Reason     string    `json:"reason"`
	Payload    string    `json:"payload"` // at most MaxDeadLetterPayload bytes
}

// MaxDeadLetterPayload is how much of a rejected payload a DeadLetter keeps.
const MaxDeadLetterPayload = 1 << 10
