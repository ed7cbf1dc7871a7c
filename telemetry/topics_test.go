package telemetry

import "testing"

func TestTopics(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Topics() {
		if seen[s.Name] {
			t.Errorf("%s listed twice", s.Name)
		}
		seen[s.Name] = true
		if s.Partitions != DefaultPartitions {
			t.Errorf("%s: %d partitions, want %d", s.Name, s.Partitions, DefaultPartitions)
		}
		if got, ok := Topic(s.Name); !ok || got.Name != s.Name {
			t.Errorf("Topic(%q) = %+v, %v", s.Name, got, ok)
		}
	}
	for _, name := range []string{TopicFrames, TopicChannels, TopicLaps, TopicLive, TopicDeadLetter, TopicAlarms} {
		if !seen[name] {
			t.Errorf("%s missing from Topics", name)
		}
	}
	if _, ok := Topic("telemetry.other"); ok {
		t.Error("Topic found a topic that is not Pitwall's")
	}
}

// TestTopicCompacted holds the setting the catalog readers rely on: the
// latest catalog of every car stays on telemetry.channels.
func TestTopicCompacted(t *testing.T) {
	s, _ := Topic(TopicChannels)
	if s.Configs["cleanup.policy"] != "compact" {
		t.Errorf("%s configs %v, want cleanup.policy=compact", s.Name, s.Configs)
	}
	s.Configs["cleanup.policy"] = "delete" // a caller's copy
	if s, _ := Topic(TopicChannels); s.Configs["cleanup.policy"] != "compact" {
		t.Error("changing a returned spec changed Topics")
	}
	for _, name := range []string{TopicFrames, TopicLaps, TopicDeadLetter} {
		if s, _ := Topic(name); s.Configs != nil {
			t.Errorf("%s configs %v, want none", name, s.Configs)
		}
	}
}
