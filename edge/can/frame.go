package can

// Frame is one classic CAN frame, as an SLCAN adapter or a SocketCAN
// socket delivers it.
type Frame struct {
	// ID is the 11-bit (standard) or 29-bit (extended) identifier.
	ID uint32
	// Extended is true for a 29-bit identifier.
	Extended bool
	// Remote is true for a remote-transmission request: no data.
	Remote bool
	// Len is the data length code, 0–8.
	Len uint8
	// Data holds Len bytes (none for a remote frame).
	Data [8]byte
	// Stamp is the adapter's millisecond timestamp (SLCAN's Z1), 0–59999,
	// wrapping every minute; -1 when the frame carries none.
	Stamp int32
}

// Maximum identifiers.
const (
	MaxStandardID = 0x7FF      // 11 bits
	MaxExtendedID = 0x1FFFFFFF // 29 bits
)
