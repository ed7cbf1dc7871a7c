package edge

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/pitwall/pitwall/edge/mqtt"
	"github.com/pitwall/pitwall/edge/slcan"
	"github.com/pitwall/pitwall/edge/socketcan"
)

// buildOtherSource makes the slcan, mqtt and socketcan sources.
func (e *Edge) buildOtherSource(in Input, stats *sourceStats) (*source, error) {
	p := in.Params
	switch in.Kind {
	case "slcan":
		dec, err := dbcParam(in)
		if err != nil {
			return nil, err
		}
		baud, err := intParam(in, "baud")
		if err != nil {
			return nil, err
		}
		bitrate, err := intParam(in, "bitrate")
		if err != nil {
			return nil, err
		}
		s, err := slcan.New(slcan.Config{
			Path: in.Path, Baud: baud, Bitrate: bitrate, Decoder: dec, Car: p.Get("car"), Session: p.Get("session"),
			NoTimestamps: p.Get("timestamps") == "0", Name: in.Name, Logger: e.log,
		})
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrConfig, in.Name, err)
		}
		return &source{stats: stats, run: func(ctx context.Context, m *emitter) error { return s.Run(ctx, m) }}, nil
	case "mqtt":
		return e.mqttSource(in, stats)
	case "socketcan":
		dec, err := dbcParam(in)
		if err != nil {
			return nil, err
		}
		s, err := socketcan.New(socketcan.Config{Interface: in.Path, Decoder: dec, Car: p.Get("car"), Session: p.Get("session"), Name: in.Name, Logger: e.log})
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrConfig, in.Name, err)
		}
		return &source{stats: stats, run: func(ctx context.Context, m *emitter) error { return s.Run(ctx, m) }}, nil
	}
	return nil, fmt.Errorf("%w: input %s: unknown kind %s", ErrConfig, in.Name, in.Kind)
}

func (e *Edge) mqttSource(in Input, stats *sourceStats) (*source, error) {
	p := in.Params
	cfg := mqtt.Config{Broker: in.Addr, Filter: in.Filter, Car: p.Get("car"), ClientID: p.Get("client"), Name: in.Name, Logger: e.log}
	if user, host, ok := strings.Cut(in.Addr, "@"); ok {
		cfg.Broker = host
		u, pass, _ := strings.Cut(user, ":")
		cfg.Username, _ = url.PathUnescape(u)
		cfg.Password, _ = url.PathUnescape(pass)
	}
	if q := p.Get("qos"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 0 || n > 2 {
			return nil, fmt.Errorf("%w: %s: qos=%q", ErrConfig, in.Name, q)
		}
		qos := byte(n)
		cfg.QoS = &qos
	}
	s, err := mqtt.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, in.Name, err)
	}
	return &source{stats: stats, run: func(ctx context.Context, m *emitter) error { return s.Run(ctx, m) }}, nil
}

// dbcParam loads the dbc=FILE of a CAN input; rate=HZ is the nominal rate
// of messages without a GenMsgCycleTime (default 100).
func dbcParam(in Input) (*slcan.Decoder, error) {
	path := in.Params.Get("dbc")
	if path == "" {
		return nil, fmt.Errorf("%w: input %s: needs dbc=FILE", ErrConfig, in.Name)
	}
	rate := 100.0
	if r := in.Params.Get("rate"); r != "" {
		v, err := strconv.ParseFloat(r, 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("%w: input %s: rate=%q", ErrConfig, in.Name, r)
		}
		rate = v
	}
	dec, err := slcan.LoadDBC(path, rate)
	if err != nil {
		return nil, fmt.Errorf("%w: input %s: %v", ErrConfig, in.Name, err)
	}
	return dec, nil
}

// intParam reads an integer query parameter; 0 when absent.
func intParam(in Input, name string) (int, error) {
	v := in.Params.Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: input %s: %s=%q is not a count", ErrConfig, in.Name, name, v)
	}
	return n, nil
}
