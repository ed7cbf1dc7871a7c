package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/instancemgmt"

	"github.com/pitwall/pitwall/internal/kafkasec"
	"github.com/pitwall/pitwall/telemetry"
)

// PluginID is the plugin's id, as in plugin.json.
const PluginID = "pitwall-live-datasource"

// Errors the plugin reports.
var (
	ErrSettings = errors.New("plugin: bad datasource settings")
	ErrQuery    = errors.New("plugin: bad query")
	ErrNoCar    = errors.New("plugin: no channel catalog for car")
	ErrPath     = errors.New("plugin: bad stream path")
)

// Settings are the datasource's jsonData. An empty field means its
// default.
type Settings struct {
	// Brokers are the Kafka bootstrap addresses, comma-separated. Default
	// "127.0.0.1:9092".
	Brokers string `json:"brokers"`
	// Topic is the frames topic. Default telemetry.TopicFrames.
	Topic string `json:"topic"`
	// ChannelsTopic is the channel catalog topic. Default
	// telemetry.TopicChannels.
	ChannelsTopic string `json:"channelsTopic"`
	// LiveTopic is the topic of the lap processor's live records. Default
	// telemetry.TopicLive.
	LiveTopic string `json:"liveTopic"`
	// Security is TLS and SASL to the brokers (package kafkasec), from
	// jsonData's tls, tlsCa (a CA file on the Grafana server) or
	// tlsCaCert (its PEM), tlsCert and tlsKey (files) or tlsClientCert
	// (PEM) with secureJsonData's tlsClientKey, saslMechanism and
	// saslUser, and secureJsonData's saslPassword. Default PLAINTEXT.
	Security kafkasec.Config `json:"-"`
}

// pemSettings are the PEM texts jsonData may hold instead of files.
type pemSettings struct {
	CACert     string `json:"tlsCaCert"`
	ClientCert string `json:"tlsClientCert"`
}

// Keys of the secure JSON data (stored encrypted by Grafana, never sent
// back to the browser).
const (
	SecureSASLPassword = "saslPassword"
	SecureTLSClientKey = "tlsClientKey"
)

// parseSettings reads jsonData and the decrypted secure JSON data.
func parseSettings(raw json.RawMessage, secure map[string]string) (Settings, error) {
	var s Settings
	if len(raw) > 0 {
		var pems pemSettings
		for _, dst := range []any{&s, &s.Security, &pems} {
			if err := json.Unmarshal(raw, dst); err != nil {
				return s, fmt.Errorf("%w: %w", ErrSettings, err)
			}
		}
		s.Security.CAPEM, s.Security.CertPEM = pems.CACert, pems.ClientCert
	}
	s.Security.KeyPEM = kafkasec.Secret(secure[SecureTLSClientKey])
	s.Security.Password = kafkasec.Secret(secure[SecureSASLPassword])
	if s.Security.SASLOn() && s.Security.Password == "" && s.Security.PasswordFile == "" {
		return s, fmt.Errorf("%w: saslMechanism %s needs the password (secure setting %s)", ErrSettings, s.Security.Mechanism, SecureSASLPassword)
	}
	var err error
	if s.Security, err = s.Security.Load(); err != nil {
		return s, fmt.Errorf("%w: %w", ErrSettings, err)
	}
	if s.Brokers == "" {
		s.Brokers = "127.0.0.1:9092"
	}
	if s.Topic == "" {
		s.Topic = telemetry.TopicFrames
	}
	if s.ChannelsTopic == "" {
		s.ChannelsTopic = telemetry.TopicChannels
	}
	if s.LiveTopic == "" {
		s.LiveTopic = telemetry.TopicLive
	}
	return s, nil
}

// Datasource is one configured Pitwall Live datasource: Grafana's
// handlers (QueryData, CheckHealth, the stream handlers) call it.
type Datasource struct {
	uid      string
	settings Settings
	log      *slog.Logger
	codec    *telemetry.Codec

	mu     sync.Mutex
	client sarama.Client // connected on first use; nil after Dispose
	closed bool
	cats   map[string]*telemetry.ChannelCatalog
	bad    map[string]int64
}

// Interfaces Grafana's SDK calls.
var (
	_ backend.QueryDataHandler      = (*Datasource)(nil)
	_ backend.CheckHealthHandler    = (*Datasource)(nil)
	_ backend.StreamHandler         = (*Datasource)(nil)
	_ instancemgmt.InstanceDisposer = (*Datasource)(nil)
)

// NewDatasource is the SDK's instance factory (datasource.Manage): one
// Datasource per configured datasource and settings version. It does not
// connect yet, so a broker that is down still gives a datasource whose
// health check says so.
func NewDatasource(_ context.Context, s backend.DataSourceInstanceSettings) (instancemgmt.Instance, error) {
	st, err := parseSettings(s.JSONData, s.DecryptedSecureJSONData)
	if err != nil {
		return nil, err
	}
	return &Datasource{uid: s.UID, settings: st, log: slog.Default().With("datasource", s.UID),
		codec: telemetry.MustNewCodec(), cats: map[string]*telemetry.ChannelCatalog{}, bad: map[string]int64{}}, nil
}

// Dispose closes the broker connection; Grafana calls it when the
// settings change or the datasource is deleted.
func (d *Datasource) Dispose() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	if d.client != nil {
		d.client.Close()
		d.client = nil
	}
}

// kafka returns the connected client.
func (d *Datasource) kafka() (sarama.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, errors.New("plugin: datasource disposed")
	}
	if d.client != nil && !d.client.Closed() {
		return d.client, nil
	}
	cfg := sarama.NewConfig()
	cfg.ClientID = "pitwall-grafana-live"
	cfg.Metadata.AllowAutoTopicCreation = false
	cfg.Net.DialTimeout = 5 * time.Second
	cfg.Metadata.Retry.Max = 1
	cfg.Consumer.MaxWaitTime = 100 * time.Millisecond
	if err := d.settings.Security.Sarama(cfg); err != nil {
		return nil, err
	}
	c, err := sarama.NewClient(strings.Split(d.settings.Brokers, ","), cfg)
	if err != nil {
		return nil, fmt.Errorf("plugin: connect %s: %w", d.settings.Brokers, err)
	}
	d.client = c
	return c, nil
}

// CheckHealth reports whether the brokers answer and the frames topic
// exists.
func (d *Datasource) CheckHealth(ctx context.Context, _ *backend.CheckHealthRequest) (*backend.CheckHealthResult, error) {
	c, err := d.kafka()
	if err != nil {
		return &backend.CheckHealthResult{Status: backend.HealthStatusError, Message: err.Error()}, nil
	}
	if err := c.RefreshMetadata(d.settings.Topic); err != nil {
		return &backend.CheckHealthResult{Status: backend.HealthStatusError,
			Message: fmt.Sprintf("broker %s reachable, but topic %q: %v", d.settings.Brokers, d.settings.Topic, err)}, nil
	}
	parts, err := c.Partitions(d.settings.Topic)
	if err != nil || len(parts) == 0 {
		return &backend.CheckHealthResult{Status: backend.HealthStatusError,
			Message: fmt.Sprintf("broker %s reachable, but topic %q is missing", d.settings.Brokers, d.settings.Topic)}, nil
	}
	return &backend.CheckHealthResult{Status: backend.HealthStatusOk,
		Message: fmt.Sprintf("broker %s reachable; topic %q has %d partitions", d.settings.Brokers, d.settings.Topic, len(parts))}, nil
}

// badRecord counts a record that does not decode and logs the first of
// each kind.
func (d *Datasource) badRecord(kind string, err error) {
	d.mu.Lock()
	d.bad[kind]++
	n := d.bad[kind]
	d.mu.Unlock()
	if n == 1 {
		d.log.Warn("plugin: skipping records that do not decode (logged once per kind)", "kind", kind, "err", err)
	}
}

// BadRecords returns how many records of each kind were skipped.
func (d *Datasource) BadRecords() map[string]int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]int64, len(d.bad))
	for k, v := range d.bad {
		out[k] = v
	}
	return out
}
