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
	// TopicDeadLetter carries input that could not be decoded, raw, with
	// the reason in the HeaderReason header.
	TopicDeadLetter = "telemetry.deadletter"

	// DefaultPartitions is the partition count TopicFrames is created with.
	DefaultPartitions = 12

	// HeaderReason is the record header that says why a record went to
	// TopicDeadLetter.
	HeaderReason = "reason"
)
