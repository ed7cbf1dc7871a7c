package broker

// DeleteTopics (key 20), versions 0-6.
//
// librdkafka sends 0-4, sarama's ClusterAdmin up to v6, franz-go the
// highest. v6 names topics by name or by id. Deleting removes the topic's
// directory (renamed first, so a crash never leaves half a topic); clients
// still holding its partitions get UNKNOWN_TOPIC_OR_PARTITION.
// __consumer_offsets cannot be deleted: it holds the groups' offsets.

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/internal/partition"
)

var deleteTopicsAPI = api{key: 20, name: "DeleteTopics", minVersion: 0, maxVersion: 6, handle: handleDeleteTopics}

func handleDeleteTopics(c *conn, kreq kmsg.Request) *reply {
	req := kreq.(*kmsg.DeleteTopicsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	type target struct {
		name *string
		id   [16]byte
	}
	var targets []target
	for _, name := range req.TopicNames {
		targets = append(targets, target{name: &name})
	}
	for _, rt := range req.Topics {
		targets = append(targets, target{name: rt.Topic, id: rt.TopicID})
	}
	for _, tg := range targets {
		st := kmsg.NewDeleteTopicsResponseTopic()
		st.Topic, st.TopicID = tg.name, tg.id
		name := ""
		if tg.name != nil {
			name = *tg.name
		} else if t := c.s.topics.ByID(tg.id); t != nil {
			name = t.Name()
			st.Topic = &name
		} else if n := c.s.clusterTopicName(tg.id); n != "" {
			name = n
			st.Topic = &name
		}
		var err error
		switch {
		case name == "":
			err = partition.ErrUnknownTopic
		case !c.mayTopic(kmsg.ACLOperationDelete, name):
			err = errTopicAuthorization
		default:
			if err = c.s.deleteTopic(name); err == nil {
				c.adminLog("topic deleted", "topic", name)
			}
		}
		st.ErrorCode, st.ErrorMessage = errorCode(err), errorMessage(err)
		resp.Topics = append(resp.Topics, st)
	}
	return ready(resp)
}

// deleteTopic deletes a topic, unless it is __consumer_offsets.
func (s *Server) deleteTopic(name string) error {
	if name == offsetsTopic {
		return fmt.Errorf("%w: %s holds the consumer groups' offsets", errInternalTopic, name)
	}
	if s.cluster != nil {
		return s.clusterDelete(name) // cluster.go: every broker deletes its replicas
	}
	return s.topics.Delete(name)
}
