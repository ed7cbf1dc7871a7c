package commitlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// Index entry sizes on disk (see doc.go).
const (
	offsetEntrySize = 8  // relative offset uint32, position uint32
	timeEntrySize   = 12 // max timestamp so far int64, relative offset uint32
	noTimestamp     = -1 // Kafka's "no timestamp"
)

// errBadIndex marks an index file that must be rebuilt from its segment.
var errBadIndex = errors.New("commitlog: bad index file")

// offsetEntry says the batch whose base offset is segment base + rel starts
// at file position pos.
type offsetEntry struct {
	rel uint32
	pos uint32
}

// timeEntry says every batch up to and including the one at segment base +
// rel has a maxTimestamp <= ts, and that batch reaches ts.
type timeEntry struct {
	ts  int64
	rel uint32
}

// indexer decides where sparse entries go. Append and every rebuild feed it
// the same batches in the same order, so a rebuilt index is identical to the
// one written live.
type indexer struct {
	interval  int   // IndexIntervalBytes
	sinceLast int64 // log bytes since the last offset entry (or segment start)
	maxTs     int64 // largest batch maxTimestamp so far, noTimestamp if none
	maxTsRel  uint32
	offsets   []offsetEntry
	times     []timeEntry
}

func newIndexer(interval int) indexer {
	return indexer{interval: interval, maxTs: noTimestamp}
}

// add records a batch at rel/pos. The first batch of a segment never gets
// an entry: position 0 is implied.
func (x *indexer) add(rel uint32, pos int64, size int, maxTs int64) {
	if maxTs > x.maxTs {
		x.maxTs, x.maxTsRel = maxTs, rel
	}
	if x.sinceLast >= int64(x.interval) {
		x.offsets = append(x.offsets, offsetEntry{rel: rel, pos: uint32(pos)})
		x.addTime()
		x.sinceLast = 0
	}
	x.sinceLast += int64(size)
}

// addTime appends a time entry if the maximum grew since the last one.
func (x *indexer) addTime() {
	if n := len(x.times); x.maxTs > noTimestamp && (n == 0 || x.maxTs > x.times[n-1].ts) {
		x.times = append(x.times, timeEntry{ts: x.maxTs, rel: x.maxTsRel})
	}
}

// resume restores the state a live indexer had right before it added the
// batch that owns the last offset entry, so scanning on from that batch
// continues the index exactly. Time entries carry the maximum so far.
func (x *indexer) resume() (pos int64) {
	if n := len(x.times); n > 0 {
		x.maxTs, x.maxTsRel = x.times[n-1].ts, x.times[n-1].rel
	}
	x.sinceLast = 0
	if n := len(x.offsets); n > 0 {
		return int64(x.offsets[n-1].pos)
	}
	return 0
}

// lookupOffset returns the last entry at or before rel, or the implied
// entry {0, 0} for the segment's first batch.
func lookupOffset(entries []offsetEntry, rel uint32) offsetEntry {
	i := sort.Search(len(entries), func(i int) bool { return entries[i].rel > rel })
	if i == 0 {
		return offsetEntry{}
	}
	return entries[i-1]
}

// lookupTime returns the relative offset of the last entry whose timestamp
// is below ts: every batch up to it is older than ts.
func lookupTime(entries []timeEntry, ts int64) (rel uint32, ok bool) {
	i := sort.Search(len(entries), func(i int) bool { return entries[i].ts >= ts })
	if i == 0 {
		return 0, false
	}
	return entries[i-1].rel, true
}

func encodeOffsets(dst []byte, entries []offsetEntry) []byte {
	for _, e := range entries {
		dst = binary.BigEndian.AppendUint32(dst, e.rel)
		dst = binary.BigEndian.AppendUint32(dst, e.pos)
	}
	return dst
}

func encodeTimes(dst []byte, entries []timeEntry) []byte {
	for _, e := range entries {
		dst = binary.BigEndian.AppendUint64(dst, uint64(e.ts))
		dst = binary.BigEndian.AppendUint32(dst, e.rel)
	}
	return dst
}

// decodeOffsets parses and checks an offset index for a segment of size
// bytes whose relative offsets are below maxRel: whole entries, strictly
// increasing offsets and positions, positions inside the segment.
func decodeOffsets(b []byte, size, maxRel int64) ([]offsetEntry, error) {
	if len(b)%offsetEntrySize != 0 {
		return nil, fmt.Errorf("%w: %d bytes is not a whole number of entries", errBadIndex, len(b))
	}
	entries := make([]offsetEntry, len(b)/offsetEntrySize)
	for i := range entries {
		e := offsetEntry{
			rel: binary.BigEndian.Uint32(b[i*offsetEntrySize:]),
			pos: binary.BigEndian.Uint32(b[i*offsetEntrySize+4:]),
		}
		if int64(e.pos) >= size || int64(e.rel) >= maxRel {
			return nil, fmt.Errorf("%w: entry %d (offset +%d at %d) beyond the segment", errBadIndex, i, e.rel, e.pos)
		}
		if i > 0 && (e.rel <= entries[i-1].rel || e.pos <= entries[i-1].pos) {
			return nil, fmt.Errorf("%w: entry %d not increasing", errBadIndex, i)
		}
		entries[i] = e
	}
	return entries, nil
}

// decodeTimes parses and checks a time index: whole entries, strictly
// increasing timestamps, non-decreasing relative offsets below maxRel.
func decodeTimes(b []byte, maxRel int64) ([]timeEntry, error) {
	if len(b)%timeEntrySize != 0 {
		return nil, fmt.Errorf("%w: %d bytes is not a whole number of entries", errBadIndex, len(b))
	}
	entries := make([]timeEntry, len(b)/timeEntrySize)
	for i := range entries {
		e := timeEntry{
			ts:  int64(binary.BigEndian.Uint64(b[i*timeEntrySize:])),
			rel: binary.BigEndian.Uint32(b[i*timeEntrySize+8:]),
		}
		if e.ts <= noTimestamp || int64(e.rel) >= maxRel {
			return nil, fmt.Errorf("%w: time entry %d (%d, +%d) out of range", errBadIndex, i, e.ts, e.rel)
		}
		if i > 0 && (e.ts <= entries[i-1].ts || e.rel < entries[i-1].rel) {
			return nil, fmt.Errorf("%w: time entry %d not increasing", errBadIndex, i)
		}
		entries[i] = e
	}
	return entries, nil
}
