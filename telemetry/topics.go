package telemetry

// Topic names. Every record on them is keyed by car id (deadletter: by
// source), so one car's records stay in order on one partition.
const (
	// TopicFrames carries Avro Frames; the record timestamp is the edge's
	// receive time, the frame's own TimeNs the sensor time.
	TopicFrames = "telemetry"
	// TopicChannels carries each car's Avro ChannelCatalog; compacted, so
	// the latest catalog of every car is always there to read.
	TopicChannels = "telemetry.channels"
	// TopicLaps carries Avro Laps, the lap processor's output.
	TopicLaps = "telemetry.laps"
	// TopicLive carries Avro Live records: each car's lap in progress
	// (live delta, sector, position) as the lap processor sees it, at
	// least 10 a second per car. Kept for a day: live views read its end.
	TopicLive = "telemetry.live"
	// TopicAlarms carries Avro Alarm records: alarm rules raised and
	// cleared per car by the lap processor (pitwall --alarms FILE).
	TopicAlarms = "telemetry.alarms"
	// TopicDeadLetter carries input that could not be decoded, raw, with
	// the reason in the HeaderReason header.
	TopicDeadLetter = "telemetry.deadletter"
	// TopicImports records `pitwall import`'s imports of recorded logs,
	// keyed by import id (a hash of the file, car and options); compacted,
	// so each import's last state (started, with where its frames begin,
	// or done) is always there: a second import of a file is refused, an
	// interrupted one resumes without doubles.
	TopicImports = "telemetry.imports"

	// DefaultPartitions is the partition count Pitwall's topics are
	// created with (see Topics).
	DefaultPartitions = 12

	// HeaderReason is the record header that says why a record went to
	// TopicDeadLetter.
	HeaderReason = "reason"
)

// TopicSpec is a topic with the settings it is created with; Topics lists
// Pitwall's. Each producer creates the topics it writes before it writes
// them (the edge, the simulator's Kafka output, the lap processor),
// because a broker that auto-created them would use its own defaults: no
// compaction, its own partition count.
type TopicSpec struct {
	// Name is the topic's name.
	Name string
	// Partitions is the partition count; 0 leaves it to the broker's
	// default.
	Partitions int32
	// Configs are the topic configs set at creation, by their Kafka names
	// (cleanup.policy, retention.ms, ...); nil sets none, leaving the
	// broker's defaults.
	Configs map[string]string
}

// Topics returns Pitwall's topics and their settings, in a new slice the
// caller may change (a frames topic renamed with --topic keeps the
// settings of TopicFrames).
func Topics() []TopicSpec {
	return []TopicSpec{
		{Name: TopicFrames, Partitions: DefaultPartitions},
		{Name: TopicChannels, Partitions: DefaultPartitions, Configs: map[string]string{"cleanup.policy": "compact"}},
		{Name: TopicLaps, Partitions: DefaultPartitions},
		{Name: TopicLive, Partitions: DefaultPartitions, Configs: map[string]string{"retention.ms": "86400000"}},
		{Name: TopicDeadLetter, Partitions: DefaultPartitions},
		{Name: TopicAlarms, Partitions: DefaultPartitions},
		{Name: TopicImports, Partitions: DefaultPartitions, Configs: map[string]string{"cleanup.policy": "compact"}},
	}
}

// Topic returns the settings of the topic named name from Topics; ok is
// false when name is none of Pitwall's topics.
func Topic(name string) (spec TopicSpec, ok bool) {
	for _, s := range Topics() {
		if s.Name == name {
			return s, true
		}
	}
	return TopicSpec{}, false
}
