package influx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/pitwall/pitwall/internal/kafkasec"
)

// ErrUnavailable reports an InfluxDB that could not be reached or did not
// answer: an outage, retried by the caller.
var ErrUnavailable = errors.New("influx: server unavailable")

// ErrNoBucket reports a database or bucket that does not exist and that
// these credentials may not create: a configuration error, not retried.
var ErrNoBucket = errors.New("influx: database missing")

// ValidateURL checks that u is an InfluxDB HTTP API address with a scheme
// and a host, e.g. http://127.0.0.1:8086, before any client is built: the
// client panics on some malformed addresses and retries others for ever.
// The error never repeats a password the URL holds (kafkasec.Redact).
func ValidateURL(u string) error {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" || p.Opaque != "" {
		return fmt.Errorf("influx: bad URL %q: want http://HOST:PORT (or https://)", kafkasec.Redact(u))
	}
	if p.Scheme != "http" && p.Scheme != "https" {
		return fmt.Errorf("influx: bad URL %q: scheme %q is not http or https", kafkasec.Redact(u), p.Scheme)
	}
	return nil
}

// Prepare makes sure the bucket exists, creating it where the credentials
// allow: on InfluxDB 1.x the database (CREATE DATABASE needs an admin when
// authentication is on), on 2.x and later the bucket in Org. It returns
// ErrUnavailable when the server cannot be reached (try again later) and
// ErrNoBucket, saying what to do, when the bucket is missing for good.
func (w *Writer) Prepare(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	version, err := w.version(ctx)
	if err != nil {
		return err
	}
	if isV2(version) {
		return w.prepareV2(ctx)
	}
	return w.prepareV1(ctx)
}

// isV2 says whether a /ping version names InfluxDB 2 or later. 1.x builds
// without release flags (go install) report "unknown", so anything else
// is taken for 1.x.
func isV2(version string) bool {
	v := strings.TrimPrefix(version, "v")
	return len(v) > 1 && v[0] >= '2' && v[0] <= '9' && v[1] == '.'
}

// version is the server's X-Influxdb-Version from /ping ("1.8.10",
// "v2.7.10", ...).
func (w *Writer) version(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(w.cfg.URL, "/")+"/ping", nil)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		return "", fmt.Errorf("%w: ping: %s", ErrUnavailable, resp.Status)
	}
	return resp.Header.Get("X-Influxdb-Version"), nil
}

// prepareV1 creates the database of Bucket ("db" or "db/rp") unless it
// exists. A retention policy named in Bucket must exist already.
func (w *Writer) prepareV1(ctx context.Context) error {
	db, _, _ := strings.Cut(w.cfg.Bucket, "/")
	have, err := w.queryV1(ctx, "SHOW DATABASES")
	if err == nil && strings.Contains(string(have), fmt.Sprintf("[%q]", db)) {
		return nil
	}
	if errors.Is(err, ErrUnavailable) {
		return err
	}
	if _, err := w.queryV1(ctx, fmt.Sprintf("CREATE DATABASE %q", db)); err != nil {
		if errors.Is(err, ErrUnavailable) {
			return err
		}
		return fmt.Errorf("%w: database %q does not exist and cannot be created with these credentials (%v); create it with: influx -execute 'CREATE DATABASE %s'",
			ErrNoBucket, db, err, db)
	}
	return nil
}

// queryV1 runs one InfluxQL statement on 1.x's /query and returns the
// body; an error in the answer is an error.
func (w *Writer) queryV1(ctx context.Context, q string) ([]byte, error) {
	form := url.Values{"q": {q}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(w.cfg.URL, "/")+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user, pass, ok := strings.Cut(w.cfg.Token, ":"); ok {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if resp.StatusCode >= 500 {
		return nil, fmt.Errorf("%w: %s", ErrUnavailable, resp.Status)
	}
	var answer struct {
		Error   string `json:"error"`
		Results []struct {
			Error string `json:"error"`
		} `json:"results"`
	}
	if resp.StatusCode != http.StatusOK {
		_ = json.Unmarshal(body, &answer)
		return nil, fmt.Errorf("%s: %s", resp.Status, answer.Error)
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return nil, fmt.Errorf("answer to %q: %w", q, err)
	}
	for _, r := range answer.Results {
		if r.Error != "" {
			return nil, errors.New(r.Error)
		}
	}
	return body, nil
}

// prepareV2 creates the bucket in Org through the v2 API unless it exists.
func (w *Writer) prepareV2(ctx context.Context) error {
	buckets := w.client.BucketsAPI()
	if _, err := buckets.FindBucketByName(ctx, w.cfg.Bucket); err == nil {
		return nil
	}
	org, err := w.client.OrganizationsAPI().FindOrganizationByName(ctx, w.cfg.Org)
	if err == nil {
		_, err = buckets.CreateBucketWithName(ctx, org, w.cfg.Bucket)
	}
	if err != nil {
		return fmt.Errorf("%w: bucket %q in org %q does not exist and cannot be created with this token (%v); create it with: influx bucket create --name %s --org %s",
			ErrNoBucket, w.cfg.Bucket, w.cfg.Org, err, w.cfg.Bucket, w.cfg.Org)
	}
	return nil
}
