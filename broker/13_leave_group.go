package broker

// LeaveGroup (key 13), versions 0-5.
//
// librdkafka 2.0.2 sends 0-1, sarama up to v5, franz-go v5. v0-v2 name
// one member; v3+ name several (KIP-345 batch leave), each by member id or,
// for static members, by group.instance.id alone, with an error per member.
// The group rebalances without the members that left.

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/internal/group"
)

var leaveGroupAPI = api{key: 13, name: "LeaveGroup", minVersion: 0, maxVersion: 5, handle: handleLeaveGroup}

func handleLeaveGroup(c *conn, kreq kmsg.Request) *reply {
	req := kreq.(*kmsg.LeaveGroupRequest)
	resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	if !c.mayGroup(kmsg.ACLOperationRead, req.Group) {
		resp.ErrorCode = groupErrorCode(errGroupAuthorization)
		return ready(resp)
	}
	ids := []group.MemberIdentity{{MemberID: req.MemberID}}
	if req.Version >= 3 {
		ids = ids[:0]
		for _, m := range req.Members {
			ids = append(ids, group.MemberIdentity{MemberID: m.MemberID, InstanceID: deref(m.InstanceID)})
		}
	}
	co, err := c.s.coordinator(req.Group)
	var errs []error
	if err == nil {
		errs, err = co.Leave(req.Group, ids)
	}
	if err != nil {
		resp.ErrorCode = groupErrorCode(err)
		return ready(resp)
	}
	if req.Version < 3 {
		resp.ErrorCode = groupErrorCode(errs[0])
		return ready(resp)
	}
	for i, m := range req.Members {
		rm := kmsg.NewLeaveGroupResponseMember()
		rm.MemberID, rm.InstanceID, rm.ErrorCode = m.MemberID, m.InstanceID, groupErrorCode(errs[i])
		resp.Members = append(resp.Members, rm)
	}
	return ready(resp)
}
