package commitlog

import (
	"encoding/binary"
	"hash/crc32"
)

// Verified stretches: what reads need not check again.
//
// Every batch a read returns must have passed its CRC-32C at least once in
// this run, but checking it again on every re-read from the page cache
// cost a fifth of read throughput (BENCHMARKS.md). So each segment keeps
// one verified stretch of file positions, [lo, hi): every batch in it has
// been checked whole, or lies in a known damaged stretch (which reads never
// serve). Reads check only the batches outside it and grow it with what
// they checked when that touches it; so do the log's own appends (Append
// validated the batch, CRC included, before writing it), Scrub (the whole
// segment) and crash recovery (what it scanned). A stretch checked apart
// from it replaces it only if it lies after it: appends and the consumers
// following them work at a segment's end, so after a restart the active
// segment's new appends count at once, while a consumer catching up from
// its start checks until it reaches them.
//
// Bytes that rot on disk after they were checked are not found by reads
// while the stretch covers them: that is Scrub's job, and Scrub checks
// every batch of every closed segment regardless. Kafka clients check CRCs
// too (franz-go, librdkafka with check.crcs), so such a batch is refused
// by the consumer rather than silently used; the next scrub records it as
// damage and reads skip it from then on.

// readCheck is which batches a read checks against their CRC.
type readCheck uint8

const (
	readCheckUnverified readCheck = iota // only those outside the segment's verified stretch (the default)
	readCheckAll                         // every batch of every read (benchmarks compare)
	readCheckNone                        // none (Config.SkipReadChecks)
)

// verifiedRange is a segment's checked stretch [lo, hi); immutable.
type verifiedRange struct{ lo, hi int64 }

// checked reports whether the batch at [pos, end) lies within r.
func (r *verifiedRange) checked(pos, end int64) bool {
	return r != nil && pos >= r.lo && end <= r.hi
}

// markVerified records that the batches of s in [from, to) check. The
// stretch grows when [from, to) touches it (known damage in dmg between
// them counts as touching) and is replaced when [from, to) lies after it.
func (s *segment) markVerified(from, to int64, dmg []damage) {
	if to <= from {
		return
	}
	for {
		old := s.verified.Load()
		next := &verifiedRange{from, to}
		if old != nil {
			reach := old.hi
			if d, ok := damageAt(dmg, reach); ok {
				reach = d.end
			}
			switch {
			case from <= reach && to >= old.lo: // touching: join
				if from >= old.lo && to <= old.hi {
					return
				}
				next = &verifiedRange{min(from, old.lo), max(to, old.hi)}
			case to < old.lo: // before it: keep the later stretch
				return
			}
		}
		if s.verified.CompareAndSwap(old, next) {
			return
		}
	}
}

// checkRead returns the position in b (whole batches read at position pos
// of s) of the first batch that fails its CRC, or -1, checking those the
// log's read-check mode asks for; what it found good is marked verified.
func (l *Log) checkRead(s *segment, b []byte, pos int64, dmg []damage) int {
	mode := l.damage.readChecks
	if mode == readCheckNone {
		return -1
	}
	r := s.verified.Load()
	bad := -1
	for p := 0; p < len(b); {
		n := int(batchSize(b[p:]))
		at := pos + int64(p)
		if (mode == readCheckAll || !r.checked(at, at+int64(n))) &&
			crc32.Checksum(b[p+offAttributes:p+n], castagnoli) != binary.BigEndian.Uint32(b[p+offCRC:]) {
			bad = p
			break
		}
		p += n
	}
	good := len(b)
	if bad >= 0 {
		good = bad
	}
	s.markVerified(pos, pos+int64(good), dmg)
	return bad
}
