// Package slcan is the edge's CAN source for SLCAN (Lawicel ASCII)
// adapters on a serial port. The port is a serial.Port (opened, read and
// reopened as the serial source's); frames are can.Frame values decoded
// into channels by a can.Decoder (a DBC file). This package owns only the
// SLCAN protocol: the open sequence, the record grammar (ParseFrame,
// AppendFrame) and turning stamped CAN frames into telemetry frames.
//
// # Data flow
//
//	open port ──"C\r Sn\r Z1\r O\r"──▶ adapter (close, bit rate, timestamps, open)
//	adapter ──records ended by "\r" (or BEL)──▶ stream
//	   t/T/r/R frame ──ParseFrame──▶ can.Decoder.Decode (DBC) ──▶ samples
//	   consecutive frames with one Z1 stamp ──▶ one telemetry.Frame ──▶ Sink.Frame
//	   "\r" / BEL   replies to the open sequence; BEL is counted and logged
//	   F<flags>     adapter status; non-zero flags are counted
//	   anything else, frames shorter than their DBC message ──▶ Sink.Bad
//
// The catalog comes from the DBC (see package can) and is handed to the
// sink when Run starts. Frames of ids the DBC does not describe are
// counted (source.EventUnknownID), not dead-lettered.
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
// As in package serial (source.Reopen): the port is reopened after every
// outage (logged once when it starts and once when it ends) and the open
// sequence sent again. The adapter takes Sn and Zn only while closed,
// hence the leading "C".
package slcan
