package simulator

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/pitwall/pitwall/internal/kafkasec"
	"github.com/pitwall/pitwall/telemetry"
)

// output is one of the wires the simulator speaks.
type output interface {
	// Catalog announces a car's channels, before its first frame.
	Catalog(cat *telemetry.ChannelCatalog) error
	// Frame sends one frame; f is reused once Frame returns.
	Frame(f *telemetry.Frame) error
	// Flush pushes out what is buffered; Run calls it after every batch
	// of ticks, so a paced run reaches the wire in real time.
	Flush() error
	// Close flushes and releases everything. Run calls it exactly once.
	Close() error
}

// Target is a parsed --out value.
type Target struct {
	// Scheme is "serial", "slcan", "mqtt" or "kafka".
	Scheme string
	// Path is the file or device for serial and slcan ("-" is stdout,
	// empty with --pty).
	Path string
	// Baud is the serial bit rate when Path is a serial device. Default
	// 115200.
	Baud int
	// Addr is HOST:PORT for mqtt and kafka.
	Addr string
	// Name is the MQTT topic prefix (default "pitwall") or the Kafka topic
	// (default telemetry.TopicFrames).
	Name string
	// Format is the packet format of a udp output: "f1-24" or "forza"
	// (?format=, required).
	Format string
	// TLS is MQTT over TLS (mqtts://), with CAFile (?ca=, default the
	// system's CAs) and a client certificate CertFile and KeyFile (?cert=,
	// ?key=, default none).
	TLS                       bool
	CAFile, CertFile, KeyFile string
	// User and Password log in to the MQTT broker (the URL's user info;
	// the password, when the URL has none, from $PITWALL_MQTT_PASSWORD).
	User     string
	Password kafkasec.Secret
	// QoS is the MQTT quality of service of the frames (?qos=N, 0-2).
	// Default 0: a frame lost on the way is not resent, and the broker
	// does not queue frames for a subscriber that is away. With 1 the
	// broker queues them for a persistent session (an edge that
	// restarts), and the simulator waits for every PUBACK.
	QoS byte
}

// ParseTarget parses an output URL:
//
//	serial:PATH[?baud=N]   the serial line format (telemetry/doc.go); PATH "-" is stdout
//	slcan:PATH[?baud=N]    SLCAN (Lawicel) frames per the DBC, one car
//	mqtt://[USER[:PASS]@]HOST:PORT/PREFIX[?qos=N]
//	mqtts://[USER[:PASS]@]HOST:PORT/PREFIX[?qos=N][&ca=FILE][&cert=FILE&key=FILE]   MQTT over TLS
//	kafka://HOST:PORT/TOPIC
//	nmea:PATH[?baud=N]     an NMEA 0183 GPS receiver in one car (out_nmea.go)
//	udp://HOST:PORT?format=f1-24|forza   a racing game's UDP telemetry (out_udp.go)
//
// With --pty, serial, slcan and nmea take no PATH ("serial", "slcan", "nmea").
func ParseTarget(s string) (Target, error) {
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok {
		if s == "serial" || s == "slcan" || s == "nmea" {
			return Target{Scheme: s, Baud: 115200}, nil
		}
		return Target{}, fmt.Errorf("%w: output %q: want serial:PATH, slcan:PATH, mqtt://HOST:PORT/PREFIX or kafka://HOST:PORT/TOPIC", ErrConfig, s)
	}
	switch scheme {
	case "udp":
		return parseUDPTarget(s)
	case "serial", "slcan", "nmea":
		t := Target{Scheme: scheme, Path: rest, Baud: 115200}
		if path, query, ok := strings.Cut(rest, "?"); ok {
			t.Path = path
			v, err := url.ParseQuery(query)
			if err != nil {
				return Target{}, fmt.Errorf("%w: output %q: %v", ErrConfig, s, err)
			}
			if b := v.Get("baud"); b != "" {
				if t.Baud, err = strconv.Atoi(b); err != nil || t.Baud <= 0 {
					return Target{}, fmt.Errorf("%w: output %q: bad baud", ErrConfig, s)
				}
			}
		}
		return t, nil
	case "mqtt", "mqtts", "kafka":
		shown := kafkasec.Redact(s) // errors never repeat a password
		u, err := url.Parse(s)
		if err != nil || u.Host == "" || u.Port() == "" {
			return Target{}, fmt.Errorf("%w: output %q: want %s://HOST:PORT/NAME", ErrConfig, shown, scheme)
		}
		t := Target{Scheme: strings.TrimSuffix(scheme, "s"), TLS: scheme == "mqtts", Addr: u.Host, Name: strings.Trim(u.Path, "/")}
		if t.Name == "" {
			t.Name = map[string]string{"mqtt": "pitwall", "kafka": telemetry.TopicFrames}[t.Scheme]
		}
		if t.Scheme == "kafka" {
			return t, nil
		}
		if u.User != nil {
			t.User = u.User.Username()
			pw, _ := u.User.Password()
			t.Password = kafkasec.Secret(pw)
		}
		if u.RawQuery != "" {
			if err := t.mqttParams(u.RawQuery); err != nil {
				return Target{}, fmt.Errorf("%w: output %q: %w", ErrConfig, shown, err)
			}
		}
		return t, nil
	}
	return Target{}, fmt.Errorf("%w: unknown output scheme %q", ErrConfig, scheme)
}
