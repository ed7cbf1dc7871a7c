// Package durable is the edge's one way to write a file so that a crash
// leaves either the old content or the new, never a mix, and to make
// directory changes (creations, renames, removals) survive a power cut.
// The spool (segment files, deleting delivered segments) and the edge's
// catalogs file write through it. The broker has its own copy in
// broker/internal: the edge and the broker share no code but the Kafka
// protocol.
//
// WriteFileAtomic writes path.tmp (TempSuffix), fsyncs it, renames it over
// path and fsyncs the directory. A crash before the rename leaves a stray
// path.tmp beside the old file; the owner of the directory removes those
// when it opens it (the spool does, at Open). SyncDir fsyncs a directory
// after the caller created, renamed or removed entries in it.
//
// Errors are returned, never ignored or logged here. A failed directory
// fsync wraps ErrSyncDir, so a caller on a filesystem that refuses it can
// log and carry on, as the spool does.
package durable
