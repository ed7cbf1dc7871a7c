package broker

// Who may send a replica fetch. A Fetch with a replica id >= 0 is a
// follower's: the leader records the offset it asks for as what that
// follower holds, which moves the high watermark (and so what consumers
// see and when acks=all is answered) and adds a follower that caught up
// to the ISR. Kafka lets only brokers do that: a follower fetch needs
// ClusterAction on the cluster. Here:
//
//   - outside cluster mode, or on any listener but the first (the
//     inter-broker listener the fetchers dial, PLAINTEXT on a private
//     address: config.go), the whole request is refused with
//     CLUSTER_AUTHORIZATION_FAILED;
//   - with the authorizer on, the principal must also have ClusterAction
//     on the cluster, as in Kafka (the fetchers connect without TLS or
//     SASL, as User:ANONYMOUS: the README's cluster section says what to
//     grant). Topic READ is not asked of a follower (Kafka does not);
//   - per partition, the replica id must be one of the partition's
//     assigned replicas other than the leader itself, else
//     NOT_LEADER_OR_FOLLOWER, as Kafka's Partition answers a follower it
//     does not recognise; nothing is read or recorded for it.
//
// Each refusal is counted (pitwall_broker_bad_input_total by kind, or the
// authorization denials) and logged once a minute per kind. With the
// authorizer off, the first listener stays trusted: whoever reaches it
// can still pose as a follower, which is why it belongs on a network only
// the brokers reach.

import (
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// replicaFetchRefused answers a Fetch with a replica id that does not
// come from a broker: CLUSTER_AUTHORIZATION_FAILED for the request and
// each of its partitions. nil when it may go on.
func (c *conn) replicaFetchRefused(req *kmsg.FetchRequest) *reply {
	var kind string
	var err error
	switch {
	case c.s.cluster == nil:
		kind, err = "replica_fetch_not_cluster", fmt.Errorf("a Fetch with replica id %d, but this broker is not in a cluster", req.ReplicaID)
	case c.l != c.s.listeners[0]:
		kind, err = "replica_fetch_listener", fmt.Errorf("a Fetch with replica id %d on the %s listener: replica fetches come on the inter-broker (first) listener only", req.ReplicaID, c.l.proto)
	case c.s.sec.authz != nil && !c.mayCluster(kmsg.ACLOperationClusterAction):
		// Counted and logged by authorized, as every denial.
	default:
		return nil
	}
	if err != nil {
		c.s.bad.report(kind, err, "remote", c.remote, "client", c.clientID, "principal", c.principal)
	}
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
	appendFetchRefusals(resp, req.Topics, kerr.ClusterAuthorizationFailed.Code)
	// A fetchReply, as every Fetch answer: its writer frees the
	// connection's fetch slot.
	return ready(&fetchReply{FetchResponse: resp, budget: c.s.fetchBudget})
}

// notReplica says why replica may not fetch topic's partition p as a
// follower: it is not one of the partition's assigned replicas, or it is
// this broker (the leader) itself. nil if it may. Called only in cluster
// mode.
func (s *Server) notReplica(topic string, p int32, replica int32) error {
	rs := s.replicaSet(topic, p)
	if replica != s.cfg.NodeID && slices.Contains(rs, replica) {
		return nil
	}
	return fmt.Errorf("%w: broker %d is not a follower of %s/%d (replicas %v)", errNotLeader, replica, topic, p, rs)
}
