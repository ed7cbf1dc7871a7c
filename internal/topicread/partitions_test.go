package topicread_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/internal/topicread"
)

// TestFollowPartitions follows each partition from an offset of its
// own: partition 0 from 1, partition 1 from its end (OffsetNewest).
func TestFollowPartitions(t *testing.T) {
	client, produce := setup(t, 3, 2)
	starts := []topicread.PartitionStart{{Topic: "t", Partition: 0, Offset: 1}, {Topic: "t", Partition: 1, Offset: sarama.OffsetNewest}}
	seen, stop := follow(t, func(ctx context.Context, fn func(*sarama.ConsumerMessage)) error {
		return topicread.FollowPartitions(ctx, client, starts, fn)
	})
	got := []string{recv(t, seen), recv(t, seen)}
	// Every partition's start was resolved before the first record was
	// handed on, so "later" is past partition 1's end.
	produce(1, "later")
	got = append(got, recv(t, seen))
	slices.Sort(got)
	if want := []string{"0/1", "0/2", "later"}; !slices.Equal(got, want) {
		t.Errorf("followed %q, want %q", got, want)
	}
	stop()
}

// TestFollowPartitionsFails checks that a partition that cannot be read
// ends the whole read with its error, the others' goroutines stopped.
func TestFollowPartitionsFails(t *testing.T) {
	client, _ := setup(t, 1, 1)
	for _, tc := range []struct {
		name  string
		start topicread.PartitionStart
		want  error
	}{
		{"past the end", topicread.PartitionStart{Topic: "t", Partition: 1, Offset: 5}, sarama.ErrOffsetOutOfRange},
		{"no such partition", topicread.PartitionStart{Topic: "t", Partition: 7}, sarama.ErrUnknownTopicOrPartition},
	} {
		t.Run(tc.name, func(t *testing.T) {
			starts := []topicread.PartitionStart{{Topic: "t", Partition: 0, Offset: sarama.OffsetOldest}, tc.start}
			err := topicread.FollowPartitions(t.Context(), client, starts, func(*sarama.ConsumerMessage) {})
			if !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}
