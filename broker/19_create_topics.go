package broker

// CreateTopics (key 19), versions 0-7.
//
// librdkafka sends 0-4, sarama's ClusterAdmin up to v7, franz-go the
// highest. Partitions -1 means the broker default; the replication factor
// must be 1 or -1 (this is a single broker) and manual replica assignments
// are refused. Supported configs are those of internal/partition (config.go); any other is
// INVALID_CONFIG, so a typo is never silently ignored. v5+ answers with the
// resulting partitions, replication factor and configs; v7+ with the id.

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/internal/partition"
)

var createTopicsAPI = api{key: 19, name: "CreateTopics", minVersion: 0, maxVersion: 7, handle: handleCreateTopics}

func handleCreateTopics(c *conn, kreq kmsg.Request) *reply {
	req := kreq.(*kmsg.CreateTopicsRequest)
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	seen := map[string]int{}
	for _, rt := range req.Topics {
		seen[rt.Topic]++
	}
	for _, rt := range req.Topics {
		st := kmsg.NewCreateTopicsResponseTopic()
		st.Topic = rt.Topic
		st.NumPartitions, st.ReplicationFactor = -1, -1
		if seen[rt.Topic] > 1 {
			st.ErrorCode = kerr.InvalidRequest.Code
			st.ErrorMessage = kmsg.StringPtr("topic named more than once in one request")
			resp.Topics = append(resp.Topics, st)
			continue
		}
		if !c.mayCreateTopic(rt.Topic) {
			st.ErrorCode = kerr.TopicAuthorizationFailed.Code
			resp.Topics = append(resp.Topics, st)
			continue
		}
		if c.s.cluster != nil {
			c.s.clusterCreateFromRequest(&rt, req.ValidateOnly, &st)
			if st.ErrorCode == 0 && !req.ValidateOnly {
				c.adminLog("topic created by request", "topic", rt.Topic)
			}
			resp.Topics = append(resp.Topics, st)
			continue
		}
		t, code, msg := c.s.createFromRequest(&rt, req.ValidateOnly)
		st.ErrorCode, st.ErrorMessage = code, msg
		if code == 0 && !req.ValidateOnly {
			c.adminLog("topic created by request", "topic", rt.Topic)
		}
		if t != nil {
			st.TopicID = t.ID()
			st.NumPartitions, st.ReplicationFactor = int32(t.NumPartitions()), 1
			for _, k := range partition.ConfigKeys() {
				cfg := kmsg.NewCreateTopicsResponseTopicConfig()
				v := t.Config().Value(k)
				cfg.Name, cfg.Value = k, &v
				cfg.Source = int8(configSource(t.Config().SetOnTopic(k)))
				st.Configs = append(st.Configs, cfg)
			}
		}
		resp.Topics = append(resp.Topics, st)
	}
	return ready(resp)
}

// createFromRequest creates (or with validateOnly, checks) one requested
// topic, returning it or the error code and message to answer with.
func (s *Server) createFromRequest(rt *kmsg.CreateTopicsRequestTopic, validateOnly bool) (*partition.Topic, int16, *string) {
	if rt.ReplicationFactor != -1 && rt.ReplicationFactor != 1 {
		return nil, kerr.InvalidReplicationFactor.Code,
			kmsg.StringPtr(fmt.Sprintf("replication factor %d: this is a single broker, use 1", rt.ReplicationFactor))
	}
	if len(rt.ReplicaAssignment) > 0 {
		return nil, kerr.InvalidReplicaAssignment.Code, kmsg.StringPtr("manual replica assignment is not supported")
	}
	configs := map[string]string{}
	for _, cfg := range rt.Configs {
		if cfg.Value == nil {
			continue // null means the default
		}
		configs[cfg.Name] = *cfg.Value
	}
	t, err := s.topics.Create(rt.Topic, rt.NumPartitions, configs, validateOnly)
	if err != nil {
		return nil, errorCode(err), errorMessage(err)
	}
	return t, 0, nil
}

// configSource is how a config got its value: set on the topic, or the
// broker default.
func configSource(setOnTopic bool) kmsg.ConfigSource {
	if setOnTopic {
		return kmsg.ConfigSourceDynamicTopicConfig
	}
	return kmsg.ConfigSourceDefaultConfig
}
