// Package codec reads and writes the sensor message formats parkd takes in
// (docs/sensors.md): each format has a Decode, which the ingest runs on
// every message, and an Encode, which the simulator uses to speak like the
// hardware and the tests use to check that Encode then Decode gives back
// what went in. The layouts are written here once.
//
// # Formats
//
//   - The native format: a JSON object per reading on
//     parking/v1/sensors/{sensor id}/up (DecodeNative, EncodeNative).
//   - LoRaWAN network-server envelopes, which carry a sensor's raw radio
//     frame with the server's receive time, frame counter and gateway
//     reception: The Things Stack v3 (DecodeTTS, EncodeTTS) and ChirpStack
//     v4 (DecodeChirpStack, EncodeChirpStack), each as an Uplink.
//   - The radio frames of the parking sensors, each as a Frame: Bosch
//     TPS110 (DecodeBoschTPS110, EncodeBoschTPS110) and Nwave NPS405 and
//     NPS310 (DecodeNwaveNPS405, …). FrameCodecFor picks a model's layout.
//
// LoRaWANDecoder joins an envelope to the frames through the registry: the
// DevEUI names the space, the space's model the frame layout, and
// Uplink.Reading makes the reading.
//
// # Errors
//
// A message that does not parse gets an EINVALID *occupancy.Error whose
// message says what is wrong; one from a sensor the registry lacks gets an
// *UnknownSensorError. Decoders check the format only: the caller checks
// the reading's ranges with Reading.Validate. An oversized message (over
// MaxPayload) is rejected before it is parsed.
package codec
