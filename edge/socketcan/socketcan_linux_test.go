package socketcan

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/pitwall/pitwall/edge/can"
	"github.com/pitwall/pitwall/simulator"
)

// On a kernel without CAN (this machine's), New says so plainly; on one
// with CAN, an interface that does not exist is refused by name.
func TestOpenSaysWhenCANIsMissing(t *testing.T) {
	dec, err := can.NewDecoder("pitwall.dbc", simulator.DBC, 100)
	if err != nil {
		t.Fatal(err)
	}
	fd, sockErr := unix.Socket(unix.AF_CAN, unix.SOCK_RAW, unix.CAN_RAW)
	if sockErr == nil {
		unix.Close(fd)
	}
	_, err = New(Config{Interface: "can0", Decoder: dec, Car: "44"})
	if sockErr != nil {
		if !errors.Is(err, ErrNoCAN) {
			t.Fatalf("kernel refuses AF_CAN (%v) but New says %v", sockErr, err)
		}
		if _, err := Open("can0"); !errors.Is(err, ErrNoCAN) {
			t.Fatalf("Open: %v, want ErrNoCAN", err)
		}
		return
	}
	if _, err := Open("nosuchcan9"); err == nil || errors.Is(err, ErrNoCAN) {
		t.Fatalf("kernel has CAN, Open of a missing interface: %v", err)
	}
}
