package partition

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pitwall/pitwall/broker/internal/commitlog"
)

// configKeys are the topic-level configs this broker understands, with
// Kafka's names so the same tools and scripts work against both. Any other
// key is refused (ErrInvalidConfig, INVALID_CONFIG to clients) rather than
// silently ignored.
var configKeys = []string{
	"cleanup.policy",
	"delete.retention.ms",
	"max.message.bytes",
	"min.cleanable.dirty.ratio",
	"min.compaction.lag.ms",
	"min.insync.replicas",
	"replica.lag.time.max.ms",
	"retention.bytes",
	"retention.ms",
	"segment.bytes",
	"segment.ms",
	"unclean.leader.election.enable",
}

// ConfigKeys returns the names of every topic config, sorted.
func ConfigKeys() []string { return slices.Clone(configKeys) }

// MinSegmentBytes is the smallest segment.bytes accepted. Kafka allows 14;
// anything that small only multiplies files, so we ask for 1 KiB.
const MinSegmentBytes = 1024

// defaultSegmentAge is Kafka's segment.ms default (7 days).
const defaultSegmentAge = 7 * 24 * time.Hour

// validateTopicConfig checks one key=value pair.
func validateTopicConfig(key, value string) error {
	switch key {
	case "cleanup.policy":
		for _, p := range strings.Split(value, ",") {
			if p = strings.TrimSpace(p); p != "delete" && p != "compact" {
				return fmt.Errorf("cleanup.policy %q: want delete, compact or both", value)
			}
		}
		return nil
	case "retention.ms", "retention.bytes":
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n < -1 {
			return fmt.Errorf("%s %q: want an integer >= -1", key, value)
		}
		return nil
	case "segment.bytes":
		n, err := strconv.ParseInt(value, 10, 32)
		if err != nil || n < MinSegmentBytes {
			return fmt.Errorf("segment.bytes %q: want an integer from %d to %d", value, MinSegmentBytes, int32(1<<31-1))
		}
		return nil
	case "delete.retention.ms", "min.compaction.lag.ms":
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%s %q: want an integer >= 0", key, value)
		}
		return nil
	case "min.cleanable.dirty.ratio":
		f, err := strconv.ParseFloat(value, 64)
		if err != nil || f <= 0 || f > 1 {
			return fmt.Errorf("min.cleanable.dirty.ratio %q: want a number in (0, 1]", value)
		}
		return nil
	case "segment.ms":
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n < 1 {
			return fmt.Errorf("segment.ms %q: want an integer >= 1", value)
		}
		return nil
	case "min.insync.replicas", "replica.lag.time.max.ms":
		n, err := strconv.ParseInt(value, 10, 32)
		if err != nil || n < 1 {
			return fmt.Errorf("%s %q: want an integer >= 1", key, value)
		}
		return nil
	case "unclean.leader.election.enable":
		if value != "false" {
			return fmt.Errorf("unclean.leader.election.enable %q: only false is supported (a replica outside the ISR is never made leader)", value)
		}
		return nil
	case "max.message.bytes":
		n, err := strconv.ParseInt(value, 10, 32)
		if err != nil || n < 0 {
			return fmt.Errorf("max.message.bytes %q: want an integer >= 0", value)
		}
		return nil
	}
	return fmt.Errorf("unknown topic config %q (supported: %s)", key, strings.Join(configKeys, ", "))
}

// defaults returns the broker-wide default of every topic config, as
// strings in Kafka's units.
func (c Config) defaults() map[string]string {
	retentionMS := int64(-1)
	if c.Retention > 0 {
		retentionMS = c.Retention.Milliseconds()
	}
	retentionBytes := int64(-1)
	if c.RetentionBytes > 0 {
		retentionBytes = c.RetentionBytes
	}
	return map[string]string{
		"cleanup.policy":            "delete",
		"delete.retention.ms":       strconv.FormatInt(commitlog.DefaultTombstoneRetention.Milliseconds(), 10),
		"min.cleanable.dirty.ratio": strconv.FormatFloat(commitlog.DefaultMinCleanableDirtyRatio, 'g', -1, 64),
		"min.compaction.lag.ms":     "0",
		"max.message.bytes":         strconv.FormatInt(int64(c.MaxMessageBytes), 10),
		"retention.bytes":           strconv.FormatInt(retentionBytes, 10),
		"retention.ms":              strconv.FormatInt(retentionMS, 10),
		"segment.bytes":             strconv.FormatInt(c.SegmentBytes, 10),
		"segment.ms":                strconv.FormatInt(defaultSegmentAge.Milliseconds(), 10),
		// Replication (a cluster's; a single broker's partitions have one
		// replica and ignore them): Kafka's defaults.
		"min.insync.replicas":            "2",
		"replica.lag.time.max.ms":        "30000",
		"unclean.leader.election.enable": "false",
	}
}

// TopicConfig is a topic's configs with the defaults filled in, parsed.
// It never changes after the topic is created.
type TopicConfig struct {
	values          map[string]string // every key in configKeys
	set             map[string]bool   // keys the topic sets itself
	retention       time.Duration     // <0 forever
	retentionBytes  int64             // <0 unlimited
	segmentBytes    int64
	segmentAge      time.Duration
	maxMessageBytes int32
	// Compaction (cleanup.policy=compact): whether, and whether deletion
	// by age and size applies too (compact,delete).
	compact, delete    bool
	tombstoneRetention time.Duration
	minCompactionLag   time.Duration
	minDirtyRatio      float64
	minInsync          int
	replicaLag         time.Duration
}

// resolve merges a topic's own configs over the broker defaults. The
// topic's values were validated when they were set.
func (c Config) resolve(own map[string]string) TopicConfig {
	e := TopicConfig{values: c.defaults(), set: map[string]bool{}}
	for k, v := range own {
		e.values[k], e.set[k] = v, true
	}
	num := func(k string) int64 { n, _ := strconv.ParseInt(e.values[k], 10, 64); return n }
	e.retention = time.Duration(num("retention.ms")) * time.Millisecond
	if num("retention.ms") < 0 {
		e.retention = -1
	}
	e.retentionBytes = num("retention.bytes")
	e.segmentBytes = num("segment.bytes")
	e.segmentAge = time.Duration(num("segment.ms")) * time.Millisecond
	e.maxMessageBytes = int32(num("max.message.bytes"))
	for _, p := range strings.Split(e.values["cleanup.policy"], ",") {
		switch strings.TrimSpace(p) {
		case "compact":
			e.compact = true
		case "delete":
			e.delete = true
		}
	}
	e.tombstoneRetention = time.Duration(num("delete.retention.ms")) * time.Millisecond
	e.minCompactionLag = time.Duration(num("min.compaction.lag.ms")) * time.Millisecond
	e.minDirtyRatio, _ = strconv.ParseFloat(e.values["min.cleanable.dirty.ratio"], 64)
	e.minInsync = int(num("min.insync.replicas"))
	e.replicaLag = time.Duration(num("replica.lag.time.max.ms")) * time.Millisecond
	return e
}

// MinInsyncReplicas is min.insync.replicas, capped at rf (the partition's
// replication factor): the ISR size acks=all needs.
func (e *TopicConfig) MinInsyncReplicas(rf int) int { return max(1, min(e.minInsync, rf)) }

// ReplicaLag is replica.lag.time.max.ms: how long a follower may stay
// behind the leader before it leaves the ISR.
func (e *TopicConfig) ReplicaLag() time.Duration { return e.replicaLag }

// Value is the config's value: the topic's own, or the broker default.
func (e *TopicConfig) Value(key string) string { return e.values[key] }

// SetOnTopic reports whether the topic sets key itself rather than
// inheriting the broker default.
func (e *TopicConfig) SetOnTopic(key string) bool { return e.set[key] }

// MaxMessageBytes is max.message.bytes: the largest record batch the
// broker accepts for the topic.
func (e *TopicConfig) MaxMessageBytes() int32 { return e.maxMessageBytes }
