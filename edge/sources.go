package edge

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/pitwall/pitwall/edge/can"
	"github.com/pitwall/pitwall/edge/mqtt"
	"github.com/pitwall/pitwall/edge/serial"
	"github.com/pitwall/pitwall/edge/slcan"
	"github.com/pitwall/pitwall/edge/socketcan"
	"github.com/pitwall/pitwall/edge/source"
)

// runner is what every source package's Source is: Run reads its input
// into the sink until ctx is done.
type runner interface {
	Run(ctx context.Context, sink source.Sink) error
}

// builder makes the source of one parsed input without opening anything;
// its errors wrap ErrConfig.
type builder func(in Input, log *slog.Logger) (runner, error)

// builderFor returns the builder of an --in URL scheme, nil for a scheme
// the edge does not know: the one place every kind of source is made
// (ParseInput asks it which schemes exist).
func builderFor(kind string) builder {
	switch kind {
	case "serial":
		return serialSource
	case "slcan":
		return slcanSource
	case "mqtt":
		return mqttSource
	case "socketcan":
		return socketcanSource
	case "nmea":
		return nmeaSource
	case "udp":
		return udpSource
	}
	return nil
}

// newSource builds the source of one input.
func newSource(in Input, log *slog.Logger) (runner, error) {
	build := builderFor(in.Kind)
	if build == nil {
		return nil, fmt.Errorf("%w: input %s: unknown kind %s", ErrConfig, in.Name, in.Kind)
	}
	return build(in, log)
}

// serialSource: serial:PATH[?baud=115200][&car=ID].
func serialSource(in Input, log *slog.Logger) (runner, error) {
	baud, err := intParam(in, "baud")
	if err != nil {
		return nil, err
	}
	s, err := serial.New(serial.Config{Port: serial.Port{Path: in.Path, Baud: baud}, Car: in.Params.Get("car"), Name: in.Name, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, in.Name, err)
	}
	return s, nil
}

// slcanSource: slcan:PATH?dbc=FILE&car=ID[&bitrate=500000][&baud=115200][&session=S][&timestamps=1].
func slcanSource(in Input, log *slog.Logger) (runner, error) {
	p := in.Params
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
		Port: serial.Port{Path: in.Path, Baud: baud}, Bitrate: bitrate, Decoder: dec, Car: p.Get("car"), Session: p.Get("session"),
		NoTimestamps: p.Get("timestamps") == "0", Name: in.Name, Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, in.Name, err)
	}
	return s, nil
}

// socketcanSource: socketcan:IFACE?dbc=FILE&car=ID[&session=S].
func socketcanSource(in Input, log *slog.Logger) (runner, error) {
	p := in.Params
	dec, err := dbcParam(in)
	if err != nil {
		return nil, err
	}
	s, err := socketcan.New(socketcan.Config{Interface: in.Path, Decoder: dec, Car: p.Get("car"), Session: p.Get("session"), Name: in.Name, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrConfig, in.Name, err)
	}
	return s, nil
}

// mqttSource: mqtt[s]://[USER[:PASS]@]HOST:PORT/FILTER[?qos=1][&client=ID][&car=ID][&ca=FILE][&cert=FILE&key=FILE].
// The user is the URL's, else --mqtt-user; the password the URL's, else
// --mqtt-password-file's, else $PITWALL_MQTT_PASSWORD.
func mqttSource(in Input, log *slog.Logger) (runner, error) {
	p := in.Params
	cfg := mqtt.Config{Broker: in.Addr, Filter: in.Filter, Car: p.Get("car"), ClientID: p.Get("client"), Name: in.Name, Logger: log,
		TLS: in.TLS, CAFile: p.Get("ca"), CertFile: p.Get("cert"), KeyFile: p.Get("key"), Username: in.MQTTUser}
	if user, host, ok := strings.Cut(in.Addr, "@"); ok {
		cfg.Broker = host
		u, pass, _ := strings.Cut(user, ":")
		cfg.Username, _ = url.PathUnescape(u)
		cfg.Password, _ = url.PathUnescape(pass)
	}
	if cfg.Password == "" {
		cfg.Password = string(in.MQTTPassword)
	}
	if cfg.Password == "" {
		cfg.Password = os.Getenv(mqtt.PasswordEnv)
	}
	if !in.TLS && (cfg.CAFile != "" || cfg.CertFile != "") {
		return nil, fmt.Errorf("%w: %s: ca=, cert= and key= need mqtts://", ErrConfig, in.Name)
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
	return s, nil
}

// dbcParam loads the dbc=FILE of a CAN input; rate=HZ is the nominal rate
// of messages without a GenMsgCycleTime (default 100).
func dbcParam(in Input) (*can.Decoder, error) {
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
	dec, err := can.LoadDBC(path, rate)
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
