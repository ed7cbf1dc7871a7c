// Package commitlog is Pitwall's storage engine. One Log is one partition:
// an append-only sequence of Kafka record batches (v2) kept byte for byte as
// the producer sent them, so a Fetch is a byte-range read and the broker
// never decodes telemetry.
//
// # Data flow
//
// Produce: the broker hands Append exactly one batch. Append validates it
// (length, magic 2, CRC-32C, counts; the CRC is checked outside the lock so
// appends to one partition overlap there), assigns the next offset by
// overwriting baseOffset (bytes 0-7) and partitionLeaderEpoch (bytes 12-15)
// in place — both lie outside the CRC — and writes it with one pwrite(2) to
// the active segment. Nothing is fsynced on that path.
//
// Durability: under FsyncBatch (the default) a syncer goroutine fsyncs the
// active segment whenever there is unsynced data, without holding the log's
// mutex, and then publishes the offsets written before that fsync began as
// durable. Sync(ctx, off) waits for that; every waiter covered by one fsync
// is released together, and batches appended during an fsync ride the next
// one (group commit). The high watermark (HW) is the durable end, so readers
// never see data a crash could take back. Under FsyncInterval and
// FsyncNever the HW is the LEO and Sync returns at once. Rolling a segment
// and Close always fsync. After any failed write or fsync the log is failed
// for good: every later Append and Sync returns an error wrapping
// ErrLogFailed until the process restarts and recovery runs. After
// releasing the waiters of an fsync, the syncer records how far the active
// segment is durable in the recovery point (at most about once a second),
// so a crash recovery checks only what came after it.
//
// Consume: Read finds the segment holding the offset, the sparse index entry
// at or before it, walks batch headers with pread to the batch containing
// the offset, and copies whole batches below the HW with one pread, at most
// maxBytes unless the first batch alone is bigger (KIP-74). Readers take a
// reference on the segment, so retention can unlink it underneath them.
// Wait returns a channel closed on the next HW advance, for Fetch long-poll.
//
// Retention: Retain (called by the broker periodically) deletes whole
// closed segments from the front by age (newest record timestamp) and by
// total size; never the active segment. StartOffset is the first remaining
// segment's base offset.
//
// # On-disk format
//
// A partition directory holds, all integers big-endian:
//
//	00000000000000000000.log        segment: batches back to back
//	00000000000000000000.index      sparse offset index of that segment
//	00000000000000000000.timeindex  sparse time index of that segment
//	00000000000000004711.log        next segment, named by its base offset
//	...
//	leader-epoch-checkpoint         leader epoch history
//	recovery-point                  how much of the active segment is durable
//	clean-shutdown                  present only after a clean Close
//
// Segment files (%020d.log, named by the base offset of their first batch)
// contain Kafka record batches v2 exactly as stored, with no framing of our
// own: the batch's length field (bytes 8-11) frames it and its CRC-32C
// (Castagnoli, bytes 21 to the end) checks it. Batch layout:
//
//	0  baseOffset int64 (assigned by the log)  8  batchLength int32 (size-12)
//	12 partitionLeaderEpoch int32 (set by the log)
//	16 magic int8 = 2   17 crc uint32   21 attributes int16
//	23 lastOffsetDelta int32   27 firstTimestamp int64   35 maxTimestamp int64
//	43 producerId int64   51 producerEpoch int16   53 baseSequence int32
//	57 recordCount int32   61 records (possibly compressed)
//
// Offsets are contiguous: each batch's baseOffset is the previous batch's
// baseOffset+lastOffsetDelta+1, across segments too. A segment is rolled
// before a batch would take it past SegmentBytes (at most 2 GiB-1, so file
// positions fit in uint32), when its first batch is older than
// SegmentMaxAge, or when a relative offset would overflow uint32. A batch
// bigger than SegmentBytes gets a segment to itself.
//
// Offset index (%020d.index): 8-byte entries
//
//	relativeOffset uint32 (baseOffset - segment base)  position uint32
//
// pointing at the start of a batch. An entry is added for a batch when at
// least IndexIntervalBytes of log were written since the previous entry (or
// since the segment start; the first batch, at position 0, is implied and
// never written). Entries strictly increase in both fields.
//
// Time index (%020d.timeindex): 12-byte entries
//
//	maxTimestamp int64 (largest batch maxTimestamp so far, ms)
//	relativeOffset uint32 (base of the batch that reached it)
//
// added together with an offset entry when the maximum grew, plus one final
// entry when the segment is sealed (roll or Close), so the last entry holds
// the segment's newest timestamp: retention and OffsetForTime read only that
// entry for segments they have not loaded. Timestamps strictly increase.
//
// Both indexes are derived data: a rebuild from the segment produces the
// same bytes (the same rule decides every entry). The active segment's index
// entries live in memory and are written on roll and Close.
//
// leader-epoch-checkpoint uses Kafka's text format: a version line "0", a
// count line, then one "epoch startOffset" line per epoch, oldest first.
// Append records an epoch the first time a batch carries a higher one
// (negative epochs are not recorded) before writing that batch.
//
// clean-shutdown is text:
//
//	pitwall-commitlog clean-shutdown v1
//	active <base offset> size <bytes> end <LEO> rolled <unix ms>
//
// naming the active segment, its size, the LEO and when the segment got its
// first batch (for SegmentMaxAge across restarts).
//
// recovery-point is 36 bytes:
//
//	"PWRP"  version uint32 = 1
//	segment int64 (base offset of the segment it points into)
//	position int64 (bytes of that segment fsynced, whole batches)
//	next int64 (offset of the batch that starts at position)
//	crc uint32 (CRC-32C of the 32 bytes before it)
//
// It is written after an fsync that covered position, never before: by the
// syncer under FsyncBatch and FsyncInterval, at most about once a second
// (DefaultRecoveryPointInterval) or after 64 MiB of log
// (DefaultRecoveryPointBytes), whichever comes first; by Close; and by Open
// after a crash recovery. Before it, the active segment's index entries of
// the batches below position are appended to its .index and .timeindex
// files and fsynced, so the point also vouches that those files hold that
// prefix (they may hold more: entries saved for a point that was never
// written). Under FsyncNever it is written only by Close and Open.
//
// Every whole-file write (checkpoint, marker, recovery point, rebuilt
// indexes of closed segments) goes to name.tmp, is fsynced, renamed over name, and the
// directory is fsynced. Open deletes leftover *.tmp files and index files
// whose segment is gone.
//
// # Recovery (Open)
//
// Open lists the directory and stats the segments; it reads no closed
// segment and no closed index, so startup time does not grow with the size
// of the log. Closed segments were fsynced with their indexes on roll, so
// only the active (last) segment can be torn.
//
//   - With a clean-shutdown marker that matches the active segment's size,
//     Open trusts the active indexes, walks batch headers from the last
//     offset index entry to the end of the file, and checks the result
//     against the marker's LEO.
//   - Otherwise (crash, or anything disagreeing), Open checks the batches of
//     the active segment — length, magic, CRC, contiguous offsets — and
//     truncates the file at the first bad one, completes its indexes and
//     fsyncs it. Leader epochs starting at or after the new LEO are dropped.
//     If the recovery point names the active segment, lies inside it, its
//     index prefix reads back whole and increasing, and the batch headers
//     from the last index entry before it end exactly at its position with
//     its next offset, only the batches after it are checked (like Kafka's
//     recovery-point-offset-checkpoint, but inside the segment too). With
//     anything less (missing, torn, other segment, file shorter than the
//     point, headers that do not meet it) the whole active segment is
//     checked. Either way Open then writes a fresh recovery point for the
//     checked end, cutting stale index entries, so an old point never
//     outlives the recovery that distrusted it. Stats().Recovery tells
//     which way it went (RecoveryPoint, ScannedBytes, VerifiedBytes).
//
// Open removes the marker and fsyncs the directory before accepting writes,
// and logs one line saying what it did (Stats().Recovery has the numbers).
// A closed segment is loaded on first use (Read, OffsetForTime, Retain): its
// indexes are checked (whole entries, increasing, inside the segment, the
// last offset entry naming the batch it points at) and rebuilt from the
// segment's headers if missing or bad. Read also checks that the entry it
// starts from names the batch it points at, and rebuilds the index once if
// not.
//
// # Changing the format
//
// Segment contents follow Kafka's batch format; a new Kafka magic would be a
// new batch version inside the same files, and ValidateBatch decides what is
// accepted. Index files are disposable: to change their layout, give the new
// files a new suffix (e.g. ".index2"), make Open remove the old suffix like
// any orphan, and let the lazy loader rebuild them. The marker and the
// checkpoint carry a version line: bump it and keep reading the old one for
// a release (an unreadable marker only costs a full scan of the active
// segment; an unreadable checkpoint is replaced with an empty one; an
// unreadable recovery point only costs a full check of the active segment
// after a crash). Whenever
// bytes on disk change, regenerate the golden files with
//
//	go test ./broker/internal/commitlog -run TestGoldenFiles -update
//
// and keep a copy of the previous golden directory as a TestGoldenOpen case
// so logs written by older builds stay readable (testdata/golden-v1 is the
// format before recovery-point).
//
// # Locking
//
// Lock order: Log.retainMu, then Log.mu, then segment.saveMu, then
// segment.mu. Log.mu guards the append state (segment list, LEO, HW, sizes,
// epochs, sticky error); no fsync runs under it except on roll, Close, a
// leader epoch change, a retention trim of the epoch checkpoint and an
// index repair. segment.saveMu serialises writes of a segment's index files
// (seal, repair, the syncer's recovery point, which takes it without
// Log.mu). segment.mu guards a segment's lazily loaded file and indexes.
// Segment files are closed when their reference count drops to zero.
//
// Compaction (compact.go) is not written yet; it will rewrite closed
// segments through the same segment/index code.
package commitlog
