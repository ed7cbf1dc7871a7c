package influx

import (
	"context"
	"errors"
	"fmt"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"
)

// ErrWrite wraps every failed write.
var ErrWrite = errors.New("influx: write failed")

// Config says where the writer writes.
type Config struct {
	// URL is the InfluxDB HTTP API, e.g. http://127.0.0.1:8086. Required.
	URL string
	// Bucket is the v2 bucket; on InfluxDB 1.8 "database/retention" or
	// just the database name. Default "pitwall".
	Bucket string
	// Token authenticates: a v2 token, or "user:password" on 1.8. Default
	// "" (no authentication).
	Token string
	// Org is the v2 organisation; ignored by 1.8. Default "".
	Org string
	// Timeout bounds one write request. Default 10s.
	Timeout time.Duration
}

// Writer writes line-protocol batches with influxdb-client-go's blocking
// v2 write API: Write returns once InfluxDB accepted the whole batch, which
// is what lets the runner commit offsets only after that. Safe for
// concurrent use.
type Writer struct {
	client influxdb2.Client
	api    api.WriteAPIBlocking
	cfg    Config
}

// New returns a writer after checking cfg.URL; it does not contact the
// server (Prepare does).
func New(cfg Config) (*Writer, error) {
	if cfg.URL == "" {
		return nil, fmt.Errorf("influx: no URL")
	}
	if err := ValidateURL(cfg.URL); err != nil {
		return nil, err
	}
	if cfg.Bucket == "" {
		cfg.Bucket = "pitwall"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	opts := influxdb2.DefaultOptions().
		SetPrecision(time.Nanosecond).
		SetHTTPRequestTimeout(uint(cfg.Timeout / time.Second)).
		SetMaxRetries(0).
		SetUseGZip(false)
	c := influxdb2.NewClientWithOptions(cfg.URL, cfg.Token, opts)
	return &Writer{client: c, api: c.WriteAPIBlocking(cfg.Org, cfg.Bucket), cfg: cfg}, nil
}

// Write sends one batch of newline-separated line protocol (as built by
// AppendLap and Downsampler) in one request.
func (w *Writer) Write(ctx context.Context, batch []byte) error {
	if len(batch) == 0 {
		return nil
	}
	if batch[len(batch)-1] == '\n' {
		batch = batch[:len(batch)-1]
	}
	if err := w.api.WriteRecord(ctx, string(batch)); err != nil {
		return fmt.Errorf("%w: %w", ErrWrite, err)
	}
	return nil
}

// Close releases the client's connections.
func (w *Writer) Close() { w.client.Close() }
