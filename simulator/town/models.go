package town

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/qiuai/parking/occupancy"
)

// DevEUI returns a deterministic LoRaWAN DevEUI, 16 lower-case hex digits,
// for a sensor id: the first 8 bytes of its SHA-256, with the locally
// administered bit set so it never claims a real vendor's block.
func DevEUI(sensorID string) string {
	sum := sha256.Sum256([]byte("qiuai-parking:" + sensorID))
	sum[0] = sum[0]&^0x01 | 0x02
	return hex.EncodeToString(sum[:8])
}

// AssignModels gives the spaces the models in turn, in slice order, and each
// space of a LoRaWAN model the DevEUI of its sensor id as its sensor id. It
// changes spaces in place. An empty list changes nothing.
func AssignModels(spaces []occupancy.Space, models []occupancy.Model) {
	if len(models) == 0 {
		return
	}
	for i := range spaces {
		m := models[i%len(models)]
		spaces[i].Model = m
		if m.LoRaWAN() {
			spaces[i].SensorID = DevEUI(spaces[i].SensorID)
		}
	}
}

// hasModels reports whether any space has a model.
func hasModels(spaces []occupancy.Space) bool {
	for _, s := range spaces {
		if s.Model != "" {
			return true
		}
	}
	return false
}
