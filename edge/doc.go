// Package edge is Pitwall's edge agent, the program on the trackside laptop
// between the cars and the broker: it reads telemetry from serial ports,
// SLCAN adapters, MQTT, SocketCAN, NMEA GPS receivers and racing games'
// UDP streams, turns it into telemetry.Frame records keyed by car, keeps them in an on-disk spool and produces them into the
// broker over the Kafka protocol with franz-go. `pitwall edge` runs it.
//
// # Data flow
//
//	serial    (edge/serial)    ─┐                    ┌─ frames   → telemetry         (key car, Avro Frame)
//	slcan     (edge/slcan)     ─┼─ emitter (the ─────┼─ catalogs → telemetry.channels (key car, Avro ChannelCatalog, compacted)
//	mqtt      (edge/mqtt)      ─┤  source.Sink of    └─ garbage  → telemetry.deadletter (key source, raw bytes, "reason" header)
//	socketcan (edge/socketcan) ─┘  one source) encodes
//	                               │
//	                               ▼ one write per source read
//	                         spool (edge/spool): append-only, CRC-checked segments on disk
//	                               │ Read, in order, ≤ MaxInFlightBytes ahead of the acks
//	                               ▼
//	                         sender → franz-go producer (acks=all, idempotent, murmur2, lz4, linger)
//	                               │ acknowledged: spool.Ack(index) → cursor → delivered segments deleted
//	                               ▼ failed: sent again (or dead-lettered if the broker refuses them outright)
//	                            broker
//
// Every record goes through the spool, not only while the broker is away:
// a source's read is appended to the spool (one write(2)) before the source
// reads again, so a record the edge has taken survives an edge crash or
// SIGKILL, and the spool is the single ordered queue all records leave by.
// While the broker keeps up, the sender reads records back from the page
// cache within milliseconds and the spool stays one segment long; while it
// is unreachable or slow, the sender stops MaxInFlightBytes ahead of the
// acknowledgements and the backlog waits on disk, in arrival order, to be
// replayed when the broker is back. A car's new frames therefore always
// queue behind its spooled ones: its order is never broken.
//
// # Layout
//
//	edge/            the agent: Config and ParseInput (config.go), New/Run (edge.go),
//	                 sources.go (the one place sources are built, by --in scheme),
//	                 emitter.go (the Sink), sender.go and kafka.go (the producer),
//	                 metrics.go, status.go
//	edge/source/     what sources share: Sink, the Reason/Event/Drop names, Reopen, Sleep;
//	                 source/sourcetest: a recording Sink for tests
//	edge/serial/     the serial line source; Port: opening and reading a tty (slcan's too)
//	edge/slcan/      SLCAN adapters: the Lawicel protocol over a serial.Port
//	edge/socketcan/  Linux SocketCAN: struct can_frame over a CAN_RAW socket
//	edge/can/        the CAN Frame and the DBC Decoder slcan and socketcan share
//	edge/mqtt/       MQTT subscriptions: Avro or JSON payloads
//	edge/nmea/       NMEA 0183 GPS receivers on a serial.Port (nmea:PATH)
//	edge/udp/        racing games' UDP telemetry: F1 24 and Forza Data Out (udp://HOST:PORT?format=)
//	edge/spool/      the on-disk store-and-forward queue
//	edge/internal/durable/  atomic, fsynced file writes for the spool and its state files
//
// A new kind of source is a package beside these whose Source has
// Run(ctx, source.Sink) error, plus one case in builderFor (sources.go).
//
// # Ordering and duplicates
//
// Within one run every record is handed to the producer once, in spool
// order. franz-go retries a record until the cluster takes it (no
// delivery timeout, no retry limit), so an unreachable cluster or a
// partition without a leader makes records wait, in order, instead of
// failing them. The idempotent producer (the default) keeps a partition's
// order across its own retries with up to five requests in flight per
// broker, and lets the broker drop a batch it already has when franz-go
// resends one whose answer was lost; with --idempotent=false one request
// is in flight per broker, which keeps the order too. A record the
// producer still gives up on is sent again after a pause, which could
// reorder it; edge_produce_errors_total counts them. A record the broker
// refuses outright (too large, invalid) goes to the dead-letter topic after
// three attempts, so it cannot hold up every record behind it.
//
// Across a crash delivery is at-least-once: the spool replays from its
// cursor, which lags the acknowledgements by at most about a second
// (spool doc.go), and
// MQTT brokers redeliver what was received but not yet acknowledged (the
// edge acknowledges an MQTT message only once it is in the spool). A
// consumer that must not count twice keys on (car, seq): the lap
// processor skips a car's frame whose seq and time are not after the last
// it timed.
//
// # A full disk
//
// The spool gives space back as the broker acknowledges, so a disk that
// filled during an outage recovers by itself. While it is full, policy
// alarm (and drop-newest) drops the new frames: counted in
// edge_dropped_total{reason="disk_full"}, edge_frames_dropped_total and
// edge_spool_refused_records_total, edge_spool_disk_full is 1, an ERROR
// is logged every 10 s and the status line says DISK FULL; drop-oldest
// deletes the oldest unsent segments instead
// (edge_spool_dropped_records_total). The cursor and the catalogs file
// are written into space the spool reserved, so they survive a full disk.
//
// # Bad input
//
// A line, CAN record or payload that does not decode is counted in
// edge_bad_input_total{source,reason}, spooled to telemetry.deadletter with
// its raw bytes and the headers reason, source and error, and logged once
// per source and reason per minute; the good input around it is unaffected.
// Events that are not bad input (resynchronising after opening a port, CAN
// ids the DBC does not describe, adapter error replies) are counted in
// edge_source_events_total and logged the same way.
//
// # Operation
//
// /metrics serves the edge's own Prometheus registry (sources, spool,
// producer, ack latency from receipt to acknowledgement). Every StatusEvery
// a one-line status is logged: per source whether it is up and the frames
// read, spooled and dropped per second, acknowledged frames and samples per
// second with the p99 latency, the records not yet acknowledged and the
// spool's size on disk (DISK FULL or OVER LIMIT when so), the last error. Cancelling Run's context (SIGTERM in
// `pitwall edge`) stops the sources, waits up to FlushTimeout for the broker
// to take what is spooled, and exits; the rest stays in the spool. A file
// beside the spool keeps each car's last catalog, so a restarted edge does
// not republish unchanged catalogs and knows the session of serial cars
// before their next channel announcement; it is replaced atomically and
// fsynced, in the spool's reserved space if the disk is full
// (spool.WriteFile), by a goroutine of its own once a changed catalog's
// record is in the spool: a source's reader never waits for it.
package edge
