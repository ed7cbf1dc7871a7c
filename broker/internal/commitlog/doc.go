// Package commitlog is Pitwall's storage engine. One Log is one partition:
// an append-only sequence of Kafka record batches (v2) kept byte for byte as
// the producer sent them, so a Fetch is a byte-range read and the broker
// never decodes telemetry.
//
// # Data flow
//
// Produce: the partition (broker/internal/partition) hands Append exactly
// one batch. Append validates it (length, magic 2, CRC-32C, counts; the CRC
// is checked outside the lock so appends to one partition overlap there),
// assigns the next offset by overwriting baseOffset (bytes 0-7) and
// partitionLeaderEpoch (bytes 12-15) in place — both lie outside the CRC —
// and writes it with one pwrite(2) to the active segment. Nothing is
// fsynced on that path.
//
// Durability: under FsyncBatch (the default) a syncer goroutine fsyncs the
// active segment whenever there is unsynced data, without holding the log's
// mutex, and then publishes the offsets written before that fsync began as
// durable. Sync(ctx, off) waits for that; every waiter covered by one fsync
// is released together, and batches appended during an fsync ride the next
// one (group commit). The high watermark (HW) is the durable end, so readers
// never see data a crash could take back. Under FsyncInterval and
// FsyncNever the HW is the LEO and Sync returns at once (under
// FsyncInterval the syncer fsyncs FsyncInterval after an append). The
// syncer arms no timer and never wakes while nothing is appended, so idle
// partitions cost no CPU. Rolling a segment and Close always fsync. A write
// that fails but leaves nothing behind is refused and the log stays
// writable: a segment write a full disk refuses (the file is cut back to
// where it was), a leader-epoch-checkpoint that cannot be written (the
// batch needing it is refused) or a new segment that cannot be created;
// appends resume by themselves when space returns. After any other failed
// write, or any failed fsync, the log is failed for good: every later
// Append and Sync returns an error wrapping ErrLogFailed until the process
// restarts and recovery runs. After releasing the waiters of an fsync, the
// syncer records how far the active segment is durable in the recovery
// point (at most about once a second), so a crash recovery checks only what
// came after it.
//
// Files: a log keeps its active segment's file open. Logs sharing a
// FileBudget (Config.Files) keep at most its size open together: past it,
// an eviction round closes the files of the least recently used idle logs
// (nothing unsynced, no reader or fsync holding the segment) and they
// reopen on their next append, read or fsync. Closed segments' files are
// opened on demand and closed by the IndexCache.
//
// Consume: Read finds the segment holding the offset, the sparse index entry
// at or before it, walks batch headers with pread to the batch containing
// the offset (or the next one, where compaction removed it; past the last
// batch of a segment it goes on to the next segment), and copies whole
// batches below the HW with one pread, at most maxBytes unless the first
// batch alone is bigger (KIP-74). Readers take a reference on the segment,
// so retention and compaction can unlink or replace it underneath them.
// Wait returns a channel closed on the next HW advance, for Fetch long-poll.
//
// Retention: Retain (called periodically by the partition's maintenance)
// deletes whole closed segments from the front by age (newest record
// timestamp) and by total size; never the active segment. StartOffset is the first remaining
// segment's base offset.
//
// Compaction (Config.Compact, cleanup.policy=compact): Compact (called
// periodically by the partition's maintenance) keeps the latest record of each key in the
// closed segments; see "Compaction" below. Append on a compacted log
// decodes each batch's records and refuses one with a keyless record.
//
// # On-disk format
//
// The log's files share the partition directory with the partition's own
// (producer-state.json); broker/internal/partition owns that directory and
// its doc lists every file in it and in the data directory around it.
//
// The log's files in a partition directory, all integers big-endian:
//
//	00000000000000000000.log        segment: batches back to back
//	00000000000000000000.index      sparse offset index of that segment
//	00000000000000000000.timeindex  sparse time index of that segment
//	00000000000000004711.log        next segment, named by its base offset
//	...
//	leader-epoch-checkpoint         leader epoch history
//	recovery-point                  how much of the active segment is durable
//	clean-shutdown                  after a clean Close, until the next write
//	cleaner-checkpoint              compacted logs: where the dirty part starts
//	compaction-swap                 compacted logs: only while a swap is under way
//	00000000000000000000.log.cleaned  (and .index.cleaned, .timeindex.cleaned)
//	                                compacted logs: a cleaned segment not yet in place
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
// baseOffset+lastOffsetDelta+1, across segments too; except that in the
// closed segments of a compacted log whole batches may be gone, so there
// offsets only increase (a segment's first batch may start after its
// name, and a segment may even be empty). A segment is rolled
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
// (DefaultRecoveryPointBytes), whichever comes first (a run's first
// time-based one at a random moment within the interval after the first
// fsync, so partitions written together keep theirs out of step); by
// Close; and by Open
// after a crash recovery. Before it, the active segment's index entries of
// the batches below position are appended to its .index and .timeindex
// files and fsynced, so the point also vouches that those files hold that
// prefix (they may hold more: entries saved for a point that was never
// written). Under FsyncNever it is written only by Close and Open.
//
// Every whole-file write (checkpoint, marker, recovery point, rebuilt
// indexes of closed segments) goes through broker/internal/durable: to
// name.tmp, fsynced, renamed over name, and the directory fsynced. Open deletes leftover *.tmp files and index files
// whose segment is gone.
//
// # Recovery (Open)
//
// Open lists the directory once (a file it does not name is not looked
// for) and stats the segments; it reads no closed segment and no closed
// index, so startup time does not grow with the size of the log. The
// syncer goroutine starts at the first Append. Closed segments were fsynced with their indexes on roll, so
// only the active (last) segment can be torn.
//
//   - With a clean-shutdown marker that matches the active segment's size,
//     Open takes the marker's LEO and does not open the active segment.
//     Its first use (Append, Read, OffsetForTime: loadActive) opens it,
//     trusts its indexes, walks batch headers from the last offset index
//     entry to the end of the file, and checks the result against the
//     marker's LEO; if they disagree (damage after the shutdown), the
//     segment is recovered then as after a crash (below), the marker
//     removed, and an end that moved back is logged.
//   - Otherwise (crash, or anything disagreeing), Open checks the batches of
//     the active segment — length, magic, CRC, contiguous offsets. At a bad
//     one it looks for a good batch after it (scrub.go, resync): if one
//     follows, the stretch between is damage (reported, its offsets a gap)
//     and the check goes on from there; if none does, it is a torn tail and
//     the file is truncated there. Then Open completes the indexes and
//     fsyncs the file. Leader epochs starting at or after the new LEO are dropped.
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
// Damage (scrub.go): every batch a read returns has been checked against
// its CRC in this run — by the Append that wrote it, by recovery or by an
// earlier read; each segment remembers the stretch already checked so
// re-reads from the page cache skip it (verify.go) — and Scrub checks
// closed segments whole, checked before or not. A stretch that fails — a bad
// batch up to the next good one — is recorded (in memory, so found again
// after a restart), reported once with the offsets lost and counted
// (CorruptBatches); reads skip it as they skip compaction's gaps, keeping
// every intact batch before and after it.
//
// A marker the active segment matched stays on disk after Open: it still
// describes the log until the first Append, which removes it and fsyncs the
// directory before writing anything, so a crash from then on looks
// unclean. A partition opened and closed again without a write (most of
// them, on a broker with thousands) costs no write at either end: Close
// finds the marker there and writes nothing. Any other marker is removed
// at Open. Open logs one line saying what it did (Stats().Recovery has the
// numbers).
// A closed segment is loaded on first use (Read, OffsetForTime, Retain): its
// indexes are checked (whole entries, increasing, inside the segment, the
// last offset entry naming the batch it points at) and rebuilt from the
// segment's headers if missing or bad. Read also checks that the entry it
// starts from names the batch it points at, and rebuilds the index once if
// not.
//
// Loaded closed segments (read, rolled, or written by compaction) count
// their index entries in an IndexCache (Config.IndexCache; one per log by
// default, DefaultIndexCacheBytes, or one shared by the whole broker). Past
// its budget the least recently used are unloaded — indexes dropped, file
// closed, newest timestamp kept for retention — and load again on their
// next use. A segment held by a reader, a retention or compaction pass is
// never unloaded (the budget may be exceeded meanwhile, and is enforced
// again when they let go), nor is one compaction just installed before
// its cleaned files carry its name.
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
// Lock order: Log.maintMu, then Log.mu, then segment.saveMu, then
// segment.mu. Log.mu guards the append state (segment list, LEO, HW, sizes,
// epochs, sticky error); no fsync runs under it except on roll, Close, a
// leader epoch change, a retention trim of the epoch checkpoint and an
// index repair. segment.saveMu serialises writes of a segment's index files
// (seal, repair, the syncer's recovery point, which takes it without
// Log.mu). segment.mu guards a segment's lazily loaded file and indexes.
// Segment files are closed when their reference count drops to zero, or
// by the IndexCache when only the segment list holds them. IndexCache.mu is
// a leaf: taken under any of the others, it never waits for one.
//
// # Compaction
//
// A pass (Compact) works like one run of Kafka's log cleaner on this
// partition. The compactable segments are the closed ones, up to the first
// holding a record younger than MinCompactionLag; cleaner-checkpoint
// (magic "PWCC", version uint32 1, offset int64, CRC-32C; atomic) holds
// the offset up to which an earlier pass compacted them, so those before
// it are clean and the rest dirty. A pass runs when dirty bytes are at
// least MinCleanableDirtyRatio of the compactable bytes. It decodes the
// dirty segments' records into a map key -> latest offset (whole segments,
// until about 32 MiB of keys; the rest waits for the next pass), then
// rewrites every segment from the start of the log to the end of the
// mapped ones, in groups of consecutive segments that together hold at most
// SegmentBytes (so passes merge shrunken segments):
//
//   - a record whose key the map has at a later offset is dropped;
//   - a tombstone (null value) still standing is dropped once its
//     timestamp (CreateTime, or the batch's LogAppendTime) is older than
//     TombstoneRetention — with the older values it replaced, the key is
//     gone;
//   - keyless records, control batches, and batches whose CRC or records
//     do not check are kept as they are;
//   - a batch keeping all its records is copied byte for byte; one keeping
//     some is rewritten: same baseOffset, lastOffsetDelta, leader epoch,
//     attributes, firstTimestamp, producer id, epoch and base sequence
//     (so offsets, next-offset arithmetic and idempotence state hold), the
//     surviving records copied verbatim (their deltas stay valid),
//     recompressed with the batch's own codec (gzip; snappy in the xerial
//     framing of the Java client; lz4 frames; zstd), with the new record
//     count, the survivors' max timestamp (CreateTime) and CRC-32C;
//   - a batch keeping none is dropped, unless it is its producer's last
//     batch in the rewritten range: then it stays empty (no records, no
//     compression, first and max timestamp = its old max), as Kafka keeps it.
//
// Rewritten segments keep the name (base offset) of the first segment of
// their group, so StartOffset never moves. Only the active segment's
// offsets stay contiguous; keys whose latest record is in the active
// segment keep their older records until that segment is closed and
// compacted (only fsynced data ever supersedes).
//
// Swap protocol. For each group whose output differs from its input, the
// pass writes <base>.log.cleaned, .index.cleaned and .timeindex.cleaned
// beside the live files and fsyncs them; then it fsyncs the directory and
// writes compaction-swap atomically: the commit point. Its content is
// magic "PWCS", version uint32 1, group count uint32, per group the
// output base int64, input count uint32 and input bases int64 (the first
// is the output's), then CRC-32C. Then, under Log.mu for a moment, the
// segment list takes segments opened on the cleaned files (readers holding
// old segments keep their open files). Then each cleaned file is renamed
// over <base>.log/.index/.timeindex, the other input segments' files are
// removed, the directory is fsynced, compaction-swap is removed and the
// directory fsynced again; cleaner-checkpoint is written last. On-disk
// states after a crash, and what Open does with them (before listing
// segments):
//
//   - *.cleaned files and no compaction-swap (crash while writing, or
//     before the commit): the old segments are intact; Open removes the
//     *.cleaned files.
//   - compaction-swap present (crash after the commit): some cleaned files
//     may be renamed, some inputs removed; Open renames every remaining
//     <base>.*.cleaned of the manifest into place, removes the inputs'
//     files that are left, fsyncs, and removes the manifest. Each step is
//     idempotent, so a crash during this is finished by the next Open.
//   - compaction-swap unreadable (not a torn write: it was written
//     atomically): Open fails and names the file rather than guess which
//     segments it meant.
//   - a stale or missing cleaner-checkpoint only makes the next pass
//     rewrite more.
//
// A pass that fails before its commit point removes its cleaned files and
// leaves the log as it was; after it, the next pass (or Open) finishes the
// swap on disk. Close stops a pass at its next batch and waits for it.
package commitlog
