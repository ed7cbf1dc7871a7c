package source

import (
	"context"
	"io"
	"log/slog"
	"time"
)

// Device is a device a source keeps open, for Reopen: a serial port, an
// SLCAN adapter, a CAN interface.
type Device[D io.Closer] struct {
	// Kind prefixes the log lines: "serial", "slcan", "socketcan".
	Kind string
	// Noun names the device in the log lines: "port", "adapter",
	// "interface".
	Noun string
	// Every is the pause between attempts to open the device while it is
	// unavailable; after the device is lost, the first attempt comes
	// Every/10 later. Required.
	Every time.Duration
	// Log receives one line when an outage starts and one when it ends.
	// Required.
	Log *slog.Logger
	// Open opens the device. Required.
	Open func() (D, error)
	// Read reads the open device until it fails or ctx is done. Required.
	Read func(ctx context.Context, d D) error
}

// Reopen runs dev until ctx is done: it opens the device, reads it until
// it fails, closes it and opens it again, pausing dev.Every between
// attempts that fail. Each outage is logged once when it starts and once
// when it ends, and reported through sink.Up; when ctx is done the source
// is reported down.
func Reopen[D io.Closer](ctx context.Context, sink Sink, dev Device[D]) {
	var down time.Time // start of the current outage; zero while up
	for ctx.Err() == nil {
		d, err := dev.Open()
		if err != nil {
			if down.IsZero() {
				down = time.Now()
				dev.Log.Warn(dev.Kind+": "+dev.Noun+" unavailable; reopening until it is back", "every", dev.Every, "err", err)
				sink.Up(false, err)
			}
			Sleep(ctx, dev.Every)
			continue
		}
		if !down.IsZero() {
			dev.Log.Info(dev.Kind+": "+dev.Noun+" back", "after", time.Since(down).Round(time.Millisecond))
			down = time.Time{}
		}
		sink.Up(true, nil)
		err = dev.Read(ctx, d)
		d.Close()
		if ctx.Err() != nil {
			break
		}
		down = time.Now()
		dev.Log.Warn(dev.Kind+": "+dev.Noun+" lost; reopening until it is back", "every", dev.Every, "err", err)
		sink.Up(false, err)
		Sleep(ctx, dev.Every/10)
	}
	sink.Up(false, nil)
}
