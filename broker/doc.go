// Package broker is Pitwall's Kafka-compatible broker: a single-node,
// partitioned, persistent commit log served over the Kafka wire protocol, so
// that sarama, franz-go, librdkafka (kcat) and kafka-go work against it
// unchanged.
//
// # Data flow
//
// A connection (conn.go) reads length-prefixed request frames, refusing any
// whose length exceeds Config.MaxRequestBytes before allocating for it. Each
// request is decoded with franz-go's generated codec (kmsg) and handed to the
// handler registered for its API key. Handlers run in request order on the
// connection's read goroutine, so appends from one connection keep their
// order; a handler that must wait (an acks=all produce waiting for fsync, a
// long-polling fetch) returns a pending reply that is completed on another
// goroutine. A writer goroutine sends replies strictly in request order, so
// clients may pipeline.
//
// Topics and their partitions belong to internal/partition, the one owner
// of every file in a partition directory: a Registry opens, creates and
// deletes topics; each partition is one commitlog.Log under
// DataDir/topics/<topic>/<partition> plus its idempotent producers' state
// (producer-state.json beside the log, rebuilt from it after a crash), and
// the registry runs retention, compaction and state snapshots while the
// server serves. The data directory's layout is in that package's doc.
// Produce checks each batch against the protocol (one v2 batch, not
// transactional, within max.message.bytes) and hands it to the partition,
// which appends it to the log exactly as received (the log checks length,
// magic and CRC and assigns offsets); fetch is a byte-range read of stored
// batches up to the high watermark, so the broker never decodes records.
//
// Consumer groups are run by the coordinator in internal/group (one
// goroutine per group); groups.go persists its records in the internal,
// compacted topic __consumer_offsets with Kafka's own key and value layouts
// and replays them at start. Clients can neither produce to that topic nor
// delete it.
//
// # One file per API key
//
// Each API lives in a file named after its key (00_produce.go, 01_fetch.go,
// ...), which opens with the versions it serves and why. The ApiVersions
// answer is built from the registry in apis.go and nowhere else. Kafka error
// codes appear only in handlers.
package broker
