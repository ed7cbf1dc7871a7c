package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/telemetry"
)

// EnsureTopics creates each topic of specs that does not exist yet,
// through client, which stays open, with ReplicationFactor(client)
// replicas of each partition: on a cluster Pitwall's topics are
// replicated like any other, so a session's data outlives a broker. It
// tries every spec and returns what failed, joined; an existing topic is
// left as it is. Callers carry on after an error: a broker that
// auto-creates topics still takes the records, only without the settings.
func EnsureTopics(client sarama.Client, specs ...telemetry.TopicSpec) error {
	// Not closed: closing the admin would close the caller's client.
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	rf := ReplicationFactor(client)
	var errs []error
	for _, s := range specs {
		err := admin.CreateTopic(s.Name, topicDetail(s, rf), false)
		if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
			errs = append(errs, fmt.Errorf("admin: create topic %s: %w", s.Name, err))
		}
	}
	return errors.Join(errs...)
}

// ReplicationFactor is the replica count Pitwall gives the topics it
// creates: 3 on a cluster of three brokers or more, otherwise one per
// broker (1 on a single broker), as Kafka clusters are usually run and as
// a Pitwall cluster's default.replication.factor is.
func ReplicationFactor(client sarama.Client) int16 {
	return replicationFactor(len(client.Brokers()))
}

// replicationFactor is ReplicationFactor for a cluster of n brokers.
func replicationFactor(n int) int16 { return int16(max(1, min(3, n))) }

// EnsureTopicsKgo is EnsureTopics through a franz-go client (the edge's
// producer): one CreateTopics request to the controller, with the
// replication factor ReplicationFactor gives for the brokers the
// cluster's metadata lists.
func EnsureTopicsKgo(ctx context.Context, cl *kgo.Client, specs ...telemetry.TopicSpec) error {
	md := kmsg.NewPtrMetadataRequest()
	md.Topics = []kmsg.MetadataRequestTopic{} // no topics, only the brokers
	mresp, err := md.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("admin: metadata: %w", err)
	}
	rf := replicationFactor(len(mresp.Brokers))
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 30_000
	for _, s := range specs {
		t := kmsg.NewCreateTopicsRequestTopic()
		t.Topic = s.Name
		t.NumPartitions = s.Partitions
		if s.Partitions == 0 {
			t.NumPartitions = -1 // the broker's default (CreateTopics v4+)
		}
		t.ReplicationFactor = rf
		for k, v := range s.Configs {
			c := kmsg.NewCreateTopicsRequestTopicConfig()
			c.Name, c.Value = k, kmsg.StringPtr(v)
			t.Configs = append(t.Configs, c)
		}
		req.Topics = append(req.Topics, t)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("admin: create topics: %w", err)
	}
	var errs []error
	for _, t := range resp.Topics {
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			errs = append(errs, fmt.Errorf("admin: create topic %s: %w", t.Topic, err))
		}
	}
	return errors.Join(errs...)
}
