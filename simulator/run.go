package simulator

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/pitwall/pitwall/telemetry"
	"github.com/pitwall/pitwall/track"
)

// batchTicks is how many ticks Run simulates between flushes, truth
// writes and pacing: 10 ms of sensor time.
const batchTicks = 10

// Run simulates cfg and sends the data to cfg.Out until the simulation
// ends (Laps, Duration) or ctx is cancelled, which is a clean stop.
func Run(ctx context.Context, cfg Config) error {
	sim, err := New(cfg)
	if err != nil {
		return err
	}
	cfg = sim.Config()
	target, err := ParseTarget(cfg.Out)
	if err != nil {
		return err
	}
	out, stopAbort, err := openOutput(ctx, target, cfg)
	if err != nil {
		return err
	}
	err = drive(ctx, sim, out)
	stopAbort()
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if ctx.Err() != nil {
		return nil // cancelled: a clean stop, whatever the closed port said
	}
	return err
}

// openOutput opens the output named by t. For ports, it also arranges for
// ctx's cancellation to close the port, so a write blocked on a full pty
// returns; the returned stop undoes that and waits for it.
func openOutput(ctx context.Context, t Target, cfg Config) (output, func(), error) {
	noop := func() {}
	switch t.Scheme {
	case "mqtt", "kafka", "udp":
		if cfg.PTY {
			return nil, nil, fmt.Errorf("%w: --pty needs a serial, slcan or nmea output", ErrConfig)
		}
		if t.Scheme == "udp" {
			o, err := newUDPOutput(t, cfg)
			return o, noop, err
		}
		if t.Scheme == "mqtt" {
			if t.Password == "" {
				t.Password = cfg.MQTTPassword
			}
			o, err := newMQTTOutput(t)
			return o, noop, err
		}
		o, err := newKafkaOutput(t, cfg.Security, cfg.Logger)
		return o, noop, err
	}
	if t.Scheme == "slcan" && cfg.Cars != 1 {
		return nil, nil, fmt.Errorf("%w: slcan carries one car (one CAN bus); run with --cars 1", ErrConfig)
	}
	if t.Scheme == "nmea" && cfg.Cars != 1 {
		return nil, nil, fmt.Errorf("%w: an NMEA receiver is in one car; run with --cars 1", ErrConfig)
	}
	var p *port
	var err error
	switch {
	case cfg.PTY && t.Path != "":
		return nil, nil, fmt.Errorf("%w: --pty makes its own port: use --out %s without a path", ErrConfig, t.Scheme)
	case cfg.PTY:
		if p, err = openPTY(); err == nil {
			stdout := cfg.Stdout
			if stdout == nil {
				stdout = os.Stdout
			}
			fmt.Fprintln(stdout, p.name)
			cfg.Logger.Info("sim: writing to a pty; open the path printed on stdout", "path", p.name, "format", t.Scheme)
		}
	case t.Path == "":
		return nil, nil, fmt.Errorf("%w: %s output needs a path, or --pty", ErrConfig, t.Scheme)
	default:
		p, err = openPort(t)
	}
	if err != nil {
		return nil, nil, err
	}
	closed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() { p.Close(); close(closed) })
	stopAbort := func() {
		switch {
		case !stop():
			<-closed
		case ctx.Err() != nil:
			// Cancelled, but the AfterFunc had not started yet (ctx.Err
			// is set before the context's children are cancelled): close
			// here, or Close's flush would block on a reader that has gone.
			p.Close()
		}
	}
	if t.Scheme == "slcan" {
		return newSLCANOutput(p, cfg.Logger), stopAbort, nil
	}
	if t.Scheme == "nmea" {
		return newNMEAOutput(p.w, p), stopAbort, nil
	}
	return newLineOutput(p.w, p), stopAbort, nil
}

// drive steps the simulation, paced to cfg.Speed, into out, and writes
// the truth file.
func drive(ctx context.Context, sim *Sim, out output) (err error) {
	cfg := sim.Config()
	truth, closeTruth, err := openTruth(cfg.Truth, len(sim.Track().SectorAt)+1)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := closeTruth(); err == nil && cerr != nil {
			err = fmt.Errorf("simulator: truth: %w", cerr)
		}
	}()
	faultTruth, closeFaults, err := openFaultTruth(cfg.FaultTruth)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := closeFaults(); err == nil && cerr != nil {
			err = fmt.Errorf("simulator: fault truth: %w", cerr)
		}
	}()
	var faults []FaultEvent
	for i := range sim.Cars() {
		if err := out.Catalog(sim.Catalog(i)); err != nil {
			return err
		}
	}
	startWall, startNs := paceOrigin(cfg, time.Now()), sim.startNs
	var laps []telemetry.Lap
	for batch := 0; ctx.Err() == nil; batch++ {
		more := true
		for i := 0; i < batchTicks && more; i++ {
			if more, err = sim.Step(out.Frame); err != nil {
				return fmt.Errorf("simulator: output: %w", err)
			}
		}
		faults = sim.DrainFaults(faults[:0])
		for i := range faults {
			cfg.Logger.Info("sim: fault "+faults[i].Event, "fault", faults[i].Fault.String(), "at", time.Unix(0, faults[i].TimeNs).UTC())
			if err := WriteFaultTruthRow(faultTruth, &faults[i]); err != nil {
				return fmt.Errorf("simulator: fault truth: %w", err)
			}
		}
		laps = sim.DrainLaps(laps[:0])
		for i := range laps {
			if err := WriteTruthRow(truth, &laps[i]); err != nil {
				return fmt.Errorf("simulator: truth: %w", err)
			}
		}
		if cfg.Speed > 0 || batch%100 == 0 || !more {
			if err := out.Flush(); err != nil {
				return fmt.Errorf("simulator: output: %w", err)
			}
		}
		if !more {
			break
		}
		if cfg.Speed > 0 {
			wait := time.Duration(float64(sim.TimeNs()-startNs)/cfg.Speed) - time.Since(startWall)
			sleep(ctx, wait)
		}
	}
	cfg.Logger.Info("sim: done", "cars", len(sim.cars), "samples", sim.Samples(),
		"sensor_time", time.Duration(sim.TimeNs()-startNs).Round(time.Millisecond),
		"wall_time", time.Since(startWall).Round(time.Millisecond))
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// openTruth creates the truth CSV, or a writer that discards.
func openTruth(path string, sectors int) (io.Writer, func() error, error) {
	if path == "" {
		return io.Discard, func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, fmt.Errorf("simulator: truth: %w", err)
	}
	w := bufio.NewWriter(f)
	if err := WriteTruthHeader(w, sectors); err != nil {
		f.Close()
		return nil, nil, err
	}
	return w, func() error { return errors.Join(w.Flush(), f.Close()) }, nil
}

// openFaultTruth creates the fault truth CSV, or a writer that discards.
func openFaultTruth(path string) (io.Writer, func() error, error) {
	if path == "" {
		return io.Discard, func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, fmt.Errorf("simulator: fault truth: %w", err)
	}
	w := bufio.NewWriter(f)
	if err := WriteFaultTruthHeader(w); err != nil {
		f.Close()
		return nil, nil, err
	}
	return w, func() error { return errors.Join(w.Flush(), f.Close()) }, nil
}

// ListTracks prints the built-in tracks.
func ListTracks(w io.Writer) error {
	ts, err := track.Builtin()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tLENGTH\tSECTORS\tPIT LIMIT\tSTART/FINISH\tTRACK")
	for _, t := range ts {
		fmt.Fprintf(tw, "%s\t%.3f km\t%d\t%.0f km/h\t%.5f,%.5f\t%s\n", t.Def.Name, t.Length/1000,
			len(t.SectorAt)+1, t.Def.PitLimit, t.Def.Origin.Lat, t.Def.Origin.Lon, t.Def.Title)
	}
	return tw.Flush()
}

// paceOrigin is the wall-clock time a run's first sample is due at.
func paceOrigin(cfg Config, now time.Time) time.Time {
	if cfg.PaceFromStart && cfg.Start.Before(now) {
		return cfg.Start
	}
	return now
}
