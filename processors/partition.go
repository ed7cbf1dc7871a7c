package processors

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/processors/alarm"
	"github.com/pitwall/pitwall/processors/influx"
	"github.com/pitwall/pitwall/processors/lap"
	"github.com/pitwall/pitwall/telemetry"
)

// partition is the state of one claimed partition of telemetry: its cars,
// the output not yet flushed, and where each car would restart.
type partition struct {
	r       *runner
	sess    sarama.ConsumerGroupSession
	topic   string
	id      int32
	cars    map[string]*car
	restart map[string]int64 // committed per-car restart offsets, until the car shows up
	nocat   map[string]int64 // cars without a channel catalog → offset after their last dead letter
	known   map[string][]telemetry.Lap
	batch   []byte                    // line protocol not yet written
	outbox  []*sarama.ProducerMessage // laps and dead letters not yet produced
	pending []telemetry.Lap           // laps in p.outbox, to mark as published once acknowledged
	next    int64                     // offset after the last record handled
	pos     *atomic.Int64             // next, for the pipeline stats (runner.positions)
	newest  int64                     // newest sensor time seen
	mk      *marker
	w       *partWriter // nil without InfluxDB
	frame   telemetry.Frame
	out     []telemetry.Lap
}

// car is one car's state in a partition.
type car struct {
	session   string
	det       *lap.Detector
	ch        lap.Channels
	ds        *influx.Downsampler
	skip      int64 // records before this offset were handled before a restart
	restart   int64 // where a restarted processor would start for this car
	window    int64 // first offset of the open downsampling window
	fixWindow int64 // first offset of the window of the last GPS fix
	lastNs    int64
	published map[int32]bool
	seqSeen   bool  // seq is set
	seq       int64 // the last frame's sequence number: one not after it, and not newer, is a duplicate
	dups      int64 // duplicates skipped
	live      *liveCar
	alarms    *alarm.Car // nil without Config.Alarms
	alarmBeat int64      // sensor time of the last heartbeat point of its raised alarms
}

func (r *runner) newPartition(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) (*partition, error) {
	p := &partition{r: r, sess: sess, topic: claim.Topic(), id: claim.Partition(), cars: map[string]*car{},
		nocat: map[string]int64{}, next: claim.InitialOffset(), pos: new(atomic.Int64)}
	p.mk = &marker{sess: sess, topic: p.topic, id: p.id, marked: -1}
	p.pos.Store(p.next)
	st := r.claimed
	meta, err := telemetry.ParseOffsetMeta(st.meta[p.id])
	if err != nil {
		r.bad.report("offset metadata", err)
		meta.Restarts = map[string]int64{}
	}
	p.restart = meta.Restarts
	p.known = map[string][]telemetry.Lap{}
	for c, ls := range st.known {
		if st.parts == 0 || telemetry.Partition([]byte(c), st.parts) == p.id {
			p.known[c] = ls
		}
	}
	for _, ls := range p.known {
		for i := range ls {
			k := lap.KnownFrom(&ls[i])
			r.sessionBest(ls[i].Session, k.EndNs-k.StartNs, k.Valid)
		}
	}
	r.cfg.Logger.Info("processors: claimed", "partition", p.id, "offset", p.next, "cars_restarting", len(p.restart))
	return p, nil
}

func (r *runner) partitionsOf(topic string) []int32 {
	ps, _ := r.client.Partitions(topic)
	return ps
}

// committedMetadata fetches the metadata committed with the partitions'
// offsets, in one request: sarama's claims carry the offsets but not the
// metadata.
func (r *runner) committedMetadata(topic string, parts []int32) (map[int32]string, error) {
	out := map[int32]string{}
	if len(parts) == 0 {
		return out, nil
	}
	// Closing the admin would close the shared client.
	admin, err := sarama.NewClusterAdminFromClient(r.client)
	if err != nil {
		return nil, fmt.Errorf("processors: offsets: %w", err)
	}
	resp, err := admin.ListConsumerGroupOffsets(r.cfg.Group, map[string][]int32{topic: parts})
	if err != nil {
		return nil, fmt.Errorf("processors: offsets: %w", err)
	}
	if resp.Err != sarama.ErrNoError {
		return nil, fmt.Errorf("processors: offsets: %w", resp.Err)
	}
	for _, p := range parts {
		b := resp.GetBlock(topic, p)
		if b == nil {
			continue
		}
		if b.Err != sarama.ErrNoError {
			return nil, fmt.Errorf("processors: offsets of partition %d: %w", p, b.Err)
		}
		out[p] = b.Metadata
	}
	return out, nil
}

// handle processes one record of telemetry.
func (p *partition) handle(ctx context.Context, m *sarama.ConsumerMessage) error {
	p.next = m.Offset + 1
	p.pos.Store(p.next)
	f := &p.frame
	if err := p.r.codec.DecodeFrame(m.Value, f); err != nil {
		p.deadLetter(m, decodeReason(err), "", err)
		return nil
	}
	c := p.car(ctx, m, f)
	if c == nil {
		return nil
	}
	if m.Offset < c.skip {
		return nil
	}
	if c.seqSeen && f.Seq <= c.seq && f.TimeNs <= c.lastNs {
		// Sent again (an edge replaying its spool after a crash): timed
		// already. A logger whose counter restarted sends newer times.
		if c.dups++; c.dups&(c.dups-1) == 0 {
			p.r.cfg.Logger.Info("processors: skipping frames timed already (sent again by an edge)", "car", f.Car, "seq", f.Seq, "skipped", c.dups)
		}
		return nil
	}
	c.seqSeen, c.seq = true, f.Seq
	c.lastNs = f.TimeNs
	if c.restart < 0 {
		c.restart = m.Offset // the car's first record here starts its first window
	}
	p.newest = max(p.newest, f.TimeNs)
	if w := c.ds.WindowOf(f.TimeNs); w > c.ds.Open() {
		c.window = m.Offset
	}
	fix := c.ch.HasFix(f)
	before := c.det.Crossings()
	p.out = c.det.Frame(f, p.out[:0])
	p.report(c, f.Car)
	p.live(c, f)
	p.alarms(c, f, c.det.Crossings() != before)
	switch {
	case c.det.Crossings() != before && fix:
		c.restart = c.fixWindow // re-read from the fix before the crossing
	case c.det.Crossings() != before:
		c.restart = c.window // beacon: re-read the crossing's frame
	case fix && !c.det.Started():
		c.restart = c.window
	}
	if fix {
		c.fixWindow = c.window
	}
	if p.r.influx != nil {
		p.batch = c.ds.Frame(p.batch, f)
		c.ds.Live(c.det.Live())
		c.ds.Distance(c.det.Distance())
	}
	for i := range p.out {
		p.lap(c, &p.out[i])
	}
	return nil
}

// car returns the state of f's car, creating it on its first frame (m);
// nil for a frame to skip: handled before a restart, or of a car without
// a channel catalog (see catalog).
func (p *partition) car(ctx context.Context, m *sarama.ConsumerMessage, f *telemetry.Frame) *car {
	c := p.cars[f.Car]
	if c != nil && c.session == f.Session {
		return c
	}
	if c == nil && m.Offset < p.restart[f.Car] {
		return nil // handled before a restart: no need for its catalog
	}
	cat := p.catalog(ctx, m, f.Car)
	if cat == nil {
		return nil
	}
	ch := lap.NewChannels(cat, p.r.cfg.Lap.Beacon)
	det, err := lap.NewDetector(p.r.cfg.Lap, ch, f.Car, f.Session)
	if err != nil { // Run checked the config: a bug, not input
		p.r.fail(fmt.Errorf("processors: car %s: %w", f.Car, err))
		return nil
	}
	var known []lap.Known
	published := map[int32]bool{}
	for i, l := range p.known[f.Car] {
		if l.Session == f.Session {
			known = append(known, lap.KnownFrom(&p.known[f.Car][i]))
			published[l.Lap] = true
		}
	}
	det.Restore(known)
	nc := &car{session: f.Session, det: det, ch: ch, ds: influx.NewDownsampler(cat, f.Session, p.r.cfg.Window),
		restart: -1, published: published, live: newLiveCar(cat, p.r.cfg.Lap.Track.Planar), alarms: p.newAlarms(cat)}
	if c == nil { // first frame since the claim: skip what was handled before a restart
		nc.skip = p.restart[f.Car]
		delete(p.restart, f.Car)
	} else if p.r.influx != nil {
		p.batch = c.ds.Flush(p.batch) // a new session: close the old one's window
	}
	p.cars[f.Car] = nc
	return nc
}

// report logs (debug) and counts the crossings c's detector ignored in
// its last frame, and acts on the problems it found with the track's
// lines: a line crossed only backwards ends Run with the error (nothing
// can be timed on it), a line not crossed is warned about once.
func (p *partition) report(c *car, id string) {
	for _, ig := range c.det.Ignored() {
		p.r.ignored.add(ig.Reason)
		p.r.cfg.Logger.Debug("processors: crossing ignored", "car", id, "line", ig.Line, "reason", ig.Reason,
			"at", time.Unix(0, ig.AtNs).UTC())
	}
	for _, e := range c.det.Problems() {
		if errors.Is(e, lap.ErrLineBackwards) {
			p.r.fail(fmt.Errorf("processors: %w", e))
			continue
		}
		if p.r.ignored.first("problem " + e.Line) {
			p.r.cfg.Logger.Warn("processors: "+e.Error(), "line", e.Line)
		}
	}
}

// Reasons for a record of telemetry to go to telemetry.deadletter (the
// HeaderReason header), in the edge's vocabulary where it has the word.
const (
	reasonNoCatalog     = "no_catalog"     // the car's channel catalog did not come within Config.CatalogWait
	reasonUnknownFormat = "unknown_format" // not Avro single-object encoded
	reasonUnknownSchema = "unknown_schema" // Avro with a writer schema this processor does not know
	reasonWrongSchema   = "wrong_schema"   // Avro of another record type than Frame
	reasonCorrupt       = "corrupt"        // Avro that does not decode
	reasonInvalid       = "invalid"        // decodes, but breaks the model's rules
)

func decodeReason(err error) string {
	switch {
	case errors.Is(err, telemetry.ErrNotAvro):
		return reasonUnknownFormat
	case errors.Is(err, telemetry.ErrUnknownSchema):
		return reasonUnknownSchema
	case errors.Is(err, telemetry.ErrWrongSchema):
		return reasonWrongSchema
	case errors.Is(err, telemetry.ErrInvalid):
		return reasonInvalid
	}
	return reasonCorrupt
}

// catalog returns car's channel catalog, or nil after sending m to the
// dead-letter topic. The first frame of a car without a catalog waits
// Config.CatalogWait for it (at start the catalogs tail may be behind);
// after that the car is remembered as catalog-less, and its frames go to
// the dead-letter topic at once until its catalog comes. nil too when
// ctx ends while waiting (the session is ending; nothing is marked past
// m).
func (p *partition) catalog(ctx context.Context, m *sarama.ConsumerMessage, car string) *telemetry.ChannelCatalog {
	if cat := p.r.cats.get(car); cat != nil {
		delete(p.nocat, car)
		return cat
	}
	if _, known := p.nocat[car]; !known {
		p.r.cfg.Logger.Debug("processors: car has no channel catalog yet; waiting up to "+p.r.cfg.CatalogWait.String(),
			"car", car, "partition", p.id, "offset", m.Offset)
		cat, err := p.r.cats.wait(ctx, car, p.r.cfg.CatalogWait)
		if cat != nil || err != nil {
			return cat
		}
	}
	p.nocat[car] = m.Offset + 1
	p.deadLetter(m, reasonNoCatalog, car, fmt.Errorf("car %q has no channel catalog on %s (waited %v)",
		car, telemetry.TopicChannels, p.r.cfg.CatalogWait))
	return nil
}

// deadLetterSource is the key (and source header) of the processor's
// dead letters; the edge's are keyed by their input.
func (p *partition) deadLetterSource() string { return "process:" + p.r.cfg.Group }

// deadLetter queues m, raw, for telemetry.deadletter with the reason
// (counted, and logged once per kind); the offset moves past m only once
// the dead letter is acknowledged, like a lap. Headers: reason, source,
// error, topic, partition, offset, and car where known.
func (p *partition) deadLetter(m *sarama.ConsumerMessage, reason, car string, err error) {
	p.r.bad.report(reason, err)
	msg := err.Error()
	if len(msg) > 1024 {
		msg = msg[:1024]
	}
	src := p.deadLetterSource()
	h := func(k, v string) sarama.RecordHeader { return sarama.RecordHeader{Key: []byte(k), Value: []byte(v)} }
	headers := []sarama.RecordHeader{h(telemetry.HeaderReason, reason), h("source", src), h("error", msg),
		h("topic", m.Topic), h("partition", strconv.Itoa(int(m.Partition))), h("offset", strconv.FormatInt(m.Offset, 10))}
	if car != "" {
		headers = append(headers, h("car", car))
	}
	p.outbox = append(p.outbox, &sarama.ProducerMessage{Topic: telemetry.TopicDeadLetter, Key: sarama.StringEncoder(src),
		Value: sarama.ByteEncoder(m.Value), Headers: headers, Timestamp: m.Timestamp})
}

// lap queues a completed lap for InfluxDB and, unless already published,
// for telemetry.laps.
func (p *partition) lap(c *car, l *telemetry.Lap) {
	k := lap.KnownFrom(l)
	best, ok := p.r.sessionBest(l.Session, k.EndNs-k.StartNs, k.Valid && !c.published[l.Lap])
	if p.r.influx != nil {
		var extra []telemetry.Metric
		if ok {
			extra = append(extra, telemetry.Metric{Name: "delta_session_best_s", Value: float64(k.EndNs-k.StartNs-best) / 1e9})
		}
		p.batch = influx.AppendLap(p.batch, l, extra...)
	}
	if c.published[l.Lap] {
		p.r.cfg.Logger.Debug("processors: lap already on "+telemetry.TopicLaps+" (re-read after a restart)", "car", l.Car, "lap", l.Lap)
		return
	}
	p.r.cfg.Logger.Info("processors: lap", "car", l.Car, "lap", l.Lap, "time", clock(l.LapTime()), "valid", k.Valid,
		"pit", l.PitLane, "session", l.Session)
	v, err := p.r.codec.AppendLap(nil, l)
	if err != nil {
		p.r.bad.report("lap encode", err)
		return
	}
	p.outbox = append(p.outbox, &sarama.ProducerMessage{Topic: telemetry.TopicLaps, Key: sarama.StringEncoder(l.Car), Value: sarama.ByteEncoder(v),
		Headers: []sarama.RecordHeader{{Key: []byte(HeaderGroup), Value: []byte(p.r.cfg.Group)}}})
	p.pending = append(p.pending, *l)
}

// flush produces the laps and dead letters and, once they are
// acknowledged, hands the batch of points with the partition's restart
// offset to its InfluxDB writer, which marks the offset once InfluxDB
// accepted the points (influxWriter). While the writer's previous batch
// is in flight the points stay in this partition's batch for the next
// flush, unless wait says to wait for the writer (the batch is full, or
// the claim ends). Points InfluxDB did not take are held (see
// influxHealth) without holding back the laps, and the offset stays until
// they are written or dropped.
func (p *partition) flush(ctx context.Context, wait bool) error {
	if len(p.outbox) > 0 {
		if err := retry(ctx, "laps produce", p.r, func() error { return p.r.producer.SendMessages(p.outbox) }); err != nil {
			return nil // session over: nothing marked
		}
		for _, l := range p.pending {
			if c := p.cars[l.Car]; c != nil && c.session == l.Session {
				c.published[l.Lap] = true
			}
		}
	}
	clear(p.outbox) // the records' bytes
	p.outbox, p.pending = p.outbox[:0], p.pending[:0]
	if p.w == nil {
		p.batch = p.batch[:0]
		if m, ok := p.markOf(); ok {
			p.mk.apply(m)
		}
		return nil
	}
	spare, ok := p.w.ready(ctx, wait)
	if !ok {
		return nil
	}
	j := influxJob{batch: p.batch}
	if m, ok := p.markOf(); ok {
		j.mark = &m
	}
	if p.r.cfg.Written != nil {
		j.open = make(map[string]int64, len(p.cars))
		for id, c := range p.cars {
			j.open[id] = c.ds.Open()
		}
	}
	p.w.submit(ctx, j)
	p.batch = spare
	return nil
}

// end flushes what the partition holds and waits until its writer is
// done with it, when the claim ends cleanly.
func (p *partition) end(ctx context.Context) error {
	err := p.flush(ctx, true)
	if p.w != nil {
		p.w.ready(ctx, true)
	}
	return err
}

// markOf is the mark for what the partition handled so far: the
// smallest restart offset of the partition's cars, with every car's own
// restart offset in the metadata, and that of cars without a catalog
// past it (so their frames are not sent to the dead-letter topic again
// after a restart). The metadata also carries the position (p.next:
// everything before it is processed, and its results accepted once the
// mark is applied), so `pitwall groups describe` can tell the records
// not yet processed from those held for open laps (telemetry.OffsetMeta).
// false: nothing to mark yet.
func (p *partition) markOf() (offsetMark, bool) {
	restarts := map[string]int64{}
	low := p.next
	for car, off := range p.restart { // committed before, car not seen since
		if off < p.next {
			// Read past without the car showing up at its restart
			// offset: a catalog-less car's entry, or a record gone.
			delete(p.restart, car)
			continue
		}
		restarts[car], low = off, min(low, off)
	}
	for id, c := range p.cars {
		if p.newest-c.lastNs > int64(p.r.cfg.StaleAfter) {
			continue
		}
		if c.restart < 0 {
			continue // no record of the car handled yet
		}
		restarts[id], low = c.restart, min(low, c.restart)
	}
	if low < 0 {
		return offsetMark{}, false
	}
	for car, off := range p.nocat {
		if off > low {
			restarts[car] = off
		}
	}
	return offsetMark{offset: low, meta: telemetry.OffsetMeta{Position: p.next, Restarts: restarts}.Encode()}, true
}

// clock formats a lap time as m:ss.mmm.
func clock(d time.Duration) string {
	ms := d.Round(time.Millisecond).Milliseconds()
	return fmt.Sprintf("%d:%02d.%03d", ms/60000, ms/1000%60, ms%1000)
}
