package admin

import (
	"errors"
	"fmt"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/telemetry"
)

// EnsureTopics creates each topic of specs that does not exist yet, with
// one replica of each partition, through client, which stays open. It
// tries every spec and returns what failed, joined; an existing topic is
// left as it is. Callers carry on after an error: a broker that
// auto-creates topics still takes the records, only without the settings.
func EnsureTopics(client sarama.Client, specs ...telemetry.TopicSpec) error {
	// Not closed: closing the admin would close the caller's client.
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	var errs []error
	for _, s := range specs {
		err := admin.CreateTopic(s.Name, topicDetail(s, 1), false)
		if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
			errs = append(errs, fmt.Errorf("admin: create topic %s: %w", s.Name, err))
		}
	}
	return errors.Join(errs...)
}
