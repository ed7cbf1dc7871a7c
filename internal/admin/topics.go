package admin

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/telemetry"
)

// TopicSummary is one topic of ListTopics.
type TopicSummary struct {
	Name              string
	Partitions        int32
	ReplicationFactor int16
}

// TopicDescription is one topic of DescribeTopics.
type TopicDescription struct {
	Name string
	// Partitions are sorted by ID.
	Partitions []Partition
	// ReplicationFactor is the replica count of the first partition; 0
	// for a topic without partitions.
	ReplicationFactor int
	// Configs are sorted by name.
	Configs []Config
}

// Partition is one partition of a described topic: broker ids.
type Partition struct {
	ID, Leader    int32
	Replicas, ISR []int32
}

// Config is one topic config of a described topic.
type Config struct {
	Name, Value string
	// Sensitive configs come without their value.
	Sensitive bool
	// Source is where the value comes from, named as kafka-configs names
	// it: topic, dynamic-broker, dynamic-default-broker, static-broker,
	// default or unknown.
	Source string
}

// ValidTopicName applies Kafka's rules, so a bad name fails before any
// request and with a clear message.
func ValidTopicName(name string) error {
	if name == "" || name == "." || name == ".." || len(name) > 249 {
		return fmt.Errorf(`invalid topic name %q: want 1 to 249 characters, not "." or ".."`, name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("invalid topic name %q: only letters, digits, '.', '_' and '-' are allowed", name)
		}
	}
	return nil
}

// topicError turns the Kafka errors a user can cause into plain sentences.
func topicError(name string, err error) error {
	switch {
	case errors.Is(err, sarama.ErrTopicAlreadyExists):
		return fmt.Errorf("topic %s already exists", name)
	case errors.Is(err, sarama.ErrUnknownTopicOrPartition):
		return fmt.Errorf("topic %s does not exist", name)
	}
	return fmt.Errorf("topic %s: %w", name, err)
}

// CreateTopic creates spec.Name with replicationFactor replicas of each
// partition; spec.Partitions 0 means the broker's default.
func (c *Client) CreateTopic(spec telemetry.TopicSpec, replicationFactor int16) error {
	if err := c.admin.CreateTopic(spec.Name, topicDetail(spec, replicationFactor), false); err != nil {
		return topicError(spec.Name, err)
	}
	return nil
}

// topicDetail is spec as sarama's CreateTopics wants it.
func topicDetail(spec telemetry.TopicSpec, replicationFactor int16) *sarama.TopicDetail {
	d := &sarama.TopicDetail{NumPartitions: spec.Partitions, ReplicationFactor: replicationFactor}
	if spec.Partitions == 0 {
		d.NumPartitions = -1 // the broker's default (CreateTopics v4+)
	}
	for k, v := range spec.Configs {
		if d.ConfigEntries == nil {
			d.ConfigEntries = map[string]*string{}
		}
		d.ConfigEntries[k] = &v
	}
	return d
}

// DeleteTopic deletes the topic name.
func (c *Client) DeleteTopic(name string) error {
	if err := c.admin.DeleteTopic(name); err != nil {
		return topicError(name, err)
	}
	return nil
}

// ListTopics returns every topic, sorted by name.
func (c *Client) ListTopics() ([]TopicSummary, error) {
	topics, err := c.admin.ListTopics()
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	out := make([]TopicSummary, 0, len(topics))
	for name, d := range topics {
		out = append(out, TopicSummary{Name: name, Partitions: d.NumPartitions, ReplicationFactor: d.ReplicationFactor})
	}
	slices.SortFunc(out, func(a, b TopicSummary) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// DescribeTopics returns the partitions and configs of each topic of
// names, in that order; a topic that does not exist is an error.
func (c *Client) DescribeTopics(names []string) ([]TopicDescription, error) {
	metas, err := c.admin.DescribeTopics(names)
	if err != nil {
		return nil, fmt.Errorf("describe topics: %w", err)
	}
	byName := make(map[string]*sarama.TopicMetadata, len(metas))
	for _, m := range metas {
		byName[m.Name] = m
	}
	out := make([]TopicDescription, 0, len(names))
	for _, name := range names {
		m := byName[name]
		if m == nil {
			return nil, fmt.Errorf("topic %s: missing from the broker's answer", name)
		}
		if !errors.Is(m.Err, sarama.ErrNoError) {
			return nil, topicError(name, m.Err)
		}
		configs, err := c.topicConfigs(name)
		if err != nil {
			return nil, err
		}
		out = append(out, describeTopic(m, configs))
	}
	return out, nil
}

func describeTopic(m *sarama.TopicMetadata, configs []Config) TopicDescription {
	d := TopicDescription{Name: m.Name, Configs: configs}
	for _, p := range m.Partitions {
		d.Partitions = append(d.Partitions, Partition{ID: p.ID, Leader: p.Leader, Replicas: p.Replicas, ISR: p.Isr})
	}
	slices.SortFunc(d.Partitions, func(a, b Partition) int { return int(a.ID - b.ID) })
	if len(d.Partitions) > 0 {
		d.ReplicationFactor = len(d.Partitions[0].Replicas)
	}
	return d
}

// topicConfigs returns the topic's configs sorted by name.
func (c *Client) topicConfigs(name string) ([]Config, error) {
	res, err := c.admin.DescribeConfigs([]*sarama.ConfigResource{{Type: sarama.TopicResource, Name: name}}, sarama.DescribeConfigsOptions{})
	if err != nil {
		return nil, fmt.Errorf("topic %s: describe configs: %w", name, err)
	}
	for _, r := range res {
		if r.Name != name {
			continue
		}
		if !errors.Is(r.ErrorCode, sarama.ErrNoError) {
			return nil, topicError(name, fmt.Errorf("describe configs: %w", r.ErrorCode))
		}
		out := make([]Config, 0, len(r.Configs))
		for _, e := range r.Configs {
			out = append(out, Config{Name: e.Name, Value: e.Value, Sensitive: e.Sensitive, Source: configSource(e.Source)})
		}
		slices.SortFunc(out, func(a, b Config) int { return strings.Compare(a.Name, b.Name) })
		return out, nil
	}
	return nil, fmt.Errorf("topic %s: describe configs: no answer for the topic", name)
}

// configSource names where a config's value comes from, as kafka-configs
// does.
func configSource(s sarama.ConfigSource) string {
	switch s {
	case sarama.SourceTopic:
		return "topic"
	case sarama.SourceDynamicBroker:
		return "dynamic-broker"
	case sarama.SourceDynamicDefaultBroker:
		return "dynamic-default-broker"
	case sarama.SourceStaticBroker:
		return "static-broker"
	case sarama.SourceDefault:
		return "default"
	}
	return "unknown"
}
