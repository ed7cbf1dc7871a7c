package admin

import (
	"errors"
	"fmt"

	"github.com/IBM/sarama"

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
	return int16(max(1, min(3, len(client.Brokers()))))
}
