// Package topicread reads a topic with sarama, for the parts of Pitwall
// that rebuild state from the log rather than consume it in a group: the
// lap processor (every car's channel catalog from telemetry.channels, its
// own earlier laps from telemetry.laps, the session bests from
// telemetry.laps and telemetry.live), the Grafana plugin (a car's
// catalog, a window of frames), `pitwall up`'s timing board (laps) and
// the web page (laps, live records, alarms).
//
// # Data flow
//
//	topic ── Config.Partitions (default: all) ──▶ one partition consumer and goroutine each
//	    from Config.From (default: the oldest offset the partition holds)
//	    ReadToEnd: up to the end offset (high watermark) each partition had when
//	               the read began, or until Config.IdleEnd passes without a record
//	    Follow:    on and on, until the context ends
//	──▶ fn(record), in offset order within a partition
//
// FollowPartitions is Follow for callers that chose each partition's
// start offset themselves (the laps' end offsets before a ReadToEnd, the
// live records of the last minutes by timestamp), over one or several
// topics: one consumer, a goroutine per partition, and the first error
// of any partition ends the read; the caller starts it again.
//
// fn runs on the partitions' goroutines, so it may be called for two
// partitions at once; it is never called after the read returned. A read
// keeps no offsets and joins no group: it is for state that the log holds
// whole (a compacted topic, or one whose records the reader filters).
package topicread
