package partition

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/pitwall/pitwall/broker/internal/commitlog"
	"github.com/pitwall/pitwall/broker/internal/durable"
)

// Idempotent producers: per partition, the partition remembers the last
// producerBatchesKept batches of every producer id (their sequence range and
// offsets), as Kafka does, so that a batch retried after a lost
// acknowledgement is answered with its original offset instead of being
// stored twice, and a batch that skips sequence numbers is refused.
//
// The state is kept beside the partition's log in producer-state.json, a
// snapshot written within snapshotInterval of a change (only partitions
// whose state changed are visited) and at close if the log moved on since
// (the format is in doc.go).
// At open the snapshot is loaded and the batches after it are read back from
// the log, so a crash loses nothing; snapshot entries beyond the log's end
// (data lost with a torn tail under --fsync never) are dropped.

const (
	producerBatchesKept = 5
	producerStateFile   = "producer-state.json"
	// producerExpiry is how long an idle producer's state is kept
	// (Kafka's producer.id.expiration.ms default).
	producerExpiry = 24 * time.Hour
)

// Errors of idempotent appends, mapped to Kafka codes by the broker.
var (
	ErrOutOfOrderSequence = errors.New("partition: out of order sequence number")
	ErrProducerFenced     = errors.New("partition: producer epoch is older than the partition has seen")
)

// batchMeta is one remembered batch of a producer.
type batchMeta struct {
	FirstSeq    int32 `json:"first_seq"`
	LastSeq     int32 `json:"last_seq"`
	FirstOffset int64 `json:"first_offset"`
	LastOffset  int64 `json:"last_offset"`
}

// producerEntry is one producer id's state on one partition.
type producerEntry struct {
	Epoch   int16       `json:"epoch"`
	Batches []batchMeta `json:"batches"` // oldest first, at most producerBatchesKept
	LastMS  int64       `json:"last_ms"` // last append, for expiry
}

// producerState is a partition's idempotence state. Its mutex also
// serialises the check-append-record sequence of idempotent appends.
//
// It is loaded on first need (loadProducers), not at open: an idempotent
// append, or a close after appends. A partition never written by an
// idempotent producer after a restart (most of them on a broker with
// thousands) never reads producer-state.json or its log for it.
type producerState struct {
	mu        sync.Mutex
	loaded    bool  // producers, dirty and onDisk are read from disk and the log
	openEnd   int64 // the log's end offset when the partition opened
	producers map[int64]*producerEntry
	dirty     bool  // changed since the snapshot on disk
	onDisk    int64 // offset of the snapshot on disk, -1 if there is none
}

// producerSnapshot is what producer-state.json holds.
type producerSnapshot struct {
	// Offset: every batch below it is reflected in Producers.
	Offset    int64                    `json:"offset"`
	Producers map[int64]*producerEntry `json:"producers"`
}

// incSeq adds n to a sequence number, wrapping past MaxInt32 to 0 as
// Kafka's producers do.
func incSeq(seq int32, n int32) int32 {
	if seq > math.MaxInt32-n {
		return n - (math.MaxInt32 - seq) - 1
	}
	return seq + n
}

// check decides what to do with an idempotent batch h: append it (dup
// nil, err nil), answer it as a duplicate of dup, or refuse it.
// Caller holds ps.mu.
func (ps *producerState) check(h commitlog.BatchHeader) (dup *batchMeta, err error) {
	e := ps.producers[h.ProducerID]
	if e == nil {
		// Unknown producer (new, or expired): accept any sequence.
		return nil, nil
	}
	switch {
	case h.ProducerEpoch < e.Epoch:
		return nil, fmt.Errorf("%w: epoch %d < %d", ErrProducerFenced, h.ProducerEpoch, e.Epoch)
	case h.ProducerEpoch > e.Epoch:
		if h.BaseSequence != 0 {
			return nil, fmt.Errorf("%w: new epoch %d must start at sequence 0, got %d", ErrOutOfOrderSequence, h.ProducerEpoch, h.BaseSequence)
		}
		return nil, nil
	}
	last := incSeq(h.BaseSequence, h.LastOffsetDelta)
	for i := range e.Batches {
		if b := &e.Batches[i]; b.FirstSeq == h.BaseSequence && b.LastSeq == last {
			return b, nil
		}
	}
	if len(e.Batches) > 0 {
		if want := incSeq(e.Batches[len(e.Batches)-1].LastSeq, 1); h.BaseSequence != want {
			return nil, fmt.Errorf("%w: producer %d expected sequence %d, got %d", ErrOutOfOrderSequence, h.ProducerID, want, h.BaseSequence)
		}
	}
	return nil, nil
}

// record remembers an appended batch and reports whether the state was
// clean before it (so the caller queues it for a snapshot). Caller holds
// ps.mu.
func (ps *producerState) record(h commitlog.BatchHeader, base int64, now time.Time) (wasClean bool) {
	e := ps.producers[h.ProducerID]
	if e == nil || h.ProducerEpoch > e.Epoch {
		e = &producerEntry{Epoch: h.ProducerEpoch}
		ps.producers[h.ProducerID] = e
	}
	e.Batches = append(e.Batches, batchMeta{
		FirstSeq: h.BaseSequence, LastSeq: incSeq(h.BaseSequence, h.LastOffsetDelta),
		FirstOffset: base, LastOffset: base + int64(h.LastOffsetDelta),
	})
	if n := len(e.Batches); n > producerBatchesKept {
		e.Batches = append(e.Batches[:0], e.Batches[n-producerBatchesKept:]...)
	}
	e.LastMS = now.UnixMilli()
	wasClean = !ps.dirty
	ps.dirty = true
	return wasClean
}

// load rebuilds the state: the snapshot in dir, then every batch of l
// after it. A snapshot that does not parse is derived data: it is logged
// and the state rebuilt from the whole log. Caller holds ps.mu.
func (ps *producerState) load(dir string, l *commitlog.Log, log *slog.Logger) error {
	ps.producers, ps.dirty, ps.onDisk = map[int64]*producerEntry{}, false, -1
	from := l.StartOffset()
	path := filepath.Join(dir, producerStateFile)
	b, err := durable.ReadFile(path)
	var snap producerSnapshot
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &snap); err != nil {
			log.Warn("partition: producer state unreadable; rebuilding it from the whole log", "file", path, "err", err)
			ps.dirty = true
			break
		}
		end := l.EndOffset()
		for pid, e := range snap.Producers {
			kept := e.Batches[:0]
			for _, bm := range e.Batches {
				if bm.LastOffset < end {
					kept = append(kept, bm)
				}
			}
			if len(kept) < len(e.Batches) {
				ps.dirty = true // lost with a torn tail: the file must forget them too
			}
			if e.Batches = kept; len(kept) > 0 {
				ps.producers[pid] = e
			}
		}
		from = max(min(snap.Offset, end), from)
		ps.onDisk = snap.Offset
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("partition: %w", err)
	}
	if err := ps.replay(l, from); err != nil {
		return err
	}
	ps.loaded = true
	return nil
}

// replayWorthSnapshot is how much log a replay at open may read before a
// snapshot that spares the next open the reading is worth its write. Below
// it, a partition holding no producer's batches (written by clients
// without idempotence) never writes producer-state.json at all.
const replayWorthSnapshot = 1 << 20

// replay records every idempotent batch of l from offset from to the end;
// the state is dirty if any was, or if the reading was long.
func (ps *producerState) replay(l *commitlog.Log, from int64) error {
	var buf []byte
	read := 0
	defer func() {
		if read >= replayWorthSnapshot {
			ps.dirty = true
		}
	}()
	for off := from; off < l.HighWatermark(); {
		var err error
		buf, err = l.Read(off, 4<<20, buf[:0])
		if err != nil {
			return fmt.Errorf("partition: rebuilding producer state at offset %d: %w", off, err)
		}
		if len(buf) == 0 {
			break
		}
		read += len(buf)
		for rest := buf; len(rest) > 0; {
			h, err := commitlog.ParseBatchHeader(rest)
			if err != nil {
				return err
			}
			if h.BaseOffset >= from && h.ProducerID >= 0 {
				ps.record(h, h.BaseOffset, time.UnixMilli(h.MaxTimestamp))
			}
			off = h.BaseOffset + int64(h.LastOffsetDelta) + 1
			rest = rest[min(h.Size(), len(rest)):]
		}
	}
	return nil
}

// expireDue reports whether a producer has been idle longer than
// producerExpiry, marking the state dirty so the next snapshot drops it;
// wasClean as for record.
func (ps *producerState) expireDue(now time.Time) (wasClean bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if !ps.loaded {
		return false // nothing written by a producer since the open
	}
	for _, e := range ps.producers {
		if now.Sub(time.UnixMilli(e.LastMS)) > producerExpiry {
			wasClean = !ps.dirty
			ps.dirty = true
			return wasClean
		}
	}
	return false
}

// snapshot writes the state to dir if it changed, or with atClose also if
// the snapshot on disk is behind offset and the next open would otherwise
// read much log back (producers' batches, or logBytes of log, at least
// replayWorthSnapshot), dropping producers idle longer than
// producerExpiry. offset is the log's high watermark; only batches below
// it are written, so the file never claims unreplicated or unsynced data.
// It reports whether it wrote. The state must be loaded.
func (ps *producerState) snapshot(dir string, offset, logBytes int64, now time.Time, atClose bool) (bool, error) {
	ps.mu.Lock()
	behind := ps.onDisk < offset && offset > 0 && (len(ps.producers) > 0 || logBytes >= replayWorthSnapshot)
	if !ps.dirty && (!atClose || !behind) {
		ps.mu.Unlock()
		return false, nil
	}
	snap := producerSnapshot{Offset: offset, Producers: map[int64]*producerEntry{}}
	for pid, e := range ps.producers {
		if now.Sub(time.UnixMilli(e.LastMS)) > producerExpiry {
			delete(ps.producers, pid)
			continue
		}
		c := &producerEntry{Epoch: e.Epoch, LastMS: e.LastMS}
		for _, b := range e.Batches {
			if b.LastOffset < offset {
				c.Batches = append(c.Batches, b)
			}
		}
		snap.Producers[pid] = c
	}
	ps.dirty = false
	ps.mu.Unlock()
	b, err := json.Marshal(snap)
	if err == nil {
		err = durable.WriteFile(filepath.Join(dir, producerStateFile), b)
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if err != nil {
		ps.dirty = true
		return false, err
	}
	ps.onDisk = offset
	return true, nil
}
