// Package can is what the edge's CAN sources share: the CAN Frame (as an
// SLCAN adapter or a SocketCAN socket delivers it) and the Decoder that
// turns frames into channel samples by a DBC file. go.einride.tech/can/pkg/dbc
// parses the DBC; this package maps each dbc.SignalDef to a decoder
// itself: start bit, size, byte order, signedness, factor, offset,
// multiplexing.
//
// # Data flow
//
//	edge/slcan     "t1008…\r" ──ParseFrame──┐
//	edge/socketcan struct can_frame ──ParseFrame──┴─▶ Frame ──Decoder.Decode──▶ []telemetry.Sample
//	DBC file ──LoadDBC / NewDecoder──▶ Decoder ──Catalog──▶ telemetry.ChannelCatalog
//
// The catalog comes from the DBC: channel ids 0.. in DBC order, named after
// the signals (MESSAGE.signal where two messages share a signal name), with
// the DBC's unit (made a valid channel unit) and range, and the rate of
// the message's GenMsgCycleTime attribute (or the configured default).
//
// Decode fails with ErrUnknownID for an id the DBC does not describe (a
// real bus carries many messages nobody decodes: sources count these, they
// do not dead-letter them) and with ErrShortFrame for fewer data bytes
// than the DBC message has. Remote frames carry no data and yield no
// samples. CAN FD (messages over 8 bytes) is not supported.
package can
