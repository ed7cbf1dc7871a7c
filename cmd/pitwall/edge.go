package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pitwall/pitwall/edge"
	"github.com/pitwall/pitwall/internal/kafkasec"
)

// runEdge is `pitwall edge`: sources (serial, SLCAN, MQTT, SocketCAN) in,
// Kafka out, with the store-and-forward spool between. The agent itself
// lives in package edge.
func runEdge(ctx context.Context, args []string) error {
	cfg, logLevel, err := edgeConfig(args)
	if err != nil {
		return err
	}
	if cfg.Logger, err = newLogger(logLevel); err != nil {
		return err
	}
	return edge.Run(ctx, cfg)
}

// inputList is the repeatable --in flag.
type inputList []string

func (l *inputList) String() string { return strings.Join(*l, " ") }
func (l *inputList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// edgeConfig turns the command line (and --config FILE) into a config.
// Flags given on the command line or through PITWALL_* variables override
// the file; --in adds to the file's inputs.
func edgeConfig(args []string) (edge.Config, string, error) {
	fs := newFlagSet("edge", "--brokers HOST:PORT --in URL [--in URL]... [--spool DIR] [flags]\n       pitwall edge --config edge.yaml [flags]")
	var inputs inputList
	fs.Var(&inputs, "in", "input, repeatable: serial:PATH?baud=115200&car=ID | slcan:PATH?bitrate=500000&dbc=FILE&car=ID | mqtt[s]://[USER@]HOST:PORT/FILTER[?ca=FILE] (car id = the level of the first +; password from $PITWALL_MQTT_PASSWORD) | socketcan:IFACE?dbc=FILE&car=ID | nmea:PATH?car=ID[&baud=9600] (a GPS receiver) | udp://HOST:PORT?format=f1-24|forza[&car=ID][&record=DIR] (a racing game); quote it in a shell (&)")
	brokers := fs.String("brokers", "", "Kafka bootstrap brokers, HOST:PORT[,HOST:PORT]")
	config := fs.String("config", "", "YAML config file (see edge.Config); flags override it")
	spoolDir := fs.String("spool", "", "spool directory (default pitwall-spool)")
	spoolMax := fs.Int64("spool-max-bytes", 0, "spool bound on disk (default 1 GiB)")
	policy := fs.String("spool-policy", "", "at the bound: alarm (default: keep accepting and alarm; at a full disk, drop new records with an error until the broker takes the spooled ones), drop-newest, or drop-oldest (also at a full disk)")
	metrics := fs.String("metrics", "", "serve Prometheus metrics on http://ADDR/metrics (default 127.0.0.1:9464; off disables)")
	compression := fs.String("compression", "", "none, gzip, snappy, lz4 or zstd (default lz4; zstd for a thin uplink)")
	linger := fs.Duration("linger", 0, "how long records wait to fill a batch (default 5ms)")
	batch := fs.Int("batch-bytes", 0, "send a batch once it holds this many bytes (default 1 MiB)")
	idempotent := fs.Bool("idempotent", true, "idempotent producer (the broker drops duplicates of retried batches)")
	statusEvery := fs.Duration("status-every", 0, "how often to log the one-line status (default 5s; negative: never)")
	flushTimeout := fs.Duration("flush-timeout", 0, "on SIGTERM, how long to wait for the broker to take what is spooled (default 10s)")
	clientID := fs.String("client-id", "", "Kafka client id (default pitwall-edge)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	mqttUser := fs.String("mqtt-user", "", "MQTT user name for --in mqtt[s]:// URLs that name none (password: --mqtt-password-file or $PITWALL_MQTT_PASSWORD)")
	mqttPWFile := fs.String("mqtt-password-file", "", "`FILE` holding the MQTT password (first line) for --in URLs that have none (default: $PITWALL_MQTT_PASSWORD)")
	var sec kafkasec.Config
	sec.AddFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return edge.Config{}, "", err
	}
	if fs.NArg() > 0 {
		return edge.Config{}, "", fmt.Errorf("unexpected arguments %q (quote --in URLs holding &)", fs.Args())
	}
	var cfg edge.Config
	if *config != "" {
		var err error
		if cfg, err = edge.LoadConfig(*config); err != nil {
			return edge.Config{}, "", err
		}
	}
	if *brokers != "" {
		cfg.Brokers = strings.Split(*brokers, ",")
	}
	cfg.Security = cfg.Security.Merge(sec)
	cfg.Inputs = append(cfg.Inputs, inputs...)
	setString(&cfg.MQTTUser, *mqttUser)
	setString(&cfg.MQTTPasswordFile, *mqttPWFile)
	setString(&cfg.Spool.Dir, *spoolDir)
	setString(&cfg.Spool.Policy, *policy)
	setString(&cfg.Metrics, *metrics)
	setString(&cfg.Producer.Compression, *compression)
	setString(&cfg.Producer.ClientID, *clientID)
	if *spoolMax != 0 {
		cfg.Spool.MaxBytes = *spoolMax
	}
	if *batch != 0 {
		cfg.Producer.BatchBytes = *batch
	}
	setDuration(&cfg.Producer.Linger, *linger)
	setDuration(&cfg.StatusEvery, *statusEvery)
	setDuration(&cfg.FlushTimeout, *flushTimeout)
	if !*idempotent || cfg.Producer.Idempotent == nil {
		cfg.Producer.Idempotent = idempotent
	}
	if len(cfg.Brokers) == 0 || len(cfg.Inputs) == 0 {
		return edge.Config{}, "", errors.New("give --brokers and at least one --in, or --config FILE (pitwall edge -h)")
	}
	return cfg, *logLevel, nil
}

func setString(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

func setDuration(dst *time.Duration, v time.Duration) {
	if v != 0 {
		*dst = v
	}
}
