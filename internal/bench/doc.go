// Package bench is the engine behind `pitwall bench`: a load generator that
// measures a Kafka-protocol broker's produce and consume throughput and
// produce latency, and runs the identical workload, in the same invocation,
// against franz-go's in-process kfake so every figure comes with a ratio.
//
// Data flow for one run:
//
//	Config ──Run──▶ for each target (the broker under test, then kfake):
//	                  start it (embedded Pitwall broker or kfake) or dial --brokers
//	                  create the topic (CreateTopics, Metadata)
//	                  produce: N kgo clients × one goroutine each call Produce
//	                           until --records or --duration; each promise
//	                           records its latency in a lock-free histogram
//	                  consume: produce the same workload first (the fill), then
//	                           N kgo clients read it back from the offsets the
//	                           topic had before the fill, to its end
//	                  stop it
//	             ──▶ Report (one Result per target, ratios) ──▶ table or JSON
//
// The load generator is franz-go's kgo, the fastest Go client, tuned so it
// is not the bottleneck: 1 MiB batches, several clients (each its own
// connection) and no compression unless asked. Each client buffers at most
// 4 MiB, enough to keep its pipeline full, so the latency measured per record
// (from the Produce call to its acknowledgement) is mostly the broker's and
// not time spent queued in the client;
// throughput counts record values only (bytes = records × record size), in
// MB of 10^6 bytes.
//
// Targets run one after the other, never at once, so they never compete for
// the machine's cores.
//
// Security (security.go): with Security SSL or SASL_SSL the embedded broker
// also listens with that protocol (TLS from a throwaway CA in a temp dir;
// for SASL_SSL a SCRAM user created through its PLAINTEXT listener) and
// every client of the workload connects there with kgo.DialTLSConfig and
// franz-go's SCRAM; Peer "plaintext" then runs the identical workload on a
// PLAINTEXT embedded broker, so the ratio is what TLS and SASL cost.
// Against --brokers the kafkasec client flags apply instead.
//
// `pitwall bench partitions` (partitions.go) measures something else: what
// an idle broker costs as its partition count grows. It runs `pitwall
// broker` as a child process, creates the partitions with one record each,
// and reads the child's CPU time, RSS and open files from /proc, then times
// a SIGTERM and a restart until Metadata lists every partition.
//
// `pitwall bench pipeline` (pipeline*.go) runs the whole pipeline under a
// race weekend's load, each stage its own process so its CPU and memory
// can be read from /proc:
//
//	the load (this process): simulator.Sim stepped in real time (sensor
//	    time = wall clock), every channel at --hz, into the wire (--in):
//	    serial  one pty per car ──▶ pitwall edge (spool) ──▶ pitwall broker
//	    mqtt    a local mosquitto ──▶ pitwall edge (spool) ──▶ pitwall broker
//	    kafka   franz-go, acks=all ─────────────────────────▶ pitwall broker
//	pitwall broker ──▶ live stage (`--stage live`): every partition, every
//	                   frame decoded, each car's seq checked, one channel's
//	                   rows "streamed" in 16 ms batches like the plugin
//	               ──▶ process stage ×2 (`--stage process`, one group):
//	                   processors.Run to InfluxDB (--influx-url, or a local
//	                   influxd the run starts); Config.Written times samples
//	                   into InfluxDB
//
// Stage processes report over their stdout (pipeline_stage.go); the edge
// over its /metrics. Rates are taken over the steady part of the run (from
// a tenth of --duration to its end), then the run waits for the spool,
// the consumer lag and the live stream to drain and applies the issue's
// rule (KeptUpShare, DrainWithin) in pipeline order. The whole machine's
// CPU and context switches (/proc/stat, machine.go) are read with the
// same snapshots, over the same steady part. Every latency
// histogram also counts by the second its samples were taken in, so the
// report gives each p99 by part of the load (loadParts: a sixth of
// it each, in whole seconds), beside the cache snapshots
// and TSM compactions the local influxd logged (at level info) in each.
//
// `pitwall bench web` (web.go) measures the pit wall page (issue 16): it
// runs `pitwall up --cars N --rate every-channel=Hz --speed 1` as a child
// process, reads its CPU time and RSS from /proc for a phase without the
// page, then opens the page in headless Chromium with ?bench=1 (app.js
// then records, per live record applied, sample time → the next
// animation frame, and every frame's duration) and measures a phase with
// it; a consumer of its own reads telemetry.live meanwhile, so the
// pipeline's share of the latency (sample → live record at the broker)
// stands beside the page's.
//
// Clusters (issue 13, cluster.go): with --cluster N the broker under
// test is N `pitwall broker` child processes on loopback, every one a
// controller voter, and the topic has replication factor N; the peer is
// one `pitwall broker` child process. `pitwall bench failover`
// (cluster_failover.go) SIGKILLs the leader of an RF=3 partition of a
// 3-broker cluster again and again under a kgo acks=all producer and
// times each kill to the first acknowledgement by its successor.
package bench
