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
//	                        ──▶ cursor file updated, delivered segments deleted
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
// share a spool), a cursor file and segment files named after the index
// of their first record, %020d.seg:
//
//	segment  = header record*
//	header   = "PWSPOOL1" base:u64le                      (16 bytes)
//	record   = length:u32le crc:u32le payload            (length = len(payload), 1..MaxRecordBytes)
//	payload  = version:u8(=1) count:uvarint time_ns:varint
//	           topic:bytes key:bytes nheaders:uvarint (hkey:bytes hvalue:bytes)* value
//	bytes    = len:uvarint byte*                          (value takes the rest of the payload)
//	cursor   = index:u64le crc:u32le 0:u32                (16 bytes, rewritten in place)
//
// crc is CRC-32C (Castagnoli) of the payload. A new segment is written
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
// segment only, counted in Stats.Corrupt and logged. A cursor file that
// fails its CRC restarts from the oldest segment (duplicates, never loss).
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
// # At the bound: the policy
//
// MaxBytes bounds the spool's size on disk; Policy chooses what happens
// there, because no choice is right for every team:
//
//   - PolicyAlarm (the default): keep accepting, drop nothing, and alarm
//     loudly (an error log every AlarmEvery, Stats.OverLimit, the edge's
//     metrics and status line) until the disk itself is full; then appends
//     fail with ErrWrite and the edge counts what it could not keep.
//     Telemetry of a session cannot be recorded again, so losing it is
//     worse than filling a disk an operator is being told about.
//   - PolicyDropNewest: refuse new records at the bound (ErrFull), keeping
//     the oldest, undelivered data.
//   - PolicyDropOldest: delete the oldest segments, delivered or not, to
//     stay within the bound, keeping the newest data (what live dashboards
//     need). Dropped records are counted in Stats.Dropped.
//
// A failed write is undone by truncating the file back; if even that
// fails the spool refuses every later append (ErrBroken) rather than
// append after garbage.
package spool
