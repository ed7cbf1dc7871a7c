package simulator

import (
	"testing"

	"github.com/pitwall/pitwall/telemetry"
)

// The SLCAN command reader parses whatever the host writes to the port.
func FuzzSLCANCommand(f *testing.F) {
	for _, seed := range []string{"V", "O", "C", "S6", "Z1", "t1234", "", "\n\nO", "S", "Z", "\x00\xff"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, cmd []byte) {
		o := &slcanOutput{open: true, stamps: true}
		switch reply := o.command(cmd); reply {
		case "\r", "\a", "V1013\r", "v0107\r", "NPW01\r", "F00\r", "z\r":
		default:
			t.Fatalf("%q: reply %q", cmd, reply)
		}
	})
}

// Output URLs and --rate come from users.
func FuzzParseTargetAndRates(f *testing.F) {
	for _, seed := range []string{"serial:-", "slcan:/dev/ttyACM0?baud=921600", "mqtt://127.0.0.1:1883/x", "kafka://h:1/t", "mqtts://u:p@h:1/x?ca=c.pem&qos=1", "mqtts://h:1?cert=c&key=k", "rpm=100,speed=50", "a=", "=1"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if tg, err := ParseTarget(s); err == nil && tg.Scheme == "" {
			t.Fatalf("%q parsed without a scheme", s)
		}
		if rates, err := ParseRates(s); err == nil {
			for name, hz := range rates {
				if !telemetry.ValidName(name) || hz <= 0 {
					t.Fatalf("%q gives rate %q=%d", s, name, hz)
				}
			}
		}
	})
}
