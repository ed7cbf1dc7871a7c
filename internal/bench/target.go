package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Target names as they appear in reports.
const (
	TargetPitwall = "pitwall" // the embedded Pitwall broker
	TargetBroker  = "broker"  // whatever --brokers points at
	TargetKfake   = "kfake"
)

// topicReadyTimeout bounds how long a created topic may take to show up with
// a leader for every partition.
const topicReadyTimeout = 30 * time.Second

// target is one running broker (or cluster) a workload is measured against.
type target struct {
	name  string
	seeds []string
	opts  []kgo.Opt // the clients' TLS and SASL options; none for PLAINTEXT
	rf    int16     // replication factor of the topic a run creates; 0 means 1
	// ready, if set, waits after the topic's creation until every broker
	// of the target agrees on it (a cluster's brokers apply the creation
	// one after the other: a client that looked it up too early on one
	// still behind waits out kgo's metadata min age, 5 s, to look again).
	ready func(ctx context.Context, topic string) error
	stop  func() error // releases what start acquired; never nil
}

// startKfake starts a one-broker kfake cluster on 127.0.0.1:0.
func startKfake() (*target, error) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		return nil, fmt.Errorf("bench: start kfake: %w", err)
	}
	return &target{
		name:  TargetKfake,
		seeds: c.ListenAddrs(),
		stop:  func() error { c.Close(); return nil },
	}, nil
}

// external is the broker at cfg.Brokers, reached with cfg.ClientSecurity;
// nothing to start or stop.
func external(cfg Config) (*target, error) {
	opts, err := cfg.ClientSecurity.KgoOpts()
	if err != nil {
		return nil, err
	}
	return &target{name: TargetBroker, seeds: cfg.seeds(), opts: opts, stop: func() error { return nil }}, nil
}

// ensureTopic creates topic with the given partition count and replication
// factor unless it exists, waits until every partition has a leader, and
// returns the partition count the topic really has.
func ensureTopic(ctx context.Context, cl *kgo.Client, topic string, partitions int, replicationFactor int16) (int, error) {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = int32(topicReadyTimeout / time.Millisecond)
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic = topic
	rt.NumPartitions = int32(partitions)
	rt.ReplicationFactor = replicationFactor
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return 0, fmt.Errorf("bench: create topic %s: %w", topic, err)
	}
	if len(resp.Topics) != 1 {
		return 0, fmt.Errorf("bench: create topic %s: %d topics in response, want 1", topic, len(resp.Topics))
	}
	if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return 0, fmt.Errorf("bench: create topic %s: %w", topic, err)
	}
	return waitTopic(ctx, cl, topic)
}

// waitTopic polls Metadata until topic has partitions that all have leaders.
func waitTopic(ctx context.Context, cl *kgo.Client, topic string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, topicReadyTimeout)
	defer cancel()
	var last error
	for {
		n, err := topicPartitions(ctx, cl, topic)
		if err == nil {
			return n, nil
		}
		last = err
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("bench: topic %s not ready: %w", topic, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func topicPartitions(ctx context.Context, cl *kgo.Client, topic string) (int, error) {
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return 0, err
	}
	if len(resp.Topics) != 1 {
		return 0, fmt.Errorf("%d topics in metadata, want 1", len(resp.Topics))
	}
	t := resp.Topics[0]
	if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
		return 0, err
	}
	if len(t.Partitions) == 0 {
		return 0, errors.New("no partitions yet")
	}
	for _, p := range t.Partitions {
		if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
			return 0, fmt.Errorf("partition %d: %w", p.Partition, err)
		}
		if p.Leader < 0 {
			return 0, fmt.Errorf("partition %d has no leader", p.Partition)
		}
	}
	return len(t.Partitions), nil
}

// endOffsets returns the log end offset of each of topic's partitions.
func endOffsets(ctx context.Context, cl *kgo.Client, topic string, partitions int) (map[int32]int64, error) {
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	for p := range partitions {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition = int32(p)
		rp.Timestamp = -1 // latest
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("bench: list offsets of %s: %w", topic, err)
	}
	out := make(map[int32]int64, partitions)
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return nil, fmt.Errorf("bench: list offsets of %s[%d]: %w", topic, p.Partition, err)
			}
			out[p.Partition] = p.Offset
		}
	}
	if len(out) != partitions {
		return nil, fmt.Errorf("bench: list offsets of %s: %d partitions answered, want %d", topic, len(out), partitions)
	}
	return out, nil
}
