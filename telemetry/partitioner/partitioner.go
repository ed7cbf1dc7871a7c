package partitioner

import (
	"errors"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/telemetry"
)

// ErrNoKey is returned for a record without a key: every telemetry record
// is keyed (by car id, or by source on the dead-letter topic), so a
// missing key is a bug to surface, not to spread at random as sarama's own
// murmur2 partitioner would.
var ErrNoKey = errors.New("partitioner: record has no key")

// New is a sarama.PartitionerConstructor placing records by
// telemetry.Partition.
func New(topic string) sarama.Partitioner { return keyed{} }

type keyed struct{}

// Partition implements sarama.Partitioner.
func (keyed) Partition(msg *sarama.ProducerMessage, n int32) (int32, error) {
	if msg.Key == nil {
		return -1, ErrNoKey
	}
	key, err := msg.Key.Encode()
	if err != nil {
		return -1, err
	}
	return telemetry.Partition(key, n), nil
}

// RequiresConsistency implements sarama.Partitioner: a key always maps to
// the same partition.
func (keyed) RequiresConsistency() bool { return true }
