package readmodel

import (
	"time"

	"github.com/qiuai/parking/occupancy"
)

// kept is a free space's state as the view holds it: occupancy.SpaceState
// without its pointers and strings, 72 bytes, so that holding the state of
// every free space of a large registry stays cheap (a SpaceState with its
// health is about 200 bytes). The status is the view's, the id its own.
type kept struct {
	since, seen int64 // Unix ms; 0 for the zero time
	ts          int64 // sensor time, Unix µs; 0 for the zero time
	seq         uint64
	battery     int32
	rssi        int32
	temp, snr   float64
	has         uint8  // which of temp, rssi and snr were reported
	extra       *extra // firmware and reset cause, rarely reported
}

// extra are the rare string fields of a kept state.
type extra struct{ firmware, resetCause string }

const (
	hasTemp = 1 << iota
	hasRSSI
	hasSNR
)

// keep packs st.
func keep(st occupancy.SpaceState) *kept {
	k := &kept{since: unixMS(st.Since), seen: unixMS(st.LastSeen), seq: st.Seq, battery: int32(st.BatteryMV)}
	if !st.SensorTS.IsZero() {
		k.ts = st.SensorTS.UnixMicro()
	}
	h := st.Health
	if h.TempC != nil {
		k.temp, k.has = *h.TempC, k.has|hasTemp
	}
	if h.RSSI != nil {
		k.rssi, k.has = int32(*h.RSSI), k.has|hasRSSI
	}
	if h.SNR != nil {
		k.snr, k.has = *h.SNR, k.has|hasSNR
	}
	if h.Firmware != "" || h.ResetCause != "" {
		k.extra = &extra{firmware: h.Firmware, resetCause: h.ResetCause}
	}
	return k
}

// state unpacks k as the state of free space id.
func (k *kept) state(id string) occupancy.SpaceState {
	st := occupancy.SpaceState{SpaceID: id, Status: occupancy.StatusFree, Since: msTime(k.since),
		LastSeen: msTime(k.seen), Seq: k.seq, BatteryMV: int(k.battery)}
	if k.ts != 0 {
		st.SensorTS = time.UnixMicro(k.ts).UTC()
	}
	if k.has&hasTemp != 0 {
		t := k.temp
		st.Health.TempC = &t
	}
	if k.has&hasRSSI != 0 {
		r := int(k.rssi)
		st.Health.RSSI = &r
	}
	if k.has&hasSNR != 0 {
		s := k.snr
		st.Health.SNR = &s
	}
	if k.extra != nil {
		st.Health.Firmware, st.Health.ResetCause = k.extra.firmware, k.extra.resetCause
	}
	return st
}

func unixMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func msTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
