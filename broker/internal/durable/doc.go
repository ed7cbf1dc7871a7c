// Package durable writes files so that a crash leaves either the old
// content or the new, never a mix, and makes directory changes (creations,
// renames, removals) survive a power cut. It is the broker's one copy of
// these habits: the commit log, the partition state and the broker's own
// files all write through it.
//
// WriteFile writes path.tmp (TempSuffix), fsyncs it, renames it over path
// and fsyncs the directory. A crash before the rename leaves a stray
// path.tmp beside the old file; the owner of the directory removes those
// when it opens it (the commit log removes every *.tmp at Open). SyncDir
// fsyncs a directory after the caller renamed, created or removed entries
// in it.
//
// Errors are returned, never ignored or logged here, wrapped with the
// operation and the path; callers add their own package's prefix.
package durable
