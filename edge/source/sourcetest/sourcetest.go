// Package sourcetest records what a source hands its sink, for the tests
// of the source packages (as httptest does for handlers).
package sourcetest

import (
	"slices"
	"time"

	"github.com/pitwall/pitwall/telemetry"
)

// Sink is a source.Sink that keeps everything it is handed. Frames and
// catalogs are validated as the edge's emitter validates them, and an
// invalid one is refused with its error. Not safe for concurrent use.
type Sink struct {
	Frames   []telemetry.Frame
	Catalogs []telemetry.ChannelCatalog
	Reasons  map[string]int // bad input by reason
	Events   map[string]int // notes by event
	Ups      []Up
	Flushes  int
}

// Up is one call of Sink.Up.
type Up struct {
	Up  bool
	Err error
}

// New returns an empty Sink.
func New() *Sink { return &Sink{Reasons: map[string]int{}, Events: map[string]int{}} }

// Frame keeps a copy of f.
func (s *Sink) Frame(f *telemetry.Frame, _ time.Time) error {
	if err := f.Validate(); err != nil {
		return err
	}
	cp := *f
	cp.Samples = slices.Clone(f.Samples)
	s.Frames = append(s.Frames, cp)
	return nil
}

// Catalog keeps a copy of c.
func (s *Sink) Catalog(c *telemetry.ChannelCatalog, _ time.Time) error {
	if err := c.Validate(); err != nil {
		return err
	}
	cp := *c
	cp.Channels = slices.Clone(c.Channels)
	s.Catalogs = append(s.Catalogs, cp)
	return nil
}

// Bad counts bad input by reason.
func (s *Sink) Bad(reason string, _ []byte, _ error, _ time.Time) { s.Reasons[reason]++ }

// Note counts events.
func (s *Sink) Note(event string, _ error) { s.Events[event]++ }

// Up keeps the call.
func (s *Sink) Up(up bool, err error) { s.Ups = append(s.Ups, Up{up, err}) }

// Flush counts flushes.
func (s *Sink) Flush() error { s.Flushes++; return nil }
