package socketcan

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/pitwall/pitwall/edge/can"
)

func TestParseFrame(t *testing.T) {
	b := make([]byte, FrameLen)
	binary.LittleEndian.PutUint32(b, 0x123)
	b[4] = 2
	b[8], b[9] = 0xAB, 0xCD
	f, err := ParseFrame(b)
	if err != nil || f.ID != 0x123 || f.Extended || f.Len != 2 || f.Data[0] != 0xAB || f.Data[1] != 0xCD || f.Stamp != -1 {
		t.Fatalf("%+v %v", f, err)
	}
	binary.LittleEndian.PutUint32(b, 0x1ABCDEF0|effFlag|rtrFlag)
	if f, err := ParseFrame(b); err != nil || !f.Extended || !f.Remote || f.ID != 0x1ABCDEF0 {
		t.Fatalf("%+v %v", f, err)
	}
	binary.LittleEndian.PutUint32(b, errFlag|4)
	if _, err := ParseFrame(b); !errors.Is(err, ErrErrorFrame) {
		t.Fatalf("error frame: %v", err)
	}
	b[0], b[3], b[4] = 1, 0, 9
	if _, err := ParseFrame(b); !errors.Is(err, ErrBadFrame) {
		t.Fatalf("length 9: %v", err)
	}
	if _, err := ParseFrame(b[:15]); !errors.Is(err, ErrBadFrame) {
		t.Fatalf("short: %v", err)
	}
}

func FuzzParseFrame(f *testing.F) {
	f.Add(make([]byte, FrameLen))
	f.Add([]byte{0x23, 1, 0, 0x80, 8, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := ParseFrame(b)
		if err == nil && (fr.Len > 8 || (!fr.Extended && fr.ID > can.MaxStandardID) || fr.ID > can.MaxExtendedID) {
			t.Fatalf("out of range: %+v", fr)
		}
	})
}
