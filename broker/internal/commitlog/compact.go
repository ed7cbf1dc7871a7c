package commitlog

import (
	"bufio"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"slices"
	"time"

	"github.com/pitwall/pitwall/broker/internal/durable"
)

// Compaction defaults (see Config).
const (
	DefaultTombstoneRetention     = 24 * time.Hour
	DefaultMinCleanableDirtyRatio = 0.5

	// compactMapBudget bounds the key map of one pass (estimated as key
	// bytes plus keyOverhead per key). A pass maps whole dirty segments
	// until the estimate passes it, so it may exceed it by one segment's
	// keys; what is left is cleaned by the next pass. 32 MiB holds about
	// 400,000 keys of 32 bytes.
	compactMapBudget = 32 << 20
	keyOverhead      = 64
)

// CompactStats reports one Compact call.
type CompactStats struct {
	Skipped           bool    // nothing to do: not a compacted log, nothing closed and dirty, or the dirty ratio is below MinCleanableDirtyRatio
	DirtyRatio        float64 // dirty bytes / compactable bytes when the pass started
	SegmentsRead      int     // closed segments read and, where anything changed, replaced
	SegmentsWritten   int     // segments that replaced them
	BytesRead         int64
	BytesWritten      int64 // bytes of the replacing segments
	Records           int64 // records read
	RecordsRemoved    int64 // superseded by a later record with the same key
	TombstonesRemoved int64 // latest of their key but older than TombstoneRetention
	EmptyBatches      int64 // batches left empty but kept for their producer's sequence
	OpaqueBatches     int64 // kept unread: control batches, bad CRC, undecodable records
	Duration          time.Duration
}

// Compact is one log-compaction pass (cleanup.policy=compact), like one run
// of Kafka's log cleaner for this partition; the broker calls it
// periodically. On a log without Config.Compact it does nothing. It keeps,
// in the closed segments (never the active one), only the latest record of
// each key that appears in the dirty part (segments written since the last
// pass); tombstones (null values) that are the latest of their key go once
// older than TombstoneRetention; records without a key are kept. Surviving
// records keep their offsets and bytes; see doc.go, "Compaction".
//
// It runs beside Append and Read: cleaned segments are written under temp
// names, then swapped in under the lock in a moment. Readers holding a
// replaced segment finish on the old file. A crash at any point leaves
// either the old or the new segments (Open finishes or rolls back the
// swap). Compact and Retain are serialised; Close waits for a pass to stop.
func (l *Log) Compact() (CompactStats, error) {
	if !l.cfg.Compact {
		return CompactStats{Skipped: true}, nil
	}
	l.maintMu.Lock()
	defer l.maintMu.Unlock()
	if l.closing.Load() {
		return CompactStats{}, ErrClosed
	}
	start := time.Now()
	if err := l.finishSwap(); err != nil { // a failed pass after its commit point
		return CompactStats{}, err
	}
	p, err := l.planCompaction()
	if err != nil || p == nil {
		return CompactStats{Skipped: true}, err
	}
	defer p.release(l)
	c := &compactor{l: l, p: p, stats: CompactStats{DirtyRatio: p.ratio}}
	err = c.run()
	c.stats.Duration = time.Since(start)
	if errors.Is(err, errSimulatedCrash) {
		c.closeCleaned() // a crash closes files too; it removes nothing
		return c.stats, err
	}
	if err != nil {
		c.removeCleaned()
		if c.committed {
			l.log.Warn("commitlog: compaction failed after its commit point; the next pass or Open finishes it", "err", err)
		} else {
			l.log.Warn("commitlog: compaction failed; the log is unchanged", "err", err)
		}
		return c.stats, err
	}
	if err == nil {
		l.log.Info("commitlog: compacted", "segments_read", c.stats.SegmentsRead, "segments_written", c.stats.SegmentsWritten,
			"bytes_read", c.stats.BytesRead, "bytes_written", c.stats.BytesWritten, "records_removed", c.stats.RecordsRemoved,
			"tombstones_removed", c.stats.TombstonesRemoved, "took", c.stats.Duration.Round(time.Millisecond))
	}
	return c.stats, err
}

// compactPlan is the segments a pass looks at, with references held.
type compactPlan struct {
	segs        []*segment // the whole log when the pass started; the last is the active one
	sizes, ends []int64
	views       []segView // loaded views of segs[:end]
	firstDirty  int       // segments before it were cleaned by an earlier pass
	end         int       // segments before it may be compacted
	ratio       float64
}

func (p *compactPlan) release(l *Log) {
	l.releaseSnapshot(p.segs)
}

// planCompaction picks the compactable segments (closed, and past
// MinCompactionLag) and reports nil if the dirty ratio is too low.
func (l *Log) planCompaction() (*compactPlan, error) {
	segs, sizes, ends, _, err := l.snapshot()
	if err != nil {
		return nil, err
	}
	p := &compactPlan{segs: segs, sizes: sizes, ends: ends, end: len(segs) - 1}
	if err := l.applyLag(p); err != nil {
		p.release(l)
		return nil, err
	}
	cleaned := l.readCleanerCheckpoint()
	for p.firstDirty < p.end && p.ends[p.firstDirty] <= cleaned {
		p.firstDirty++
	}
	var dirty, total int64
	for i := range p.end {
		total += p.sizes[i]
		if i >= p.firstDirty {
			dirty += p.sizes[i]
		}
	}
	if dirty > 0 {
		p.ratio = float64(dirty) / float64(total)
	}
	if dirty == 0 || p.ratio < l.cfg.MinCleanableDirtyRatio {
		p.release(l)
		return nil, nil
	}
	// Load every segment now, so that each keeps its open file and indexes
	// after its name is given to the cleaned segment.
	for i := range p.end {
		v, err := l.view(p.segs[i], p.sizes[i], p.ends[i])
		if err != nil {
			p.release(l)
			return nil, err
		}
		p.views = append(p.views, v)
	}
	return p, nil
}

// applyLag stops the compactable range at the first segment holding a
// record younger than MinCompactionLag.
func (l *Log) applyLag(p *compactPlan) error {
	if l.cfg.MinCompactionLag <= 0 {
		return nil
	}
	horizon := l.cfg.Now().Add(-l.cfg.MinCompactionLag).UnixMilli()
	for i := range p.end {
		ts, err := l.maxTimestamp(p.segs[i], p.sizes[i], p.ends[i])
		if err != nil {
			return err
		}
		if ts > horizon {
			p.end = i
			return nil
		}
	}
	return nil
}

// compactor is the state of one pass.
type compactor struct {
	l     *Log
	p     *compactPlan
	stats CompactStats

	keys      map[string]int64 // key -> offset of its latest record in the mapped segments
	producers map[int64]int64  // producer id -> base offset of its last batch in the rewritten range
	mapped    int              // segments [0, mapped) are rewritten; [firstDirty, mapped) were mapped
	horizon   int64            // tombstones with timestamps below it go

	groups    [][]int           // consecutive segments merged into one
	cleaned   []*cleanedSegment // per group; nil where nothing changed
	committed bool              // the swap manifest is written: no way back
	added     []*segment        // installed segments opened on the cleaned files

	batch, buf, kept, out []byte
	recs                  []record
}

func (c *compactor) run() error {
	c.horizon = c.l.cfg.Now().Add(-c.l.cfg.TombstoneRetention).UnixMilli()
	if c.l.cfg.TombstoneRetention < 0 {
		c.horizon = math.MaxInt64
	}
	if err := c.buildMap(); err != nil {
		return err
	}
	if err := c.findProducers(); err != nil {
		return err
	}
	c.groups = c.group()
	for _, g := range c.groups {
		cs, err := c.cleanGroup(g)
		if err != nil {
			return err
		}
		c.cleaned = append(c.cleaned, cs)
	}
	if err := c.l.hook("cleaned", ""); err != nil {
		return err
	}
	if err := c.l.swap(c); err != nil {
		return err
	}
	if err := c.l.hook("swapped", ""); err != nil {
		return err
	}
	return c.l.writeCleanerCheckpoint(c.p.ends[c.mapped-1])
}

// buildMap records the latest offset of every key in the dirty segments,
// whole segments at a time, until compactMapBudget is passed.
func (c *compactor) buildMap() error {
	c.keys = map[string]int64{}
	var estimate int64
	c.mapped = c.p.firstDirty
	for i := c.p.firstDirty; i < c.p.end && (i == c.p.firstDirty || estimate <= compactMapBudget); i++ {
		err := c.eachBatch(i, func(h BatchHeader, b []byte) error {
			if !c.decodable(h, b) {
				return nil
			}
			for _, r := range c.recs {
				if r.key == nil {
					continue
				}
				if _, ok := c.keys[string(r.key)]; !ok {
					estimate += int64(len(r.key)) + keyOverhead
				}
				c.keys[string(r.key)] = h.BaseOffset + int64(r.offsetDelta)
			}
			return nil
		})
		if err != nil {
			return err
		}
		c.mapped = i + 1
	}
	return nil
}

// decodable decodes b's records into c.recs, unless b is a control batch,
// fails its CRC or its records do not decode: such batches are kept whole.
func (c *compactor) decodable(h BatchHeader, b []byte) bool {
	if h.Attributes&attrControl != 0 || crc32.Checksum(b[offAttributes:], castagnoli) != h.CRC {
		return false
	}
	var err error
	c.buf, c.recs, err = decodeBatchRecords(b, h, c.buf, c.recs)
	return err == nil
}

// findProducers finds each idempotent producer's last batch in the range
// to rewrite: Kafka keeps it, emptied if need be, so the producer's last
// sequence survives compaction.
func (c *compactor) findProducers() error {
	c.producers = map[int64]int64{}
	var hdr [batchHeaderSize]byte
	for i := range c.mapped {
		f, size := c.p.views[i].file, c.p.sizes[i]
		for pos := int64(0); pos < size; {
			if _, err := f.ReadAt(hdr[:], pos); err != nil {
				return fmt.Errorf("commitlog: compaction: segment %d at %d: %w", c.p.segs[i].base, pos, err)
			}
			h, err := ParseBatchHeader(hdr[:])
			if err != nil || pos+int64(h.Size()) > size {
				return fmt.Errorf("commitlog: compaction: segment %d at %d: %w", c.p.segs[i].base, pos, errors.Join(err, ErrCorruptBatch))
			}
			if h.ProducerID >= 0 {
				c.producers[h.ProducerID] = h.BaseOffset
			}
			pos += int64(h.Size())
		}
	}
	return nil
}

// group splits segments [0, mapped) into runs merged into one cleaned
// segment each: at most SegmentBytes of input, and offsets within 2^32 of
// the first segment's base (index entries hold relative offsets).
func (c *compactor) group() [][]int {
	var groups [][]int
	for i := 0; i < c.mapped; {
		g := []int{i}
		size := c.p.sizes[i]
		for j := i + 1; j < c.mapped && size+c.p.sizes[j] <= c.l.cfg.SegmentBytes &&
			c.p.ends[j]-c.p.segs[i].base <= math.MaxUint32; j++ {
			g = append(g, j)
			size += c.p.sizes[j]
		}
		groups = append(groups, g)
		i += len(g)
	}
	return groups
}

// eachBatch calls fn with every batch of segment i in order, read whole
// into a reused buffer. A segment that does not parse stops the pass:
// writing its cleaned copy could drop what follows the damage.
func (c *compactor) eachBatch(i int, fn func(BatchHeader, []byte) error) error {
	s, size := c.p.segs[i], c.p.sizes[i]
	r := bufio.NewReaderSize(io.NewSectionReader(c.p.views[i].file, 0, size), scanBufSize)
	next := s.base
	for pos := int64(0); pos < size; {
		if c.l.closing.Load() {
			return ErrClosed
		}
		h, err := scanBatchHeader(r, size-pos)
		if err == nil && h.BaseOffset < next {
			err = fmt.Errorf("%w: base offset %d after %d", ErrCorruptBatch, h.BaseOffset, next)
		}
		if err == nil {
			c.batch = slices.Grow(c.batch[:0], h.Size())[:h.Size()]
			_, err = io.ReadFull(r, c.batch)
		}
		if err != nil {
			return fmt.Errorf("commitlog: compaction: segment %d at %d: %w", s.base, pos, err)
		}
		if err := fn(h, c.batch); err != nil {
			return err
		}
		pos += int64(h.Size())
		next = h.LastOffset() + 1
	}
	return nil
}

// scanBatchHeader peeks at the next batch's header and checks that it fits.
func scanBatchHeader(r *bufio.Reader, remaining int64) (BatchHeader, error) {
	b, err := r.Peek(batchHeaderSize)
	if err != nil {
		return BatchHeader{}, fmt.Errorf("%w: partial header (%d bytes)", ErrCorruptBatch, len(b))
	}
	h, err := ParseBatchHeader(b)
	if err == nil && int64(h.Size()) > remaining {
		err = fmt.Errorf("%w: %d-byte batch, %d bytes left", ErrCorruptBatch, h.Size(), remaining)
	}
	if err == nil {
		err = checkHeaderFields(h)
	}
	return h, err
}

// filter returns the batch to write in place of b: b itself (same) when
// every record stays, nil when none does, else a new batch of the
// survivors.
func (c *compactor) filter(h BatchHeader, b []byte) (out []byte, same bool, err error) {
	if !c.decodable(h, b) {
		c.stats.OpaqueBatches++
		return b, true, nil
	}
	c.stats.Records += int64(len(c.recs))
	c.kept = c.kept[:0]
	n, maxTs := int32(0), int64(noTimestamp)
	for _, r := range c.recs {
		off := h.BaseOffset + int64(r.offsetDelta)
		ts := h.FirstTimestamp + r.tsDelta
		if h.Attributes&attrLogAppendTime != 0 {
			ts = h.MaxTimestamp
		}
		if r.key != nil {
			if latest, ok := c.keys[string(r.key)]; ok && latest > off {
				c.stats.RecordsRemoved++
				continue
			}
			if r.nullValue && ts < c.horizon {
				c.stats.TombstonesRemoved++
				continue
			}
		}
		c.kept = append(c.kept, c.buf[r.start:r.end]...)
		n++
		maxTs = max(maxTs, ts)
	}
	if int(n) == len(c.recs) {
		return b, true, nil
	}
	if n == 0 && (h.ProducerID < 0 || c.producers[h.ProducerID] != h.BaseOffset) {
		return nil, false, nil
	}
	if n == 0 {
		c.stats.EmptyBatches++
	}
	if h.Attributes&attrLogAppendTime != 0 {
		maxTs = h.MaxTimestamp
	}
	c.out, err = assembleBatch(c.out[:0], b, h, c.kept, n, maxTs)
	return c.out, false, err
}

// cleanedSegment is one group's output, written as <base>.log.cleaned and
// its indexes.
type cleanedSegment struct {
	base   int64
	inputs []int
	file   *os.File // read-only, kept open across the renames
	size   int64
	idx    indexer
}

// cleanGroup writes the cleaned copy of group g and fsyncs it. It returns
// nil (and leaves no file) when the group is one segment and nothing in it
// changed.
func (c *compactor) cleanGroup(g []int) (*cleanedSegment, error) {
	base := c.p.segs[g[0]].base
	cs := &cleanedSegment{base: base, inputs: g, idx: newIndexer(c.l.cfg.IndexIntervalBytes)}
	path := cleanedPath(c.l.cfg.Dir, base, logSuffix)
	f, err := durable.Open(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("commitlog: compaction: %w", err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, scanBufSize)
	changed := len(g) > 1
	for _, i := range g {
		c.stats.SegmentsRead++
		c.stats.BytesRead += c.p.sizes[i]
		err := c.eachBatch(i, func(h BatchHeader, b []byte) error {
			out, same, err := c.filter(h, b)
			changed = changed || !same
			if err != nil || out == nil {
				return err
			}
			oh, _ := ParseBatchHeader(out)
			cs.idx.add(uint32(h.BaseOffset-base), cs.size, len(out), oh.MaxTimestamp)
			cs.size += int64(len(out))
			_, err = w.Write(out)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	if !changed {
		return nil, os.Remove(path)
	}
	cs.idx.addTime()
	if err := finishCleaned(c.l.cfg.Dir, w, f, cs); err != nil {
		return nil, fmt.Errorf("commitlog: compaction: %w", err)
	}
	c.stats.SegmentsWritten++
	c.stats.BytesWritten += cs.size
	return cs, nil
}

// finishCleaned flushes and fsyncs the cleaned segment, writes its two
// indexes beside it, and reopens it read-only.
func finishCleaned(dir string, w *bufio.Writer, f *os.File, cs *cleanedSegment) error {
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := writeSynced(cleanedPath(dir, cs.base, indexSuffix), encodeOffsets(nil, cs.idx.offsets)); err != nil {
		return err
	}
	if err := writeSynced(cleanedPath(dir, cs.base, timeIndexSuffix), encodeTimes(nil, cs.idx.times)); err != nil {
		return err
	}
	ro, err := durable.Open(f.Name(), os.O_RDONLY, 0)
	cs.file = ro
	return err
}

// writeSynced creates path with data and fsyncs it.
func writeSynced(path string, data []byte) error {
	f, err := durable.Open(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

// closeCleaned closes the cleaned segments that no segment took over.
func (c *compactor) closeCleaned() {
	for _, cs := range c.cleaned {
		if cs != nil && cs.file != nil {
			_ = cs.file.Close()
			cs.file = nil
		}
	}
}

// removeCleaned deletes this pass's cleaned files after a failure before
// its commit point; after it, the next pass or Open finishes the swap.
func (c *compactor) removeCleaned() {
	c.closeCleaned()
	if c.committed {
		return
	}
	for _, cs := range c.cleaned {
		if cs == nil {
			continue
		}
		for _, suffix := range segmentSuffixes {
			_ = os.Remove(cleanedPath(c.l.cfg.Dir, cs.base, suffix))
		}
	}
	if len(c.groups) > len(c.cleaned) { // the group being written when it failed
		base := c.p.segs[c.groups[len(c.cleaned)][0]].base
		for _, suffix := range segmentSuffixes {
			_ = os.Remove(cleanedPath(c.l.cfg.Dir, base, suffix))
		}
	}
}
