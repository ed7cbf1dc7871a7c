package simulator

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

// The GPS receiver and game outputs parse, and refuse what cannot work.
func TestGameTargets(t *testing.T) {
	for _, good := range []string{"nmea:/tmp/x.nmea", "nmea:/dev/pts/9?baud=115200", "udp://127.0.0.1:20777?format=f1-24", "udp://[::1]:5300?format=forza"} {
		if _, err := ParseTarget(good); err != nil {
			t.Errorf("ParseTarget(%q): %v", good, err)
		}
	}
	for _, bad := range []string{"udp://127.0.0.1:20777", "udp://127.0.0.1:20777?format=gt7", "udp://127.0.0.1?format=f1-24",
		"udp://127.0.0.1:20777?format=f1-24&rate=60", "udp://127.0.0.1:20777/x?format=forza"} {
		if _, err := ParseTarget(bad); !errors.Is(err, ErrConfig) {
			t.Errorf("ParseTarget(%q): %v, want ErrConfig", bad, err)
		}
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		out  string
		cars int
	}{{"nmea:" + filepath.Join(dir, "gps.nmea"), 2}, {"udp://127.0.0.1:9?format=forza", 2}, {"udp://127.0.0.1:9?format=f1-24", 23}} {
		err := Run(context.Background(), Config{Cars: tc.cars, Laps: 1, Out: tc.out, Logger: quietLogger()})
		if !errors.Is(err, ErrConfig) {
			t.Errorf("%s with %d cars: %v, want ErrConfig", tc.out, tc.cars, err)
		}
	}
}
