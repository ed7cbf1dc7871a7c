package edge

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/pitwall/pitwall/edge/nmea"
	"github.com/pitwall/pitwall/edge/serial"
	"github.com/pitwall/pitwall/edge/udp"
)

// The builders of the GPS receiver and racing game inputs (builderFor in
// sources.go names them).

// nmeaSource: nmea:PATH?car=ID[&baud=9600][&rate=10][&session=S]: an NMEA
// 0183 GPS receiver (package edge/nmea).
func nmeaSource(in Input, log *slog.Logger) (runner, error) {
	p := in.Params
	if err := knownParams(in, "car", "baud", "rate", "session"); err != nil {
		return nil, err
	}
	baud, err := intParam(in, "baud")
	if err != nil {
		return nil, err
	}
	rate, err := rateParam(in)
	if err != nil {
		return nil, err
	}
	s, err := nmea.New(nmea.Config{Port: serial.Port{Path: in.Path, Baud: baud}, Car: p.Get("car"), Session: p.Get("session"),
		RateHz: rate, Name: in.Name, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, in.Name, err)
	}
	return s, nil
}

// udpSource: udp://HOST:PORT?format=f1-24[&car=PREFIX][&rate=20][&session=S][&record=DIR]
// or udp://HOST:PORT?format=forza&car=ID[&rate=60][&session=S][&record=DIR]: a
// racing game's telemetry (package edge/udp), received on exactly
// HOST:PORT; record=DIR also writes each car's positions and lap markers
// to DIR/CAR.csv for `pitwall track derive --planar`.
func udpSource(in Input, log *slog.Logger) (runner, error) {
	p := in.Params
	if err := knownParams(in, "format", "car", "rate", "session", "record"); err != nil {
		return nil, err
	}
	addr, ok := strings.CutPrefix(in.Path, "//")
	if !ok || strings.Contains(addr, "/") {
		return nil, fmt.Errorf("%w: input %s: want udp://HOST:PORT?format=f1-24|forza", ErrConfig, in.Name)
	}
	rate, err := rateParam(in)
	if err != nil {
		return nil, err
	}
	s, err := udp.New(udp.Config{Addr: addr, Format: p.Get("format"), Car: p.Get("car"), Session: p.Get("session"),
		RateHz: rate, Record: p.Get("record"), Name: in.Name, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, in.Name, err)
	}
	return s, nil
}

// rateParam reads rate=HZ; 0 when absent.
func rateParam(in Input) (float64, error) {
	r := in.Params.Get("rate")
	if r == "" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(r, 64)
	if err != nil || !(v > 0) {
		return 0, fmt.Errorf("%w: input %s: rate=%q is not a rate in Hz", ErrConfig, in.Name, r)
	}
	return v, nil
}

// knownParams refuses query parameters the input does not take, so a
// typo (fromat=f1-24) is an error, not a default.
func knownParams(in Input, names ...string) error {
	for k := range in.Params {
		found := false
		for _, n := range names {
			found = found || k == n
		}
		if !found {
			return fmt.Errorf("%w: input %s: unknown parameter %q (want %s)", ErrConfig, in.Name, k, strings.Join(names, ", "))
		}
	}
	return nil
}
