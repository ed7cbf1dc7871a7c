package processors

import (
	"context"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

// influxWriter writes the points of every partition a processor claimed
// to InfluxDB, on one goroutine of its own, so the partitions go on
// consuming, decoding and timing laps while their previous batches are in
// flight (a synchronous write per partition and flush left a partition
// idle for as long as InfluxDB took, which under load was most of the
// time). The batches that are waiting when a write starts go in one
// request: InfluxDB 1.8 spends about 7 ms of CPU on every write request
// whatever its size, so 6 partitions writing every 200 ms cost it more
// than the points did (BENCHMARKS.md, issue 17).
//
// The partitions cut their batches at the same instants (every
// Config.FlushInterval of the wall clock, aligned: flushClock), and the
// writer, woken by the first, gathers the others' (until every partition
// it serves has handed one over, for at most a quarter of the interval)
// before it writes: a processor then sends one request per interval, not
// one per partition whose unaligned tick happened to come while InfluxDB
// was idle (on a quiet machine that was ten small requests per interval,
// and influxd's CPU went on requests, not points).
//
// A partition has one batch in the writer at a time (partWriter): it
// hands a batch over only once the writer is done with its last one; in
// between it goes on filling the next, which therefore grows to whatever
// InfluxDB's pace allows. A partition whose next batch reaches
// Config.FlushBytes waits for the writer: InfluxDB's pace then holds the
// partition back and shows as consumer lag.
//
// Every batch carries the offset mark its partition computed when it cut
// the batch (its laps and dead letters acknowledged already). The writer
// marks it only once InfluxDB accepted the batch and everything the
// partition held before it, or once the partition's held points outgrew
// Config.InfluxHoldBytes and were dropped (influxHealth); a partition's
// marks are applied in the order its batches were cut, by this goroutine
// only.
type influxWriter struct {
	h       *influxHealth
	hold    int
	written func(car string, beforeNs int64) // Config.Written, or nil

	gather time.Duration // longest wait for the other partitions' batches

	mu     sync.Mutex
	queue  []influxJob
	active int           // partitions served: partition called, its close not taken
	wake   chan struct{} // a job was queued
	stop   chan struct{}
	done   chan struct{}

	// The writer goroutine's own.
	holders map[*partWriter]bool // partitions with points held or a mark to apply
	bufs    [][]byte
}

// partWriter is one claimed partition's side of the writer. busy and
// idle are the partition goroutine's; the rest is the writer goroutine's.
type partWriter struct {
	w    *influxWriter
	id   int32
	mk   *marker
	idle chan []byte // the emptied buffer, once the job handed over is done
	busy bool        // a job is out and its idle not received

	held    []byte           // points not accepted yet
	mark    *offsetMark      // the newest batch's mark, applied once held is written or dropped
	pending map[string]int64 // car → start of its open window in the newest batch
	told    map[string]int64 // car → last beforeNs passed to written
}

// influxJob is one partition's batch and what it covers; close instead
// ends the partition's part in the writer (its claim ended).
type influxJob struct {
	pw    *partWriter
	ctx   context.Context // the group session's: a write for it ends with it
	batch []byte
	mark  *offsetMark // nil: nothing to mark
	open  map[string]int64
	close bool
}

func newInfluxWriter(h *influxHealth, cfg Config) *influxWriter {
	w := &influxWriter{h: h, hold: cfg.InfluxHoldBytes, written: cfg.Written, gather: cfg.FlushInterval / 4, wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{}), holders: map[*partWriter]bool{}}
	go w.run()
	return w
}

// close stops the writer; every partition has closed its partWriter.
func (w *influxWriter) close() {
	close(w.stop)
	<-w.done
}

// partition returns the writer of one claimed partition.
func (w *influxWriter) partition(id int32, mk *marker) *partWriter {
	w.mu.Lock()
	w.active++
	w.mu.Unlock()
	return &partWriter{w: w, id: id, mk: mk, idle: make(chan []byte, 1), pending: map[string]int64{}, told: map[string]int64{}}
}

func (w *influxWriter) enqueue(j influxJob) {
	w.mu.Lock()
	w.queue = append(w.queue, j)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *influxWriter) run() {
	defer close(w.done)
	var spares [][]byte
	for {
		select {
		case <-w.wake:
		case <-w.stop:
			return
		}
		w.gatherJobs()
		w.mu.Lock()
		jobs := w.queue
		w.queue = nil
		for _, j := range jobs {
			if j.close {
				w.active--
			}
		}
		w.mu.Unlock()
		var ctx context.Context
		spares = spares[:0]
		for _, j := range jobs {
			if j.close {
				delete(w.holders, j.pw)
				spares = append(spares, nil)
				continue
			}
			spares = append(spares, j.pw.take(j))
			w.holders[j.pw] = true
			ctx = j.ctx
		}
		if ctx != nil {
			w.write(ctx)
		}
		for i, j := range jobs {
			j.pw.idle <- spares[i]
		}
	}
}

// gatherJobs waits until every partition served has a job queued (a
// partition has at most one: it hands the next over only once the writer
// is done with the last), for at most w.gather.
func (w *influxWriter) gatherJobs() {
	var deadline <-chan time.Time
	for {
		w.mu.Lock()
		all := len(w.queue) >= w.active
		w.mu.Unlock()
		if all {
			return
		}
		if deadline == nil {
			t := time.NewTimer(w.gather)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-w.wake:
		case <-deadline:
			return
		case <-w.stop:
			return
		}
	}
}

// flushClock fires every interval of the wall clock, at its multiples,
// so that every partition of every processor cuts its batch at the same
// instants; a tick missed while the partition was busy is skipped.
type flushClock struct {
	every time.Duration
	next  time.Time
	t     *time.Timer
	C     <-chan time.Time
}

func newFlushClock(every time.Duration) *flushClock {
	next := time.Now().Truncate(every).Add(every)
	t := time.NewTimer(time.Until(next))
	return &flushClock{every: every, next: next, t: t, C: t.C}
}

// fired sets the clock for the next multiple of the interval after now.
func (c *flushClock) fired() {
	now := time.Now()
	for !c.next.After(now) {
		c.next = c.next.Add(c.every)
	}
	c.t.Reset(c.next.Sub(now))
}

func (c *flushClock) stop() { c.t.Stop() }

// write tries once to write every partition's held points in one
// request (once per back-off while InfluxDB is down), and marks each
// partition's newest batch once none of its points are held any more.
func (w *influxWriter) write(ctx context.Context) {
	bufs := w.bufs[:0] // the partitions' points, one request, not copied into one
	for pw := range w.holders {
		if len(pw.held) > 0 {
			bufs = append(bufs, pw.held)
		}
	}
	w.bufs = bufs[:0]
	defer clear(bufs) // hold no partition's buffer past the write
	if len(bufs) > 0 && (!w.h.ready(time.Now()) || w.h.write(ctx, bufs) != nil) {
		if ctx.Err() != nil {
			return // the session ended: its partitions close their writers
		}
		for pw := range w.holders {
			if len(pw.held) == 0 { // nothing of its own held
				pw.report(w.written)
				pw.commit()
				delete(w.holders, pw)
			} else if len(pw.held) > w.hold {
				w.h.drop(pw.id, pw.held)
				pw.held = pw.held[:0]
				clear(pw.pending)
				pw.commit()
				delete(w.holders, pw)
			}
		}
		return // held: tried again with the next batch
	}
	for pw := range w.holders {
		pw.held = pw.held[:0]
		pw.report(w.written)
		pw.commit()
		delete(w.holders, pw)
	}
}

// ready says whether a batch may be handed over now: the writer is done
// with the last one. With wait it waits for that (or for ctx to end). The
// buffer returned is the one to fill next (nil: a new one).
func (pw *partWriter) ready(ctx context.Context, wait bool) ([]byte, bool) {
	if !pw.busy {
		return nil, true
	}
	if !wait {
		select {
		case b := <-pw.idle:
			pw.busy = false
			return b, true
		default:
			return nil, false
		}
	}
	select {
	case b := <-pw.idle:
		pw.busy = false
		return b, true
	case <-ctx.Done():
		return nil, false
	}
}

// submit hands a batch over; the writer must be done with the last one
// (ready said so).
func (pw *partWriter) submit(ctx context.Context, j influxJob) {
	pw.busy = true
	j.pw, j.ctx = pw, ctx
	pw.w.enqueue(j)
}

// close waits until the writer is done with the partition's batch in
// flight (a write for an ended session ends early) and drops the points
// it holds, so that nothing is marked once the claim has ended: the
// partition's next owner re-reads them from the committed offset.
func (pw *partWriter) close() {
	if pw.busy {
		<-pw.idle
	}
	pw.busy = true
	pw.w.enqueue(influxJob{pw: pw, close: true})
	<-pw.idle
	pw.busy = false
}

// take adds j to the held points and returns the buffer the partition
// fills next.
func (pw *partWriter) take(j influxJob) []byte {
	var spare []byte
	if len(pw.held) == 0 {
		pw.held, spare = j.batch, pw.held[:0]
	} else {
		pw.held, spare = append(pw.held, j.batch...), j.batch[:0]
	}
	if j.mark != nil {
		pw.mark = j.mark
	}
	for car, open := range j.open {
		pw.pending[car] = open
	}
	return spare
}

// commit applies the newest batch's mark.
func (pw *partWriter) commit() {
	if pw.mark != nil {
		pw.mk.apply(*pw.mark)
		pw.mark = nil
	}
}

// report tells Config.Written how far each car's frames are in InfluxDB:
// everything before its open window when the batch was cut.
func (pw *partWriter) report(written func(string, int64)) {
	if written != nil {
		for car, open := range pw.pending {
			if open > pw.told[car] {
				pw.told[car] = open
				written(car, open)
			}
		}
	}
	clear(pw.pending)
}

// offsetMark is a partition's restart offset and its commit metadata
// (telemetry.OffsetMeta), computed when a batch is cut.
type offsetMark struct {
	offset int64
	meta   string
}

// marker marks a partition's offsets in the group session; it is used by
// one goroutine at a time (the partition's without InfluxDB, the writer's
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
