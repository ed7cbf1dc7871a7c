package simulator

import (
	"testing"
	"time"
)

// A run paced from its Start (pitwall up) owes its samples from then: the
// time the pipeline took to start is caught up, not added to every
// sample's delay. Otherwise, and with a Start still to come, pacing
// begins when driving does.
func TestPaceOrigin(t *testing.T) {
	now := time.Date(2026, 12, 6, 14, 0, 0, 0, time.UTC)
	began := now.Add(-700 * time.Millisecond)
	for _, c := range []struct {
		cfg  Config
		want time.Time
	}{
		{Config{Start: began, PaceFromStart: true}, began},
		{Config{Start: began}, now},
		{Config{Start: now.Add(time.Hour), PaceFromStart: true}, now},
		{Config{Start: DefaultEpoch}, now},
	} {
		if got := paceOrigin(c.cfg, now); !got.Equal(c.want) {
			t.Errorf("%+v: paced from %v, want %v", c.cfg, got, c.want)
		}
	}
}
