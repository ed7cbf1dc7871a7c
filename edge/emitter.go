package edge

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pitwall/pitwall/edge/source"
	"github.com/pitwall/pitwall/edge/spool"
	"github.com/pitwall/pitwall/telemetry"
)

var (
	_ source.Sink          = (*emitter)(nil)
	_ source.SessionKeeper = (*emitter)(nil)
)

// emitter is where one source puts what it decodes: frames, catalogs and
// bad input become Kafka records in a spool batch, appended to the spool
// by Flush. It is the source.Sink (and source.SessionKeeper) of one
// source, used by that source's goroutine only.
type emitter struct {
	e     *Edge
	name  string
	stats *sourceStats
	batch spool.Batch
	buf   []byte
	// counted once the batch is in the spool (or refused)
	frames, samples, catalogs int
	// cats are the catalogs in the batch, as catalogChanged recorded them
	cats []*telemetry.ChannelCatalog
	// counters is this source's children of the per-source counters,
	// looked up at the first Flush: a lookup hashes the label values,
	// and Flush runs once per read (thousands of times a second).
	counters *sourceCounters
}

// sourceCounters are one source's counters of a successful Flush.
type sourceCounters struct {
	framesIn, samplesIn, catalogsIn, framesRead prometheus.Counter
}

func (m *emitter) sourceCounters() *sourceCounters {
	if m.counters == nil {
		ms := m.e.metrics
		m.counters = &sourceCounters{framesIn: ms.framesIn.WithLabelValues(m.name), samplesIn: ms.samplesIn.WithLabelValues(m.name),
			catalogsIn: ms.catalogsIn.WithLabelValues(m.name), framesRead: ms.framesRead.WithLabelValues(m.name)}
	}
	return m.counters
}

// maxBatchBytes flushes a batch early, bounding the memory one read of a
// very fast source can take.
const maxBatchBytes = 4 << 20

// sourceStats are a source's counters for the status line.
type sourceStats struct {
	name    string
	read    atomic.Int64 // frames decoded, spooled or not
	frames  atomic.Int64 // frames spooled
	dropped atomic.Int64 // frames the spool refused
	bad     atomic.Int64
	up      atomic.Bool
	lastErr atomic.Pointer[string]
}

// Frame encodes f as an Avro Frame record keyed by car.
func (m *emitter) Frame(f *telemetry.Frame, recv time.Time) error {
	var err error
	if m.buf, err = m.e.codec.AppendFrame(m.buf[:0], f); err != nil {
		return err
	}
	m.add(&spool.Record{Topic: m.e.cfg.Topic, Key: []byte(f.Car), TimeNs: recv.UnixNano(), Value: m.buf, Count: uint32(len(f.Samples))})
	m.frames++
	m.samples += len(f.Samples)
	return nil
}

// Catalog encodes c for the compacted catalog topic, unless it is the
// car's catalog already (loggers repeat theirs every few seconds).
func (m *emitter) Catalog(c *telemetry.ChannelCatalog, recv time.Time) error {
	kept := m.e.catalogChanged(c)
	if kept == nil {
		return nil
	}
	var err error
	if m.buf, err = m.e.codec.AppendCatalog(m.buf[:0], c); err != nil {
		m.e.catalogsLost([]*telemetry.ChannelCatalog{kept})
		return err
	}
	// Counted with the batch before add, which may flush it.
	m.cats = append(m.cats, kept)
	m.catalogs++
	if !m.add(&spool.Record{Topic: telemetry.TopicChannels, Key: []byte(c.Car), TimeNs: recv.UnixNano(), Value: m.buf}) {
		m.cats = m.cats[:len(m.cats)-1]
		m.catalogs--
		m.e.catalogsLost([]*telemetry.ChannelCatalog{kept})
	}
	return nil
}

// Bad counts bad input, logs it once per kind per minute and spools its
// raw bytes for the dead-letter topic with the reason in a header.
func (m *emitter) Bad(reason string, raw []byte, err error, recv time.Time) {
	m.stats.bad.Add(1)
	m.e.metrics.bad.WithLabelValues(m.name, reason).Inc()
	m.e.logBad(m.name, reason, err, raw)
	m.add(deadLetter(m.name, reason, raw, err, recv.UnixNano()))
}

// maxDeadLetter bounds the raw bytes kept in a dead letter, so a huge
// bad payload still fits in a Kafka record (1 MiB by default).
const maxDeadLetter = 512 << 10

// deadLetter builds the dead-letter record of raw input: headers reason,
// source, error, and truncated (the original length) when raw was cut.
func deadLetter(source, reason string, raw []byte, err error, timeNs int64, extra ...spool.Header) *spool.Record {
	headers := []spool.Header{{Key: telemetry.HeaderReason, Value: []byte(reason)}, {Key: "source", Value: []byte(source)}}
	if len(raw) > maxDeadLetter {
		headers = append(headers, spool.Header{Key: "truncated", Value: []byte(strconv.Itoa(len(raw)))})
		raw = raw[:maxDeadLetter]
	}
	if err != nil {
		msg := err.Error()
		if len(msg) > 1024 {
			msg = msg[:1024]
		}
		headers = append(headers, spool.Header{Key: "error", Value: []byte(msg)})
	}
	return &spool.Record{Topic: telemetry.TopicDeadLetter, Key: []byte(source), TimeNs: timeNs, Headers: append(headers, extra...), Value: raw}
}

// Note counts a source event and logs it once per kind per minute.
func (m *emitter) Note(event string, err error) {
	m.e.metrics.events.WithLabelValues(m.name, event).Inc()
	m.e.logNote(m.name, event, err)
}

// Up records whether the source's device or connection is open.
func (m *emitter) Up(up bool, err error) {
	m.stats.up.Store(up)
	v := 0.0
	if up {
		v = 1
	}
	m.e.metrics.up.WithLabelValues(m.name).Set(v)
	if err != nil {
		msg := m.name + ": " + err.Error()
		m.stats.lastErr.Store(&msg)
		m.e.setLastErr(msg)
	}
}

// add puts r in the batch (false: too large for the spool, dropped and
// counted).
func (m *emitter) add(r *spool.Record) bool {
	if err := m.batch.Add(r); err != nil {
		m.e.metrics.dropped.WithLabelValues(m.name, source.DropTooLarge).Inc()
		m.e.logLimited("drop:"+m.name, "edge: record too large for the spool, dropped", "source", m.name, "err", err)
		return false
	}
	if m.batch.Size() >= maxBatchBytes {
		m.Flush()
	}
	return true
}

// Flush appends the batch to the spool in one write. What the spool
// refuses is lost, and counted as dropped.
func (m *emitter) Flush() error {
	if m.batch.Len() == 0 {
		return nil
	}
	_, err := m.e.spool.Append(&m.batch)
	c := m.sourceCounters()
	if err != nil {
		reason := source.DropWriteFailed
		switch {
		case errors.Is(err, spool.ErrDiskFull):
			reason = source.DropDiskFull
		case errors.Is(err, spool.ErrFull):
			reason = source.DropSpoolFull
		case errors.Is(err, spool.ErrClosed):
			reason = source.DropClosed
		}
		m.e.metrics.dropped.WithLabelValues(m.name, reason).Add(float64(m.batch.Len()))
		m.e.metrics.framesDropped.WithLabelValues(m.name).Add(float64(m.frames))
		m.stats.dropped.Add(int64(m.frames))
		m.e.logLimited("drop:"+m.name+reason, "edge: SPOOL REFUSED RECORDS; they are lost", "source", m.name, "records", m.batch.Len(), "err", err)
		m.e.setLastErr("spool: " + err.Error())
		m.e.catalogsLost(m.cats)
	} else {
		if len(m.cats) > 0 {
			m.e.catalogsSpooled(m.cats)
		}
		m.stats.frames.Add(int64(m.frames))
		c.framesIn.Add(float64(m.frames))
		c.samplesIn.Add(float64(m.samples))
		c.catalogsIn.Add(float64(m.catalogs))
	}
	m.stats.read.Add(int64(m.frames))
	c.framesRead.Add(float64(m.frames))
	m.batch.Reset()
	clear(m.cats)
	m.cats = m.cats[:0]
	m.frames, m.samples, m.catalogs = 0, 0, 0
	return err
}

// catalogs remembers the last catalog of every car, so repeats are not
// published again, and saves them beside the spool (saveCatalogs).
type catalogs struct {
	mu   sync.Mutex
	last map[string]*catalogEntry
	gen  uint64 // changes to what the catalogs file should hold
	// saved is the gen the catalogs file holds; guarded by mu.
	saved uint64
	// kick tells the saver a change waits (capacity 1: changes that
	// come while it writes are saved together by its next write).
	kick chan struct{}
	// beforeSave, when set (tests), runs before each save.
	beforeSave func()
}

// catalogEntry is a car's last catalog, a copy no one changes (replaced,
// never written to), and whether its record is in the spool.
type catalogEntry struct {
	c       *telemetry.ChannelCatalog
	spooled bool
}

// catalogChanged records c as its car's catalog unless it is the one
// recorded already, and returns the copy it recorded (nil: unchanged).
// The emitter reports what became of its record (catalogsSpooled,
// catalogsLost). Nothing here waits for a disk: at the start of a
// session every car announces its catalog at once, and the durable write
// of the catalogs file each did here, one after the other under the lock,
// held the last car's port unread for hundreds of milliseconds while its
// logger kept sending.
func (e *Edge) catalogChanged(c *telemetry.ChannelCatalog) *telemetry.ChannelCatalog {
	e.cats.mu.Lock()
	defer e.cats.mu.Unlock()
	if old := e.cats.last[c.Car]; old != nil && old.c.Session == c.Session && slices.Equal(old.c.Channels, c.Channels) {
		return nil
	}
	cp := *c
	cp.Channels = slices.Clone(c.Channels)
	e.cats.last[c.Car] = &catalogEntry{c: &cp}
	return &cp
}

// catalogsSpooled marks cats (from catalogChanged) as in the spool and
// asks the saver to write the catalogs file: only a catalog the spool
// holds goes into the file, so a crash between the two costs a repeated
// catalog record, never a catalog the broker does not get.
func (e *Edge) catalogsSpooled(cats []*telemetry.ChannelCatalog) {
	e.cats.mu.Lock()
	defer e.cats.mu.Unlock()
	gen := e.cats.gen
	for _, c := range cats {
		if en := e.cats.last[c.Car]; en != nil && en.c == c {
			en.spooled = true
			e.cats.gen++
		}
	}
	if e.cats.gen == gen {
		return // each replaced since: the file waits for the newer one
	}
	select {
	case e.cats.kick <- struct{}{}:
	default: // a kick is pending: that save includes these
	}
}

// catalogsLost forgets cats (from catalogChanged) whose record the spool
// refused, so the logger's next repeat of each is published.
func (e *Edge) catalogsLost(cats []*telemetry.ChannelCatalog) {
	e.cats.mu.Lock()
	defer e.cats.mu.Unlock()
	for _, c := range cats {
		if en := e.cats.last[c.Car]; en != nil && en.c == c {
			delete(e.cats.last, c.Car)
		}
	}
}

// Session returns the session of the car's last catalog, for sources
// whose frames do not carry one (source.SessionKeeper).
func (m *emitter) Session(car string) (string, bool) {
	m.e.cats.mu.Lock()
	defer m.e.cats.mu.Unlock()
	if en := m.e.cats.last[car]; en != nil {
		return en.c.Session, true
	}
	return "", false
}

// catalogsFile keeps the last catalog of every car beside the spool, so
// a restarted edge neither republishes unchanged catalogs nor loses the
// session of cars whose frames do not carry it.
const catalogsFile = "catalogs"

// saveCatalogs writes the catalogs file whenever a catalog changed, until
// stop is closed; then once more if a change is not saved yet, and closes
// done. It runs beside the sources (Run).
func (e *Edge) saveCatalogs(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	for {
		select {
		case <-e.cats.kick:
			e.saveCatalogsOnce()
		case <-stop:
			e.saveCatalogsOnce()
			return
		}
	}
}

// saveCatalogsOnce writes every car's spooled catalog (length-prefixed
// Avro) to the catalogs file, atomically and durably, in the spool's
// reserved space if the disk is full (spool.WriteFile), unless the file
// holds the latest already. Only the saver calls it, so saves never
// overlap.
func (e *Edge) saveCatalogsOnce() {
	e.cats.mu.Lock()
	gen := e.cats.gen
	if gen == e.cats.saved {
		e.cats.mu.Unlock()
		return
	}
	cats := make([]*telemetry.ChannelCatalog, 0, len(e.cats.last))
	for _, en := range e.cats.last {
		if en.spooled {
			cats = append(cats, en.c)
		}
	}
	hook := e.cats.beforeSave
	e.cats.mu.Unlock()
	if hook != nil {
		hook()
	}
	var b []byte
	for _, c := range cats {
		v, err := e.codec.AppendCatalog(nil, c)
		if err != nil {
			continue
		}
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	if err := e.spool.WriteFile(catalogsFile, b); err != nil {
		e.logLimited("catalogs-file", "edge: cannot save the catalogs file", "err", err)
		return
	}
	e.cats.mu.Lock()
	e.cats.saved = gen
	e.cats.mu.Unlock()
}

// loadCatalogs reads what saveCatalogs wrote; a damaged file is ignored.
func (e *Edge) loadCatalogs() {
	b, err := os.ReadFile(filepath.Join(e.cfg.Spool.Dir, catalogsFile))
	if err != nil {
		return
	}
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			e.log.Warn("edge: damaged catalogs file, ignoring the rest", "dir", e.cfg.Spool.Dir)
			return
		}
		var c telemetry.ChannelCatalog
		if err := e.codec.DecodeCatalog(b[k:k+int(n)], &c); err == nil {
			e.cats.last[c.Car] = &catalogEntry{c: &c, spooled: true}
		}
		b = b[k+int(n):]
	}
}
