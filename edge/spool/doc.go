// Package spool is the edge's store-and-forward queue: an append-only,
// CRC-checked FIFO of Kafka records on local disk that survives a crash or
// SIGKILL of the edge and hands its records out again, in order, until the
// broker has acknowledged them.
//
// # Data flow
//
//	sources ──Batch──▶ Append (one write per batch) ──▶ active segment file
//	sender  ◀──Read── records in append order, from the page cache
//	sender  ──Ack(index)──▶ cursor moves past the oldest delivered records
//	                        ──▶ delivered segments deleted, cursor file replaced,
//	                            a drained active segment replaced by an empty one
//
// Every record gets an index, one more than the record before it, across
// segments and restarts. Read hands records out in index order; Ack may
// come in any order (the broker acknowledges partitions independently);
// the cursor is the oldest index not yet acknowledged. Open resumes
// reading at the cursor, so what was handed out but not acknowledged when
// the process died is handed out again: delivery is at-least-once across a
// crash. Within one run nothing is handed out twice.
//
// # On-disk format
//
// A spool directory holds a LOCK file (flock'd, so two processes never
// share a spool), a cursor file, a reserve file (ReserveBytes of zeros,
// see Disk space), segment files named after the index of their first
// record, %020d.seg, and state files of the spool's user (WriteFile):
//
//	segment  = header record*
//	header   = "PWSPOOL1" base:u64le                      (16 bytes)
//	record   = length:u32le crc:u32le payload            (length = len(payload), 1..MaxRecordBytes)
//	payload  = version:u8(=1) count:uvarint time_ns:varint
//	           topic:bytes key:bytes nheaders:uvarint (hkey:bytes hvalue:bytes)* value
//	bytes    = len:uvarint byte*                          (value takes the rest of the payload)
//	cursor   = index:u64le crc:u32le 0:u32                (16 bytes; crc of index)
//
// crc is CRC-32C (Castagnoli). The cursor file, like every state file,
// is replaced atomically (durable.WriteFileAtomic: temp file, fsync,
// rename, fsync the directory), never rewritten in place, so a crash or a
// full disk leaves the old cursor or the new one, never an empty file.
// A new segment is written
// under a .tmp name with its header, fsynced, renamed and its directory
// fsynced (edge/internal/durable), so a segment file always has a header;
// Open removes *.tmp leftovers. To change the format, bump the payload
// version and keep decoding the old one; never reuse a version.
//
// # Recovery
//
// Open scans the newest segment, record by record, and truncates it at the
// first record that is short or fails its CRC: the torn tail of a write the
// process did not finish. Older segments were sealed after their last
// write; corruption found in one later (bit rot) loses the rest of that
// segment only, counted in Stats.Corrupt and logged.
//
// The cursor is the index of the oldest record not yet acknowledged.
// Ack persists it at most every 100 ms and the sync loop the last move, so
// after a crash up to that much is sent again (consumers drop those
// duplicates by (car, seq)). A cursor file that is missing or fails its
// checks (length, CRC) is logged and Open resumes at the oldest segment:
// the last position the spool can prove, because a segment is deleted
// only once all of its records are acknowledged, and a drained active
// segment is replaced by an empty one, so the oldest segment never holds
// more than one segment of delivered records.
//
// # Durability
//
// Append is one write(2) into the page cache: once it returns, the records
// survive the death of the process (SIGKILL, panic, OOM kill). A
// background loop fsyncs what was appended every SyncEvery (default 1 s),
// without holding the lock, so a slow disk never stalls appends or reads;
// Close fsyncs the rest. A power cut loses at most the last SyncEvery.
// Creating a segment and deleting delivered ones fsync the directory; a
// filesystem that refuses is logged, not fatal.
//
// # Disk space
//
// Space is given back as soon as records are acknowledged: sealed
// segments whose records are all acknowledged are deleted by Ack, and
// once the cursor file says every record is acknowledged, an active
// segment holding more than min(1 MiB, SegmentBytes/2) (any amount after
// the disk was full) is deleted and an empty one started. A drained
// spool therefore takes (almost) no space, and a disk that filled while
// the broker was away recovers by itself when it is back.
//
// The reserve file keeps ReserveBytes the segments can never take. When
// writing the cursor or a state file finds the disk full, the spool
// gives up part of the reserve and writes again; the reserve is filled
// again once segments are deleted. So the cursor can always be written.
//
// # At the bound: the policy
//
// MaxBytes bounds the spool's size on disk; Policy chooses what happens
// there, because no choice is right for every team:
//
//   - PolicyAlarm (the default): keep accepting, drop nothing, and alarm
//     loudly (an error log every AlarmEvery, Stats.OverLimit, the edge's
//     metrics and status line) until the disk itself is full; then it
//     degrades to drop-newest: appends fail with ErrDiskFull, counted in
//     Stats.Refused, Stats.DiskFull is set and an ERROR is logged every
//     AlarmEvery, until space comes back. Telemetry of a session cannot
//     be recorded again, so losing it is worse than filling a disk an
//     operator is being told about.
//   - PolicyDropNewest: refuse new records at the bound (ErrFull), keeping
//     the oldest, undelivered data; at a full disk, as alarm.
//   - PolicyDropOldest: delete the oldest segments, delivered or not, to
//     stay within the bound, keeping the newest data (what live dashboards
//     need); at a full disk too, down to the active segment itself.
//     Dropped records are counted in Stats.Dropped.
//
// The default SegmentBytes is a sixteenth of the filesystem when that is
// less than 64 MiB, so that on a small disk drop-oldest drops a little at
// a time and a full disk holds several segments.
//
// ENOSPC and EDQUOT are the full disk; any other write error is ErrWrite.
// A failed write is undone by truncating the file back; if even that
// fails the spool refuses every later append (ErrBroken) rather than
// append after garbage.
package spool
