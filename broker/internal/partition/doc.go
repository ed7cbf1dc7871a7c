// Package partition owns the broker's topics and every file in their
// directories: each partition's commit log (internal/commitlog), the state
// of the idempotent producers writing to it, the topic's configs, and the
// maintenance that runs over them (retention, compaction, producer state
// snapshots). Later the replica state lives here too.
//
// It knows nothing of the Kafka protocol: it returns sentinel errors
// (ErrUnknownTopic, ErrTopicExists, ErrOutOfOrderSequence, ...) that the
// broker's handlers map to Kafka error codes, and it has no notion of
// consumer groups (the broker keeps clients away from __consumer_offsets).
//
// # Data flow
//
// Open reads every topic under the data directory and opens all their
// partitions' logs with one pool of workers (openWorkers at once, across
// topics). With OpenInBackground (the broker's choice) it returns as soon
// as the topics are read and the workers carry on behind it: the first
// request needing a partition they have not reached opens it at once
// (Topic.Partition), Topic.PartitionOpen tells whether one is open without
// opening it (Metadata uses it), and Opened and OpenErr say when the
// opening is over and what failed. A partition closed cleanly and not
// written since is opened without a scan or a write (see the commit log's
// clean-shutdown marker) and closed again the same way, so a restart costs
// little per idle partition; its producer state is not read until an
// idempotent producer writes to it (or it is closed after appends). The
// Registry hands out *Topic and *Partition values, which never change
// once published, so handlers use them without locks.
//
// Produce: the broker checks a batch against the protocol, then calls
// Partition.Append. A batch with a producer id is checked against that
// producer's last five batches (producers.go): a retry of one of them is
// answered with its original offsets (Appended.Duplicate) and not stored
// again; a sequence gap or a fenced epoch is refused. The check, the append
// and the record of it happen under the partition's producer lock, so two
// connections retrying one batch cannot both store it. Fetch, ListOffsets
// and the group coordinator read and append through Partition.Log directly.
//
// Maintenance: Maintain, run by the broker while it serves, applies
// retention and compaction to every partition each RetentionCheckInterval
// and every five seconds snapshots the producer state of the partitions
// whose state changed (Append queues them; idle partitions are never
// visited). Close snapshots producer state once more after fsyncing each
// log, if the snapshot is behind the log and the next open would read much
// back (a producer's batches, or 1 MiB of log): a partition only ever
// written without idempotence (kcat's default) needs no snapshot at all.
// A failed snapshot, retention or
// compaction is retried at the next pass and never stops writes; its
// warning is logged at most once a minute per kind, with a count of those
// not logged, so a full disk does not log a line per partition per pass.
//
// Files: each partition keeps its active segment's file open. The registry
// gives every log one commitlog.FileBudget, sized from the open file limit
// (RLIMIT_NOFILE, which Go raises to the hard limit at start) less a
// reserve, and logs both at Open: past it, the least recently used idle
// partitions close their file and reopen it on use, so a broker holds more
// partitions than the limit would allow one file each. It holds at most
// four per budgeted file (MaxTotalPartitions): Create refuses a topic
// past that with ErrTooManyPartitions, naming the limit, rather than let
// a busy broker spend its time reopening files.
//
// # Data directory
//
// The broker's data directory holds, with the owner of each file:
//
//	.lock                          broker: flock held while a broker runs
//	meta.json                      broker: {"cluster_id": "<base64url>"}
//	producer-ids.json              broker: {"block_end": N}, producer ids below N may be taken
//	topics/<topic>/topic.json      partition: the topic (below)
//	topics/<topic>/<p>/            partition: partition p (0-based), one directory each
//	deleted/<topic>-<unix ns>/     partition: a topic being deleted
//
// A partition directory topics/<topic>/<p>/ holds the commit log's files,
// whose format internal/commitlog's doc.go gives byte for byte:
//
//	<base>.log, <base>.index, <base>.timeindex   segments and their indexes
//	leader-epoch-checkpoint        leader epochs (from the first append on)
//	recovery-point                 how much of the active segment is durable
//	clean-shutdown                 only after a clean close
//	cleaner-checkpoint             compacted topics
//	compaction-swap, *.cleaned     compacted topics, only during a swap
//
// and one file of this package's own:
//
//	producer-state.json            idempotent producers' state (below)
//
// Every whole file (topic.json, producer-state.json, and the log's and the
// broker's files) is written through internal/durable: to name.tmp,
// fsynced, renamed over name, and the directory fsynced. The commit log's
// Open removes a partition directory's leftover *.tmp files.
//
// topic.json is JSON, written once when the topic is created:
//
//	{"name": "telemetry", "id": "<32 hex digits>", "partitions": 12,
//	 "configs": {"retention.ms": "3600000"}, "created": "<RFC 3339>"}
//
// configs holds only what the topic sets itself (Kafka's names, validated
// at creation); the rest follows the broker's defaults at each start.
// Writing topic.json is the commit point of a creation: Open removes a
// topic directory without one, and refuses to start on one that does not
// parse or names another topic. Deleting renames the topic directory into
// deleted/ (fsyncing topics/) before removing it, so a crash never leaves
// half a topic; Open removes whatever deleted/ holds.
//
// producer-state.json is JSON:
//
//	{"offset": 1234, "producers": {"<producer id>": {"epoch": 0,
//	  "batches": [{"first_seq": 0, "last_seq": 9, "first_offset": 1200,
//	  "last_offset": 1209}], "last_ms": <unix ms of the last append>}}}
//
// with at most five batches per producer, oldest first. offset is the
// log's high watermark when the snapshot was taken: the snapshot reflects
// every batch below it and no batch at or above it. At open the state is
// the snapshot (less any batch at or past the log's end, lost with a torn
// tail) plus every idempotent batch read back from the log after offset;
// without a snapshot it is rebuilt from the whole log. Producers idle for
// 24 hours (Kafka's producer.id.expiration.ms) are dropped at the next
// snapshot, which the retention pass asks for when it finds one.
//
// # Changing the format
//
// Both JSON files are read with encoding/json, so a new field can be added
// freely (older builds ignore it; give it a zero value that means the old
// behaviour). producer-state.json is derived data: one that does not
// parse is logged and the state rebuilt from the whole log. A change
// that older builds would misread needs a new file name, read alongside the
// old one for a release.
//
// # Locking
//
// Lock order: Registry.mu, then a partition's openMu (held while it opens
// or closes), then its producerState.mu, then the commit log's own locks. Registry.mu guards the topic map; Create holds
// it while it opens the new topic's logs. producerState.mu is held across
// the log's Append for idempotent batches, and while Append queues the
// partition in the registry's dirty list, whose mutex is a leaf.
package partition
