package simulator

import (
	"testing"

	"github.com/pitwall/pitwall/telemetry"
)

// The GPS receiver's four channels are the receiver's (they drop out
// together) and never glitch; fuel and the pit limiter never glitch
// either; every other standard channel may.
func TestStandardChannelFlags(t *testing.T) {
	gps := map[string]bool{telemetry.ChanGPSLat: true, telemetry.ChanGPSLon: true, telemetry.ChanGPSSpeed: true, telemetry.ChanGPSHeading: true}
	calm := map[string]bool{telemetry.ChanFuel: true, telemetry.ChanPitLimiter: true}
	for _, c := range standardChannels(25) {
		switch {
		case gps[c.Name] && (!c.gps || c.glitch):
			t.Errorf("%s: gps %v glitch %v, want a receiver channel that never glitches", c.Name, c.gps, c.glitch)
		case calm[c.Name] && (c.gps || c.glitch):
			t.Errorf("%s: gps %v glitch %v, want neither", c.Name, c.gps, c.glitch)
		case !gps[c.Name] && !calm[c.Name] && (c.gps || !c.glitch):
			t.Errorf("%s: gps %v glitch %v, want a sensor that may glitch", c.Name, c.gps, c.glitch)
		}
	}
}
