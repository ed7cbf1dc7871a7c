// Package commitlog is Pitwall's storage engine: one Log per partition, an
// append-only sequence of Kafka record batches (v2) kept exactly as the
// producer sent them, so that Fetch is a byte-range read.
//
// TODO doc
package commitlog
