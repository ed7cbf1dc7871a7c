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
//
// After a restart the partitions open in the background (opening.go): a
// topic named in the request is opened at once; a request for all topics
// reports each partition not open yet with LEADER_NOT_AVAILABLE and no
// leader, which sarama, franz-go and librdkafka retry after refreshing
// metadata, rather than claim a leader that cannot serve yet.
//
// v8+ may ask for the topics' (and, v8-v10, the cluster's) authorized
// operations: the principal's, as the authorizer decides (security.go).

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/internal/partition"
)

var metadataAPI = api{key: 3, name: "Metadata", minVersion: 0, maxVersion: 12, handle: handleMetadata}

func handleMetadata(c *conn, kreq kmsg.Request) *reply {
	req := kreq.(*kmsg.MetadataRequest)
	s := c.s
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	// Filled in as the answer is complete: the writer encodes resp later.
	defer c.metadataAuthorizedOperations(req, resp)
	if s.cluster != nil {
		c.clusterMetadata(req, resp) // cluster.go
		return ready(resp)
	}
	b := kmsg.NewMetadataResponseBroker()
	b.NodeID, b.Host, b.Port = s.cfg.NodeID, c.l.host, c.l.port
	resp.Brokers = []kmsg.MetadataResponseBroker{b}
	resp.ClusterID = &s.clusterID
	resp.ControllerID = s.cfg.NodeID

	allowCreate := req.Version < 4 || req.AllowAutoTopicCreation
	all := req.Topics == nil || (req.Version == 0 && len(req.Topics) == 0)
	if all {
		for _, t := range s.topics.All() {
			if !c.visible(t.Name()) {
				continue // hidden from who may not describe it
			}
			resp.Topics = append(resp.Topics, s.metadataTopic(t.Name(), t, nil))
		}
		return ready(resp)
	}
	for _, rt := range req.Topics {
		if rt.Topic == nil {
			// v10+ lookup by id only.
			t := s.topics.ByID(rt.TopicID)
			if t == nil || !c.visible(t.Name()) {
				mt := kmsg.NewMetadataResponseTopic()
				mt.TopicID, mt.ErrorCode = rt.TopicID, errorCode(partition.ErrUnknownTopic)
				resp.Topics = append(resp.Topics, mt)
				continue
			}
			t.Partitions() // named: opened now if still waiting their turn
			resp.Topics = append(resp.Topics, s.metadataTopic(t.Name(), t, nil))
			continue
		}
		t, err := c.authTopic(*rt.Topic, kmsg.ACLOperationDescribe, allowCreate)
		if t != nil {
			t.Partitions()
		}
		resp.Topics = append(resp.Topics, s.metadataTopic(*rt.Topic, t, err))
	}
	return ready(resp)
}

func (s *Server) metadataTopic(name string, t *partition.Topic, err error) kmsg.MetadataResponseTopic {
	mt := kmsg.NewMetadataResponseTopic()
	mt.Topic = &name
	if err != nil || t == nil {
		if err == nil {
			err = partition.ErrUnknownTopic
		}
		mt.ErrorCode = errorCode(err)
		return mt
	}
	mt.TopicID = t.ID()
	mt.IsInternal = t.Internal()
	mt.Partitions = make([]kmsg.MetadataResponseTopicPartition, t.NumPartitions())
	for i := range mt.Partitions {
		mp := kmsg.NewMetadataResponseTopicPartition()
		mp.Partition = int32(i)
		mp.Leader = s.cfg.NodeID
		mp.LeaderEpoch = 0
		mp.Replicas = []int32{s.cfg.NodeID}
		mp.ISR = []int32{s.cfg.NodeID}
		mp.OfflineReplicas = []int32{}
		if open, err := t.PartitionOpen(int32(i)); !open {
			// Not open yet after a restart (or it failed to open): no
			// leader for now, which every client retries.
			mp.ErrorCode, mp.Leader, mp.ISR = kerr.LeaderNotAvailable.Code, -1, []int32{}
			if err != nil {
				mp.OfflineReplicas = []int32{s.cfg.NodeID}
			}
		}
		mt.Partitions[i] = mp
	}
	return mt
}

// autoTopic returns the topic named name, creating it with the defaults if
// it does not exist and auto-creation is on and allowed (the request may
// forbid it). __consumer_offsets is created as the coordinator would create
// it, whoever names it first.
func (s *Server) autoTopic(name string, allowed bool) (*partition.Topic, error) {
	if s.cluster != nil {
		return s.clusterAutoTopic(name, allowed) // cluster.go
	}
	if t := s.topics.Lookup(name); t != nil {
		return t, nil
	}
	switch {
	case name == offsetsTopic:
		return s.offsetsTopic()
	case s.cfg.DisableAutoCreate || !allowed:
		return nil, partition.ErrUnknownTopic
	}
	return s.topics.Ensure(name, -1, nil)
}
