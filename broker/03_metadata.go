package broker

// Metadata (key 3), versions 0-12.
//
// librdkafka sends 0-4, sarama up to v11 (v7 from 1.45 with its default
// Version), franz-go the highest. This broker is the only node: it leads
// every partition, is the controller (sarama's admin sends CreateTopics
// there), and every replica list is just itself. Topic ids (v10+) are the
// ids minted at creation. A request for all topics is v1+ with a null topic
// list (v0: an empty one). Unknown topics are auto-created when the broker
// allows it and the request does (v4+ AllowAutoTopicCreation; always at v0-3).

import (
	"sort"

	"github.com/twmb/franz-go/pkg/kmsg"
)

var metadataAPI = api{key: 3, name: "Metadata", minVersion: 0, maxVersion: 12, handle: handleMetadata}

func handleMetadata(c *conn, kreq kmsg.Request) *reply {
	req := kreq.(*kmsg.MetadataRequest)
	s := c.s
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	b := kmsg.NewMetadataResponseBroker()
	b.NodeID, b.Host, b.Port = s.cfg.NodeID, s.host, s.port
	resp.Brokers = []kmsg.MetadataResponseBroker{b}
	resp.ClusterID = &s.clusterID
	resp.ControllerID = s.cfg.NodeID

	allowCreate := req.Version < 4 || req.AllowAutoTopicCreation
	all := req.Topics == nil || (req.Version == 0 && len(req.Topics) == 0)
	if all {
		for _, t := range s.sortedTopics() {
			resp.Topics = append(resp.Topics, s.metadataTopic(t.name, t, nil))
		}
		return ready(resp)
	}
	for _, rt := range req.Topics {
		if rt.Topic == nil {
			// v10+ lookup by id only.
			t := s.topicByID(rt.TopicID)
			if t == nil {
				mt := kmsg.NewMetadataResponseTopic()
				mt.TopicID, mt.ErrorCode = rt.TopicID, errorCode(errUnknownTopic)
				resp.Topics = append(resp.Topics, mt)
				continue
			}
			resp.Topics = append(resp.Topics, s.metadataTopic(t.name, t, nil))
			continue
		}
		t, err := s.autoTopic(*rt.Topic, allowCreate)
		resp.Topics = append(resp.Topics, s.metadataTopic(*rt.Topic, t, err))
	}
	return ready(resp)
}

func (s *Server) metadataTopic(name string, t *topic, err error) kmsg.MetadataResponseTopic {
	mt := kmsg.NewMetadataResponseTopic()
	mt.Topic = &name
	if err != nil || t == nil {
		if err == nil {
			err = errUnknownTopic
		}
		mt.ErrorCode = errorCode(err)
		return mt
	}
	mt.TopicID = t.id
	mt.IsInternal = t.internal
	mt.Partitions = make([]kmsg.MetadataResponseTopicPartition, len(t.parts))
	for i := range t.parts {
		mp := kmsg.NewMetadataResponseTopicPartition()
		mp.Partition = int32(i)
		mp.Leader = s.cfg.NodeID
		mp.LeaderEpoch = 0
		mp.Replicas = []int32{s.cfg.NodeID}
		mp.ISR = []int32{s.cfg.NodeID}
		mp.OfflineReplicas = []int32{}
		mt.Partitions[i] = mp
	}
	return mt
}

// sortedTopics returns every topic by name.
func (s *Server) sortedTopics() []*topic {
	s.mu.RLock()
	ts := make([]*topic, 0, len(s.topics))
	for _, t := range s.topics {
		ts = append(ts, t)
	}
	s.mu.RUnlock()
	sort.Slice(ts, func(i, j int) bool { return ts[i].name < ts[j].name })
	return ts
}

// topicByID returns the topic with the given id, or nil.
func (s *Server) topicByID(id [16]byte) *topic {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, t := range s.topics {
		if t.id == id {
			return t
		}
	}
	return nil
}
