package broker

// SyncGroup (key 14), versions 0-5.
//
// librdkafka 2.0.2 sends 0-3, sarama up to v5 (v0-v3 with older
// Versions), franz-go v5. v3+ carries group.instance.id; v5 names the
// protocol type and protocol, which must match the group's. The leader
// sends every member's assignment; each member's reply waits (pending)
// until the leader's assignment is stored in __consumer_offsets. A member
// of a "consumer" group the leader assigned nothing gets a valid empty
// ConsumerMemberAssignment, never empty bytes.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/internal/group"
)

var syncGroupAPI = api{key: 14, name: "SyncGroup", minVersion: 0, maxVersion: 5, handle: handleSyncGroup}

func handleSyncGroup(c *conn, kreq kmsg.Request) *reply {
	req := kreq.(*kmsg.SyncGroupRequest)
	if !c.mayGroup(kmsg.ACLOperationRead, req.Group) {
		return ready(syncResponse(req, group.SyncResult{}, errGroupAuthorization))
	}
	sr := group.SyncRequest{
		Group:        req.Group,
		Generation:   req.Generation,
		MemberID:     req.MemberID,
		InstanceID:   deref(req.InstanceID),
		ProtocolType: req.ProtocolType,
		Protocol:     req.Protocol,
	}
	for _, a := range req.GroupAssignment {
		sr.Assignments = append(sr.Assignments, group.Assignment{MemberID: a.MemberID, Data: a.MemberAssignment})
	}
	co, err := c.s.coordinator(req.Group)
	if err != nil {
		return ready(syncResponse(req, group.SyncResult{}, err))
	}
	ch := co.Sync(sr)
	select {
	case res := <-ch:
		return ready(syncResponse(req, res, nil))
	default:
	}
	return c.pending(func(ctx context.Context) kmsg.Response {
		res, err := awaitGroup(c, ctx, ch, true)
		return syncResponse(req, res, err)
	})
}

func syncResponse(req *kmsg.SyncGroupRequest, res group.SyncResult, err error) *kmsg.SyncGroupResponse {
	resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
	if err == nil {
		err = res.Err
	}
	resp.ErrorCode = groupErrorCode(err)
	resp.MemberAssignment = []byte{}
	if err != nil {
		return resp
	}
	resp.ProtocolType, resp.Protocol = kmsg.StringPtr(res.ProtocolType), kmsg.StringPtr(res.Protocol)
	if res.Assignment != nil {
		resp.MemberAssignment = res.Assignment
	}
	return resp
}
