// Package socketcan is the edge's thin adapter for Linux SocketCAN: a raw
// CAN_RAW socket bound to an interface (can0, vcan0), each struct can_frame
// parsed into a can.Frame and decoded by a can.Decoder (a DBC file) into
// one telemetry frame stamped with its receive time.
//
//	socket(AF_CAN, SOCK_RAW, CAN_RAW) ──bind(ifindex)──▶ read 16-byte can_frame
//	   ──ParseFrame──▶ can.Decoder.Decode ──▶ Sink.Frame
//
// A kernel built without CAN (like this project's development machine)
// refuses the socket with EAFNOSUPPORT: Open then fails with ErrNoCAN,
// which says so plainly, and the edge refuses to start with such an input.
// Use an SLCAN adapter (package slcan) there. On other systems Open fails
// with ErrUnsupported. Error frames (CAN_ERR_FLAG) are counted as events
// (source.EventBusError). A lost interface is reopened every second
// (source.Reopen).
package socketcan
