package influx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	http2 "github.com/influxdata/influxdb-client-go/v2/api/http"
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

// Writer writes line-protocol batches to the v2 write endpoint
// (/api/v2/write, which InfluxDB 1.8 serves too) through influxdb-client-go's
// HTTP service, the one its blocking write API uses, with the same
// authorization, timeout and error parsing: Write returns once InfluxDB
// accepted the whole batch, which is what lets the runner commit offsets
// only after that. The batch's bytes are the request body as they are
// (the blocking API takes a string: a copy of every request, megabytes
// while a processor catches up). Safe for concurrent use.
type Writer struct {
	client   influxdb2.Client
	service  http2.Service
	writeURL string
	cfg      Config
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
	u, err := url.Parse(c.HTTPService().ServerAPIURL())
	if err == nil {
		u, err = u.Parse("write")
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("influx: URL %q: %w", cfg.URL, err)
	}
	u.RawQuery = url.Values{"org": {cfg.Org}, "bucket": {cfg.Bucket}, "precision": {"ns"}}.Encode()
	return &Writer{client: c, service: c.HTTPService(), writeURL: u.String(), cfg: cfg}, nil
}

// Write sends one batch of newline-separated line protocol (as built by
// AppendLap and Downsampler) in one request.
func (w *Writer) Write(ctx context.Context, batch []byte) error {
	return w.WriteBuffers(ctx, [][]byte{batch})
}

// WriteBuffers sends the batches, one after the other, in one request,
// without copying them into one: each must end with a newline, as
// AppendLap's and Downsampler's do.
func (w *Writer) WriteBuffers(ctx context.Context, batches [][]byte) error {
	readers := make([]io.Reader, 0, len(batches))
	size := 0
	for _, b := range batches {
		if len(b) > 0 {
			readers = append(readers, bytes.NewReader(b))
			size += len(b)
		}
	}
	if size == 0 {
		return nil
	}
	body := readers[0]
	if len(readers) > 1 {
		body = io.MultiReader(readers...)
	}
	if perr := w.service.DoPostRequest(ctx, w.writeURL, body, func(req *http.Request) {
		req.ContentLength = int64(size) // a MultiReader's length is not known to net/http
		req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	}, func(resp *http.Response) error {
		return resp.Body.Close()
	}); perr != nil {
		return fmt.Errorf("%w: %w", ErrWrite, perr)
	}
	return nil
}

// Close releases the client's connections.
func (w *Writer) Close() { w.client.Close() }
