package socketcan

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/pitwall/pitwall/edge/can"
)

// Errors of the adapter.
var (
	// ErrNoCAN: the kernel has no CAN support.
	ErrNoCAN = errors.New("socketcan: this kernel has no CAN support (socket(AF_CAN) is refused); load the can and can_raw modules, or use an SLCAN adapter (--in slcan:/dev/ttyACM0?...)")
	// ErrUnsupported: SocketCAN exists only on Linux.
	ErrUnsupported = errors.New("socketcan: SocketCAN exists only on Linux; use an SLCAN adapter")
	// ErrBadFrame: bytes that are not a struct can_frame.
	ErrBadFrame = errors.New("socketcan: malformed can_frame")
	// ErrErrorFrame: the controller reported a bus error.
	ErrErrorFrame = errors.New("socketcan: bus error frame")
	// ErrConfig reports a Config that cannot work.
	ErrConfig = errors.New("socketcan: bad config")
)

// FrameLen is the size of a classic struct can_frame.
const FrameLen = 16

// Flags in can_id.
const (
	effFlag = 0x80000000 // extended frame format
	rtrFlag = 0x40000000 // remote transmission request
	errFlag = 0x20000000 // error frame
)

// ParseFrame decodes a struct can_frame in the host's (little-endian)
// byte order: can_id u32, len u8, 3 bytes padding, data[8].
func ParseFrame(b []byte) (can.Frame, error) {
	f := can.Frame{Stamp: -1}
	if len(b) != FrameLen {
		return f, fmt.Errorf("%w: %d bytes, want %d", ErrBadFrame, len(b), FrameLen)
	}
	id := binary.LittleEndian.Uint32(b)
	if id&errFlag != 0 {
		return f, fmt.Errorf("%w: class %08X", ErrErrorFrame, id&can.MaxExtendedID)
	}
	f.Extended, f.Remote = id&effFlag != 0, id&rtrFlag != 0
	if f.Extended {
		f.ID = id & can.MaxExtendedID
	} else {
		f.ID = id & can.MaxStandardID
	}
	if b[4] > 8 {
		return f, fmt.Errorf("%w: length %d", ErrBadFrame, b[4])
	}
	f.Len = b[4]
	copy(f.Data[:], b[8:8+f.Len])
	return f, nil
}
