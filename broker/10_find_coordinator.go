package broker

// FindCoordinator (key 10), versions 0-6.
//
// librdkafka 2.0.2 sends 0-2, sarama up to v2 (v1 with its default
// Version), franz-go the highest; v4+ batches several keys in one request.
// A single broker is the coordinator of every group, so the answer is
// itself; in a cluster it is the leader of the group's __consumer_offsets
// partition (cluster.go, cluster_groups.go). Transactions are not supported: a transactional key (type 1) or
// a share group key (type 2, v6) gets INVALID_REQUEST rather than a
// coordinator that would refuse the next request.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var findCoordinatorAPI = api{key: 10, name: "FindCoordinator", minVersion: 0, maxVersion: 6, handle: handleFindCoordinator}

const coordinatorTypeGroup = 0

func handleFindCoordinator(c *conn, kreq kmsg.Request) *reply {
	req := kreq.(*kmsg.FindCoordinatorRequest)
	resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
	if req.Version < 4 {
		co := c.coordinatorFor(req.CoordinatorKey, req.CoordinatorType)
		resp.ErrorCode, resp.ErrorMessage = co.ErrorCode, co.ErrorMessage
		resp.NodeID, resp.Host, resp.Port = co.NodeID, co.Host, co.Port
		return ready(resp)
	}
	for _, key := range req.CoordinatorKeys {
		resp.Coordinators = append(resp.Coordinators, c.coordinatorFor(key, req.CoordinatorType))
	}
	return ready(resp)
}

// coordinatorFor answers for one key with the address of the listener c
// came in on.
func (c *conn) coordinatorFor(key string, keyType int8) kmsg.FindCoordinatorResponseCoordinator {
	co := kmsg.NewFindCoordinatorResponseCoordinator()
	co.Key = key
	if keyType != coordinatorTypeGroup {
		co.NodeID, co.Port = -1, -1
		co.ErrorCode = kerr.InvalidRequest.Code
		co.ErrorMessage = kmsg.StringPtr("this broker coordinates consumer groups only (no transactions or share groups)")
		return co
	}
	if !c.mayGroup(kmsg.ACLOperationDescribe, key) {
		co.NodeID, co.Port = -1, -1
		co.ErrorCode = kerr.GroupAuthorizationFailed.Code
		return co
	}
	co.NodeID, co.Host, co.Port = c.s.cfg.NodeID, c.l.host, c.l.port
	if c.s.cluster != nil {
		c.s.clusterCoordinator(&co) // cluster.go: the leader of the group's partition
	}
	return co
}
