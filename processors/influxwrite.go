package processors

import (
	"context"
	"time"

	"github.com/IBM/sarama"
)

// influxWriter writes one partition's points to InfluxDB on a goroutine
// of its own, so the partition goes on consuming, decoding and timing
// laps while its previous batch is in flight (a synchronous write per
// flush left the partition idle for as long as InfluxDB took, which
// under load was most of the time).
//
// The queue holds one batch: the partition hands a batch over (submit)
// only when the writer is idle; while a write is in flight it goes on
// filling the next batch, which therefore grows to whatever InfluxDB's
// pace allows (fewer, bigger requests when it is slow). A partition whose
// next batch reaches Config.FlushBytes waits for the writer: InfluxDB's
// pace then holds the partition back and shows as consumer lag.
//
// Every batch carries the offset mark the partition computed when it cut
// the batch (its laps and dead letters acknowledged already). The writer
// marks it only once InfluxDB accepted the batch and everything held
// before it, or once the held points outgrew Config.InfluxHoldBytes and
// were dropped (influxHealth); marks are applied in the order the batches
// were cut, by this goroutine only.
type influxWriter struct {
	h       *influxHealth
	hold    int
	id      int32
	mk      *marker
	written func(car string, beforeNs int64) // Config.Written, or nil
	ctx     context.Context

	jobs chan influxJob
	idle chan []byte // the emptied buffer, once the job handed over is done
	done chan struct{}
	busy bool // partition side: a job is out and its idle not received

	// The writer goroutine's own state.
	held    []byte           // points not accepted yet
	mark    *offsetMark      // the newest batch's mark, applied once held is written or dropped
	pending map[string]int64 // car → start of its open window in the newest batch
	told    map[string]int64 // car → last beforeNs passed to written
}

// influxJob is one batch and what it covers.
type influxJob struct {
	batch []byte
	mark  *offsetMark // nil: nothing to mark
	open  map[string]int64
}

func newInfluxWriter(ctx context.Context, p *partition) *influxWriter {
	w := &influxWriter{h: p.r.health, hold: p.r.cfg.InfluxHoldBytes, id: p.id, mk: p.mk, written: p.r.cfg.Written, ctx: ctx,
		jobs: make(chan influxJob), idle: make(chan []byte, 1), done: make(chan struct{}),
		pending: map[string]int64{}, told: map[string]int64{}}
	go w.run()
	return w
}

// ready says whether a batch may be handed over now: the writer is idle.
// With wait it waits for that (or for ctx to end) and returns the buffer
// the writer emptied, for the partition to fill next.
func (w *influxWriter) ready(ctx context.Context, wait bool) ([]byte, bool) {
	if !w.busy {
		return nil, true
	}
	if !wait {
		select {
		case b := <-w.idle:
			w.busy = false
			return b, true
		default:
			return nil, false
		}
	}
	select {
	case b := <-w.idle:
		w.busy = false
		return b, true
	case <-ctx.Done():
		return nil, false
	}
}

// submit hands a job over; the writer must be idle (ready said so).
func (w *influxWriter) submit(j influxJob) {
	w.busy = true
	w.jobs <- j
}

// close stops the writer after the job in flight (whose write ends early
// if the session's context ended) and waits for it.
func (w *influxWriter) close() {
	close(w.jobs)
	<-w.done
}

func (w *influxWriter) run() {
	defer close(w.done)
	for j := range w.jobs {
		spare := w.take(j)
		w.write()
		w.idle <- spare
	}
}

// take adds j to the held points and returns the buffer the partition
// fills next.
func (w *influxWriter) take(j influxJob) []byte {
	var spare []byte
	if len(w.held) == 0 {
		w.held, spare = j.batch, w.held[:0]
	} else {
		w.held, spare = append(w.held, j.batch...), j.batch[:0]
	}
	if j.mark != nil {
		w.mark = j.mark
	}
	for car, open := range j.open {
		w.pending[car] = open
	}
	return spare
}

// write tries once to write the held points (once per back-off while
// InfluxDB is down), and marks the newest batch's offset once none are
// held any more.
func (w *influxWriter) write() {
	if len(w.held) > 0 {
		if !w.h.ready(time.Now()) || w.h.write(w.ctx, w.held) != nil {
			if w.ctx.Err() != nil || len(w.held) <= w.hold {
				return // held: tried again with the next batch
			}
			w.h.drop(w.id, w.held)
			clear(w.pending)
		}
		w.held = w.held[:0]
		w.report()
	}
	if w.mark != nil {
		w.mk.apply(*w.mark)
		w.mark = nil
	}
}

// report tells Config.Written how far each car's frames are in InfluxDB:
// everything before its open window when the batch was cut.
func (w *influxWriter) report() {
	if w.written != nil {
		for car, open := range w.pending {
			if open > w.told[car] {
				w.told[car] = open
				w.written(car, open)
			}
		}
	}
	clear(w.pending)
}

// offsetMark is a partition's restart offset and its commit metadata
// (telemetry.OffsetMeta), computed when a batch is cut.
type offsetMark struct {
	offset int64
	meta   string
}

// marker marks a partition's offsets in the group session; it is used by
// one goroutine at a time (the partition's without InfluxDB, its writer's
// with).
type marker struct {
	sess   sarama.ConsumerGroupSession
	topic  string
	id     int32
	marked int64
}

// apply marks m: an offset past the last one marked moves the mark, the
// same offset again replaces its metadata (the position moved on).
func (mk *marker) apply(m offsetMark) {
	switch {
	case m.offset > mk.marked:
		mk.sess.MarkOffset(mk.topic, mk.id, m.offset, m.meta)
	case m.offset == mk.marked:
		mk.sess.ResetOffset(mk.topic, mk.id, m.offset, m.meta)
	}
	mk.marked = m.offset
}
