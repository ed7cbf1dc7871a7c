// Package slcan is the edge's CAN source for SLCAN (Lawicel ASCII)
// adapters on a serial port, with signals decoded into channels by a DBC
// file (go.einride.tech/can/pkg/dbc parses it; this package maps each
// dbc.SignalDef to a decoder itself: start bit, size, byte order,
// signedness, factor, offset, multiplexing).
//
// # Data flow
//
//	open port ──"C\r Sn\r Z1\r O\r"──▶ adapter (close, bit rate, timestamps, open)
//	adapter ──records ended by "\r" (or BEL)──▶ stream
//	   t/T/r/R frame ──ParseFrame──▶ Decoder.Decode (DBC) ──▶ samples
//	   consecutive frames with one Z1 stamp ──▶ one telemetry.Frame ──▶ Sink.Frame
//	   "\r" / BEL   replies to the open sequence; BEL is counted and logged
//	   F<flags>     adapter status; non-zero flags are counted
//	   anything else, frames shorter than their DBC message ──▶ Sink.Bad
//
// The catalog comes from the DBC: channel ids 0.. in DBC order, named after
// the signals, with the DBC's unit and range, and the rate of the
// message's GenMsgCycleTime attribute (or the configured default). It is
// handed to the sink when Run starts.
//
// Frames of ids the DBC does not describe are counted (EventUnknownID), not
// dead-lettered: a real bus carries many messages nobody decodes. Remote
// frames carry no data and yield no samples.
//
// # Time and sequence
//
// Z1 timestamps count milliseconds and wrap every minute; the sensor time
// of a frame is the instant within half a minute of its receive time that
// has its stamp. Without timestamps it is the receive time. Sequence
// numbers start at the microsecond clock when the source is built, so a
// restarted edge never repeats one.
//
// # Outages
//
// As in package serial: the port is reopened after every outage (logged
// once when it starts and once when it ends) and the open sequence sent
// again. The adapter takes Sn and Zn only while closed, hence the leading
// "C".
package slcan
