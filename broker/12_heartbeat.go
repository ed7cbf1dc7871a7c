package broker

// Heartbeat (key 12), versions 0-4.
//
// librdkafka 2.0.2 sends 0-3, sarama up to v4, franz-go v4; v3+ carries
// group.instance.id. A heartbeat keeps a member's session alive and is how
// members learn of a rebalance (REBALANCE_IN_PROGRESS).

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/internal/group"
)

var heartbeatAPI = api{key: 12, name: "Heartbeat", minVersion: 0, maxVersion: 4, handle: handleHeartbeat}

func handleHeartbeat(c *conn, kreq kmsg.Request) *reply {
	req := kreq.(*kmsg.HeartbeatRequest)
	resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
	if !c.mayGroup(kmsg.ACLOperationRead, req.Group) {
		resp.ErrorCode = groupErrorCode(errGroupAuthorization)
		return ready(resp)
	}
	co, err := c.s.coordinator(req.Group)
	if err == nil {
		err = co.Heartbeat(group.HeartbeatRequest{
			Group: req.Group, Generation: req.Generation, MemberID: req.MemberID, InstanceID: deref(req.InstanceID),
		})
	}
	resp.ErrorCode = groupErrorCode(err)
	return ready(resp)
}
