// Package broker is Pitwall's Kafka-compatible broker: a single-node,
// partitioned, persistent commit log served over the Kafka wire protocol, so
// that sarama, franz-go, librdkafka (kcat) and kafka-go work against it
// unchanged. With Config.Voters several brokers form a cluster (cluster.go,
// internal/cluster); without it nothing of the cluster code runs.
//
// # Layout
//
// This package speaks the protocol; the state lives in internal packages
// that know nothing of it:
//
//	server.go            Server: New, Serve, shutdown; the data directory's lock and cluster id
//	listeners.go         the listeners (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL) and what each advertises
//	security.go          TLS, SASL and the authorizer as the server keeps them; the checks handlers call
//	conn_auth.go         a connection's TLS handshake, principal, and the gate before SASL authentication
//	tls_wire.go          the wire under a TLS connection, corked while replies are written: records go out 256 KiB at a time
//	offline.go           users of a stopped broker's data directory (pitwall users --data-dir)
//	config.go            Config, its Default* constants (pitwall broker's flags use them) and checks
//	conn.go              a connection: request frames, handlers in order, replies in order; deadlines
//	budget.go            broker-wide byte budgets: request bodies being read, fetch replies held
//	apis.go              the registry of APIs served, which ApiVersions answers from
//	NN_<api>.go          one handler per Kafka API key (00_produce.go ... 51_alter_user_scram_credentials.go; 43_elect_leaders.go)
//	errors.go            the handlers' own errors, and every error's Kafka code
//	groups.go            the group coordinator's store: __consumer_offsets
//	producer_ids.go      producer ids, never reused across restarts (producer-ids.json)
//	metrics.go           Prometheus metrics; refused input, counted and logged sparingly
//	cluster.go           cluster mode: metadata, topic creation and partition leadership from internal/cluster
//	replication.go       cluster mode: replica fetchers (followers), ISR changes, acks=all waiting on the high watermark
//	replica_fetch.go     who may send a replica fetch: brokers only (the inter-broker listener, ClusterAction, assigned replicas)
//	cluster_groups.go    cluster mode: a group coordinator per __consumer_offsets partition led, loaded and unloaded with its leadership
//
//	internal/partition   topics and partitions: the owner of every file under DataDir/topics
//	internal/commitlog   the storage engine: one partition's log (format in its doc)
//	internal/group       the group coordinator: membership, rebalances, offsets
//	internal/durable     atomic file writes and directory fsyncs, for all of the above
//	internal/cluster     cluster mode: the controller quorum (Raft) and its metadata; the design is in its doc
//	internal/auth        listener protocols, TLS certificates, SASL (SCRAM, PLAIN), users and ACLs (DataDir/security)
//	brokertest           real brokers for other packages' tests
//
// Imports point one way: broker uses partition, group and commitlog (to
// read a partition's log); partition uses commitlog; broker, partition and
// commitlog write whole files through durable; group imports none of them.
// The broker imports no project package outside broker/.
//
// # Data flow
//
// Each listener accepts connections of one security protocol. On SSL and
// SASL_SSL the TLS handshake runs first on the connection's goroutine
// (within RequestTimeout; a client that does not speak TLS is closed,
// counted and logged once a minute). On SASL listeners a connection may
// send only ApiVersions, SaslHandshake and SaslAuthenticate until it has
// authenticated; anything else closes it, as Kafka does. The principal
// (User:ANONYMOUS, the client certificate's CN, or the SASL user) is what
// the authorizer checks every request against when Config.Authorizer is
// "acl"; when it is off the checks cost one nil test.
//
// A connection (conn.go) reads length-prefixed request frames, refusing any
// whose length exceeds Config.MaxRequestBytes before allocating for it. A
// body's buffer grows as its bytes arrive, each step taken first from the
// broker-wide request budget (MaxInflightRequestBytes); fetch replies take
// their record buffers from FetchMemory until written. A request must
// arrive, and a reply be taken, within RequestTimeout; idle connections
// close after ConnectionsMaxIdle; MaxConnections(PerIP) refuse the rest.
// So memory stays bounded whatever clients do. Each
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
// delete it. In a cluster __consumer_offsets is replicated like any topic
// and a group's coordinator is the leader of its partition of it, as in
// Kafka: each broker runs one coordinator per partition it leads, replayed
// from the partition's log when it becomes leader, and a commit is answered
// once the high watermark passes it (cluster_groups.go), so groups and
// their committed offsets survive the coordinator's death.
//
// # Rules
//
// One file per API key: each API lives in a file named after its key,
// which opens with the versions it serves and why. The ApiVersions answer
// is built from the registry in apis.go and nowhere else.
//
// kmsg decodes every request and encodes every response, so the codec is
// never written by hand, with one deliberate exception: the Fetch response
// frame (appendFetchFrame in 01_fetch.go). It is encoded around the stored
// record batches, which then go to the socket from the buffers they were
// read into (writev) instead of being copied into kmsg's encoding, which
// took `pitwall bench consume` from ~500 to ~1100 MB/s. The encoder writes
// only the fields fetchOnce sets, and TestFetchFrameMatchesKmsg and
// FuzzRequestFrame hold its output byte for byte to kmsg's at every version
// served, so serving a new Fetch version fails them until the encoder
// learns it. TLS has no writev: there the frame and the batches go through
// the connection's write buffer, and the wire under the tls.Conn gathers
// the records into large writes (tls_wire.go).
//
// Kafka error codes appear only in this package: the handlers and
// errors.go map the internal packages' sentinel errors to them.
package broker
