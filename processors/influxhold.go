package processors

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/pitwall/pitwall/processors/influx"
)

// influxHealth is the runner's view of InfluxDB, shared by its partitions.
// While InfluxDB is down (or its database missing), partitions go on
// timing laps and producing them to telemetry.laps: an outage of the
// dashboards' store must not hold back the laps. They keep their points
// (up to Config.InfluxHoldBytes each) and try again after a back-off of
// up to 5 s; offsets are not marked past points InfluxDB has not accepted,
// so a processor that dies during the outage re-reads them.
type influxHealth struct {
	w   *influx.Writer
	log *slog.Logger

	mu       sync.Mutex
	down     time.Time // when the outage began; zero while up
	next     time.Time // no write before this while down
	wait     time.Duration
	prepared bool // the database is known to exist
	dropped  int64
}

func newInfluxHealth(w *influx.Writer, log *slog.Logger) *influxHealth {
	return &influxHealth{w: w, log: log}
}

// prepare makes sure the database exists before the first write: a
// database that is missing for good (the credentials may not create it) is
// a configuration error; an unreachable server is an outage, retried.
func (h *influxHealth) prepare(ctx context.Context) error {
	err := h.w.Prepare(ctx)
	switch {
	case err == nil:
		h.mu.Lock()
		h.prepared = true
		h.mu.Unlock()
		return nil
	case errors.Is(err, influx.ErrUnavailable):
		h.failed(err)
		return nil
	default:
		return err
	}
}

// ready says whether a write may be tried now: always while InfluxDB is
// up, once per back-off while it is down.
func (h *influxHealth) ready(now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.down.IsZero() || !now.Before(h.next)
}

// write writes one batch, preparing the database first after a failure.
func (h *influxHealth) write(ctx context.Context, batches [][]byte) error {
	h.mu.Lock()
	prepared := h.prepared
	h.mu.Unlock()
	if !prepared {
		if err := h.w.Prepare(ctx); err != nil {
			h.failed(err)
			return err
		}
		h.mu.Lock()
		h.prepared = true
		h.mu.Unlock()
	}
	if err := h.w.WriteBuffers(ctx, batches); err != nil {
		if ctx.Err() == nil {
			h.failed(err)
		}
		return err
	}
	h.recovered()
	return nil
}

// failed starts or continues an outage: logged once when it starts.
func (h *influxHealth) failed(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	h.prepared = false // a database dropped under us is created again
	if h.down.IsZero() {
		h.down, h.wait = now, 100*time.Millisecond
		h.log.Warn("processors: InfluxDB is not accepting points; laps still go to telemetry.laps, points are held and retried",
			"err", err)
	} else {
		h.wait = min(2*h.wait, 5*time.Second)
	}
	h.next = now.Add(h.wait)
}

func (h *influxHealth) recovered() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down.IsZero() {
		return
	}
	h.log.Info("processors: InfluxDB accepts points again; held points written",
		"down_for", time.Since(h.down).Round(time.Millisecond), "points_dropped", h.dropped)
	h.down, h.dropped = time.Time{}, 0
}

// drop gives up a partition's held points once they outgrow the hold: the
// laps go on, and the dashboards show a gap that reprocessing with a new
// group fills.
func (h *influxHealth) drop(partition int32, batch []byte) {
	points := int64(bytes.Count(batch, []byte{'\n'}))
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.dropped == 0 {
		h.log.Error("processors: InfluxDB down for longer than the hold; dropping held points (laps are not affected; reprocess with a new --group to fill the gap)",
			"partition", partition, "points", points, "held_bytes", len(batch))
	}
	h.dropped += points
}
