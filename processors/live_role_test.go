package processors

import (
	"testing"

	"github.com/pitwall/pitwall/telemetry"
)

// TestLiveCarRoles: a live record's channels are found by id, whether the
// id is small (the dense table) or huge (the map beside it), and other
// channels change nothing.
func TestLiveCarRoles(t *testing.T) {
	cat := &telemetry.ChannelCatalog{Car: "c1", Channels: []telemetry.Channel{
		{ID: 3, Name: telemetry.ChanSpeed}, {ID: 7, Name: telemetry.ChanThrottle}, {ID: 8, Name: "oil_temp"},
		{ID: 1 << 20, Name: telemetry.ChanRPM}, {ID: maxDenseRole, Name: telemetry.ChanGear},
	}}
	lc := newLiveCar(cat, false)
	if len(lc.roles) > 8 {
		t.Fatalf("dense roles %d long, want up to the highest small id", len(lc.roles))
	}
	lc.frame(&telemetry.Frame{Samples: []telemetry.Sample{{ID: 2, Value: 9}, {ID: 3, Value: 201.5}, {ID: 7, Value: 0.75},
		{ID: 8, Value: 110}, {ID: 99, Value: 1}, {ID: maxDenseRole, Value: 6}, {ID: 1 << 20, Value: 11800}, {ID: 1 << 30, Value: 5}}})
	if !lc.hasSpeed || lc.speed != 201.5 || lc.throttle != 0.75 || lc.rpm != 11800 || lc.gear != 6 {
		t.Fatalf("speed %v (has %v), throttle %v, rpm %v, gear %v", lc.speed, lc.hasSpeed, lc.throttle, lc.rpm, lc.gear)
	}
	if lc.brake != 0 || lc.x != 0 || lc.y != 0 || lc.pit {
		t.Fatalf("channels without a role changed the record: brake %v, x %v, y %v, pit %v", lc.brake, lc.x, lc.y, lc.pit)
	}
}
