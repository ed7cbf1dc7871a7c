package source

import (
	"time"

	"github.com/pitwall/pitwall/telemetry"
)

// Sink receives what a source decodes; the edge's emitter implements it,
// one per source, used by that source's goroutine only. Frame and Catalog
// copy what they keep, so the source may reuse f and c.
type Sink interface {
	// Frame takes one frame, received at recv; an error means the frame
	// breaks the model's rules (the source reports it as bad input).
	Frame(f *telemetry.Frame, recv time.Time) error
	// Catalog takes a car's complete channel catalog; errors as Frame.
	Catalog(c *telemetry.ChannelCatalog, recv time.Time) error
	// Bad takes input that could not be decoded: reason is one of the
	// Reason names (counted per reason, sent to the dead-letter topic),
	// raw the offending bytes.
	Bad(reason string, raw []byte, err error, recv time.Time)
	// Note counts an event that is not bad input, one of the Event names.
	Note(event string, err error)
	// Up reports whether the source's device or connection is open.
	Up(up bool, err error)
	// Flush makes everything taken since the last Flush durable (in the
	// spool). Sources flush after every read, before reading again.
	Flush() error
}

// SessionKeeper is implemented by sinks that remember each car's session
// (across restarts too): a frame of a car that has not announced its
// channels on this port yet gets the remembered session.
type SessionKeeper interface {
	Session(car string) (string, bool)
}
