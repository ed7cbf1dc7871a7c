package edge

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pitwall/pitwall/edge/spool"
	"github.com/pitwall/pitwall/internal/kafkasec"
	"github.com/pitwall/pitwall/telemetry"
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("edge: bad config")

// Config configures the edge agent. An empty field means its default. The
// YAML form (LoadConfig) uses the names in the yaml tags.
type Config struct {
	// Brokers are the Kafka bootstrap addresses, HOST:PORT. Required.
	Brokers []string `yaml:"brokers"`
	// MQTTUser is the user name of MQTT inputs whose URL names none.
	// Their password is the URL's, else $PITWALL_MQTT_PASSWORD.
	MQTTUser string `yaml:"mqtt_user"`
	// MQTTPasswordFile holds the password (first line) of MQTT inputs
	// whose URL has none; before $PITWALL_MQTT_PASSWORD. Default none.
	MQTTPasswordFile string `yaml:"mqtt_password_file"`
	// mqttPassword is what withDefaults read from MQTTPasswordFile.
	mqttPassword string
	// Security is TLS and SASL to the brokers (see package kafkasec).
	// Default PLAINTEXT. The SASL password is never in the file: it comes
	// from sasl_password_file or $PITWALL_SASL_PASSWORD.
	Security kafkasec.Config `yaml:"security"`
	// Inputs are the sources, one URL each (see ParseInput). At least one.
	Inputs []string `yaml:"inputs"`
	// Spool configures the store-and-forward spool.
	Spool SpoolConfig `yaml:"spool"`
	// Producer configures the Kafka producer.
	Producer ProducerConfig `yaml:"producer"`
	// Metrics is the HTTP address serving /metrics (Prometheus). Default
	// "127.0.0.1:9464"; "off" serves nothing.
	Metrics string `yaml:"metrics"`
	// StatusEvery is how often the one-line status is logged. Default 5s;
	// negative: never.
	StatusEvery time.Duration `yaml:"status_every"`
	// FlushTimeout is how long shutdown waits for the broker to
	// acknowledge what is spooled; the rest stays in the spool for the next
	// start. Default 10s.
	FlushTimeout time.Duration `yaml:"flush_timeout"`
	// Topic is the topic frames go to. Default telemetry.TopicFrames.
	Topic string `yaml:"topic"`
	// Partitions is the partition count the edge creates the frames topic
	// (and the catalog topic) with if they do not exist. Default
	// telemetry.DefaultPartitions.
	Partitions int `yaml:"partitions"`
	// Logger receives the edge's logs. Default slog.Default().
	Logger *slog.Logger `yaml:"-"`
}

// SpoolConfig configures the spool (see package spool).
type SpoolConfig struct {
	// Dir is the spool directory. Default "pitwall-spool".
	Dir string `yaml:"dir"`
	// MaxBytes bounds the spool on disk. Default 1 GiB.
	MaxBytes int64 `yaml:"max_bytes"`
	// Policy is what happens at MaxBytes: alarm (default: keep accepting
	// and alarm until the disk is full, then drop new records with a
	// loud error until the broker takes the spooled ones), drop-newest,
	// or drop-oldest (also at a full disk: delete the oldest unsent
	// segments, counted).
	Policy string `yaml:"policy"`
	// SegmentBytes is the spool's file size. Default 64 MiB, or a
	// sixteenth of the spool's filesystem if smaller.
	SegmentBytes int64 `yaml:"segment_bytes"`
	// ReserveBytes is disk kept for the spool's cursor and state files,
	// so a full disk never stops them being written. Default 1 MiB.
	ReserveBytes int64 `yaml:"reserve_bytes"`
	// SyncEvery is how often the spool is fsynced. Default 1s.
	SyncEvery time.Duration `yaml:"sync_every"`
}

// ProducerConfig configures the producer (franz-go). Acks are always all.
type ProducerConfig struct {
	// ClientID is the Kafka client id. Default "pitwall-edge".
	ClientID string `yaml:"client_id"`
	// Compression is none, gzip, snappy, lz4 or zstd. Default lz4: the
	// broker is on the same laptop or the pit LAN, and at a grid's rate
	// lz4 costs the edge and every consumer much less CPU than zstd for a
	// log about a third bigger (BENCHMARKS.md, issue 17); zstd suits a
	// thin uplink.
	Compression string `yaml:"compression"`
	// CompressionLevel is the codec's level. Default: 1 for zstd (its
	// fastest; frames compress well at any level and the edge has one
	// core), the codec's own default for the others.
	CompressionLevel int `yaml:"compression_level"`
	// Linger is how long records wait to fill a batch. Default 5ms.
	Linger time.Duration `yaml:"linger"`
	// BatchBytes sends a batch once it holds this much. Default 1 MiB.
	BatchBytes int `yaml:"batch_bytes"`
	// Idempotent makes the producer idempotent (InitProducerId; the
	// broker drops duplicates of a retried batch). Default true.
	Idempotent *bool `yaml:"idempotent"`
	// MaxInFlightBytes bounds the records handed to the producer and not
	// yet acknowledged; beyond it records wait in the spool. Default 32 MiB.
	MaxInFlightBytes int `yaml:"max_in_flight_bytes"`
}

// withDefaults fills empty fields and checks the result.
func (c Config) withDefaults() (Config, error) {
	if len(c.Brokers) == 0 {
		return c, fmt.Errorf("%w: no brokers (--brokers HOST:PORT)", ErrConfig)
	}
	if len(c.Inputs) == 0 {
		return c, fmt.Errorf("%w: no inputs (--in URL)", ErrConfig)
	}
	if c.Spool.Dir == "" {
		c.Spool.Dir = "pitwall-spool"
	}
	if c.Metrics == "" {
		c.Metrics = "127.0.0.1:9464"
	}
	if c.StatusEvery == 0 {
		c.StatusEvery = 5 * time.Second
	}
	if c.FlushTimeout <= 0 {
		c.FlushTimeout = 10 * time.Second
	}
	if c.Topic == "" {
		c.Topic = telemetry.TopicFrames
	}
	if c.Partitions == 0 {
		c.Partitions = telemetry.DefaultPartitions
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	p := &c.Producer
	if p.ClientID == "" {
		p.ClientID = "pitwall-edge"
	}
	if p.Compression == "" {
		p.Compression = "lz4"
	}
	if p.Linger == 0 {
		p.Linger = 5 * time.Millisecond
	}
	if p.BatchBytes == 0 {
		p.BatchBytes = 1 << 20
	}
	if p.Idempotent == nil {
		yes := true
		p.Idempotent = &yes
	}
	if p.MaxInFlightBytes == 0 {
		p.MaxInFlightBytes = 32 << 20
	}
	if _, err := compressor(p.Compression, p.CompressionLevel); err != nil {
		return c, err
	}
	var err error
	if c.Security, err = c.Security.Load(); err != nil {
		return c, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if c.MQTTPasswordFile != "" {
		b, err := os.ReadFile(c.MQTTPasswordFile)
		if err != nil {
			return c, fmt.Errorf("%w: --mqtt-password-file: %w", ErrConfig, err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		if c.mqttPassword = strings.TrimSuffix(line, "\r"); c.mqttPassword == "" {
			return c, fmt.Errorf("%w: --mqtt-password-file %s: the first line is empty", ErrConfig, c.MQTTPasswordFile)
		}
	}
	if c.Partitions < 1 || p.Linger < 0 || p.BatchBytes < 0 || p.MaxInFlightBytes < 0 {
		return c, fmt.Errorf("%w: partitions, linger, batch bytes and in-flight bytes must be positive", ErrConfig)
	}
	return c, nil
}

// spoolConfig maps the YAML-friendly config onto package spool's.
func (c Config) spoolConfig() spool.Config {
	return spool.Config{
		Dir: c.Spool.Dir, MaxBytes: c.Spool.MaxBytes, SegmentBytes: c.Spool.SegmentBytes,
		Policy: spool.Policy(c.Spool.Policy), SyncEvery: c.Spool.SyncEvery, ReserveBytes: c.Spool.ReserveBytes, Logger: c.Logger,
	}
}

// LoadConfig reads a YAML config file; unknown keys are errors.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("%w: %s is empty: want a YAML mapping such as 'brokers: [127.0.0.1:9092]' and 'inputs: [...]'", ErrConfig, path)
	} else if err != nil {
		return Config{}, fmt.Errorf("%w: %s: %v", ErrConfig, path, err)
	}
	return c, nil
}

// Input is one parsed --in URL.
type Input struct {
	// Kind is the URL's scheme: serial, slcan, mqtt, socketcan, nmea or
	// udp.
	Kind string
	// Path is the device for serial, slcan and nmea, the interface for
	// socketcan, "//HOST:PORT" for udp.
	Path string
	// Addr is the MQTT broker's [USER[:PASS]@]HOST:PORT.
	Addr string
	// TLS is set for mqtts:// (MQTT over TLS).
	TLS bool
	// MQTTUser is the MQTT user name when the URL names none (--mqtt-user).
	MQTTUser string
	// MQTTPassword is the MQTT password when the URL has none
	// (--mqtt-password-file); else $PITWALL_MQTT_PASSWORD.
	MQTTPassword kafkasec.Secret
	// Filter is the MQTT topic filter.
	Filter string
	// Params are the query parameters.
	Params url.Values
	// Name is how the source is named in metrics, logs and dead letters:
	// the URL without its query, and without its password
	// (kafkasec.Redact), which never leaves the process.
	Name string
}

// ParseInput parses an input URL (each kind is built in sources.go):
//
//	serial:PATH[?baud=115200][&car=ID]
//	slcan:PATH?dbc=FILE&car=ID[&bitrate=500000][&baud=115200][&session=S][&timestamps=1]
//	mqtt://[USER[:PASS]@]HOST:PORT/FILTER[?qos=1][&client=ID][&car=ID]
//	mqtts://[USER[:PASS]@]HOST:PORT/FILTER[?ca=FILE][&cert=FILE&key=FILE][&qos=1]...  (MQTT over TLS)
//	socketcan:IFACE?dbc=FILE&car=ID[&session=S]
//	nmea:PATH?car=ID[&baud=9600][&rate=10][&session=S]   (sources_gps_games.go)
//	udp://HOST:PORT?format=f1-24|forza[&car=ID][&rate=HZ][&session=S][&record=DIR]
//
// The MQTT filter is everything after HOST:PORT/ up to "?", so "+" and "#"
// need no escaping; the car id is the topic level matched by its first
// "+" (or car=ID when it has none). Shell users quote the URL ("&").
func ParseInput(s string) (Input, error) {
	shown := kafkasec.Redact(s) // errors never repeat a password
	rest, query, _ := strings.Cut(s, "?")
	params, err := url.ParseQuery(query)
	if err != nil {
		return Input{}, fmt.Errorf("%w: input %q: %v", ErrConfig, shown, err)
	}
	in := Input{Params: params, Name: kafkasec.Redact(rest)}
	for _, scheme := range []string{"mqtt://", "mqtts://"} {
		addr, ok := strings.CutPrefix(rest, scheme)
		if !ok {
			continue
		}
		in.Kind, in.TLS = "mqtt", scheme == "mqtts://"
		in.Addr, in.Filter, _ = strings.Cut(addr, "/")
		if in.Addr == "" || in.Filter == "" || !strings.Contains(in.Addr, ":") {
			return Input{}, fmt.Errorf("%w: input %q: want %sHOST:PORT/FILTER", ErrConfig, shown, scheme)
		}
		return in, nil
	}
	kind, path, ok := strings.Cut(rest, ":")
	if !ok || path == "" {
		return Input{}, fmt.Errorf("%w: input %q: want serial:PATH, slcan:PATH, mqtt://HOST:PORT/FILTER, mqtts://HOST:PORT/FILTER, socketcan:IFACE, nmea:PATH or udp://HOST:PORT?format=", ErrConfig, shown)
	}
	if kind == "mqtt" || kind == "mqtts" || builderFor(kind) == nil { // mqtt takes the URL form above
		return Input{}, fmt.Errorf("%w: input %q: unknown kind %q", ErrConfig, shown, kind)
	}
	in.Kind, in.Path = kind, path
	return in, nil
}
