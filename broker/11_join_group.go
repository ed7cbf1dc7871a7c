package broker

// JoinGroup (key 11), versions 0-9.
//
// librdkafka 2.0.2 sends 0-5, sarama up to v7 (v1-v5 with older
// Versions), franz-go v9. v0 has no rebalance timeout (the session timeout
// serves as one, as in Kafka); v4+ first joins are answered
// MEMBER_ID_REQUIRED with an id to rejoin with (KIP-394); v5+ carries
// group.instance.id for static members (KIP-345); v9 may tell a restarted
// static leader to skip assigning (KIP-814).
//
// The request reaches the coordinator in order, on the connection's read
// goroutine; the answer is a pending reply that waits until the rebalance
// completes, which may take up to the group's rebalance timeout. When the
// broker shuts down meanwhile the member is told NOT_COORDINATOR, so it
// finds the coordinator again after the restart.

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/internal/group"
)

var joinGroupAPI = api{key: 11, name: "JoinGroup", minVersion: 0, maxVersion: 9, handle: handleJoinGroup}

func handleJoinGroup(c *conn, kreq kmsg.Request) *reply {
	req := kreq.(*kmsg.JoinGroupRequest)
	if !c.mayGroup(kmsg.ACLOperationRead, req.Group) {
		return ready(joinResponse(req, group.JoinResult{}, errGroupAuthorization))
	}
	jr := group.JoinRequest{
		Group:                  req.Group,
		MemberID:               req.MemberID,
		InstanceID:             deref(req.InstanceID),
		ClientID:               c.clientID,
		ClientHost:             clientHost(c.remote),
		SessionTimeout:         millis(req.SessionTimeoutMillis),
		RebalanceTimeout:       millis(req.RebalanceTimeoutMillis),
		ProtocolType:           req.ProtocolType,
		RequireKnownMemberID:   req.Version >= 4,
		SupportsSkipAssignment: req.Version >= 9,
	}
	if req.Version == 0 {
		jr.RebalanceTimeout = jr.SessionTimeout
	}
	for _, p := range req.Protocols {
		jr.Protocols = append(jr.Protocols, group.Protocol{Name: p.Name, Metadata: p.Metadata})
	}
	co, err := c.s.coordinator(req.Group)
	if err != nil {
		return ready(joinResponse(req, group.JoinResult{}, err))
	}
	ch := co.Join(jr)
	select {
	case res := <-ch: // errors, and members that need no rebalance
		if errors.Is(res.Err, group.ErrMemberIDRequired) {
			c.noteHandedOutID(req.Group, res.MemberID)
		}
		return ready(joinResponse(req, res, nil))
	default:
	}
	return c.pending(func(ctx context.Context) kmsg.Response {
		res, err := awaitGroup(c, ctx, ch, true)
		if err != nil && ctx.Err() != nil {
			// The connection closed under a waiting member: nobody
			// will read the answer, so the group must not wait for
			// the member, or hand it partitions.
			co.Abandon(req.Group, ch)
		}
		return joinResponse(req, res, err)
	})
}

// maxHandedOutIDs bounds the member ids a connection remembers having
// been handed (see noteHandedOutID).
const maxHandedOutIDs = 8

// noteHandedOutID remembers a member id the group expects this client to
// join with (KIP-394), so that the group forgets it if the connection
// closes first (forgetHandedOutIDs) instead of waiting out its session.
func (c *conn) noteHandedOutID(group, memberID string) {
	if len(c.handedOut) == maxHandedOutIDs {
		c.handedOut = c.handedOut[1:]
	}
	c.handedOut = append(c.handedOut, [2]string{group, memberID})
}

// forgetHandedOutIDs runs when the connection has closed. Ids since used
// to join are not pending any more, and are left alone.
func (c *conn) forgetHandedOutIDs() {
	for _, gm := range c.handedOut {
		if co, err := c.s.coordinator(gm[0]); err == nil {
			co.Forget(gm[0], gm[1])
		}
	}
}

func joinResponse(req *kmsg.JoinGroupRequest, res group.JoinResult, err error) *kmsg.JoinGroupResponse {
	resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
	if err == nil {
		err = res.Err
	} else {
		res.MemberID = req.MemberID
	}
	resp.ErrorCode, resp.MemberID = groupErrorCode(err), res.MemberID
	if err != nil {
		return resp // generation -1, no leader, as Kafka answers errors
	}
	resp.Generation, resp.LeaderID, resp.SkipAssignment = res.Generation, res.Leader, res.SkipAssignment
	resp.ProtocolType, resp.Protocol = kmsg.StringPtr(res.ProtocolType), kmsg.StringPtr(res.Protocol)
	for _, m := range res.Members {
		rm := kmsg.NewJoinGroupResponseMember()
		rm.MemberID, rm.ProtocolMetadata = m.MemberID, m.Metadata
		if m.InstanceID != "" {
			rm.InstanceID = kmsg.StringPtr(m.InstanceID)
		}
		resp.Members = append(resp.Members, rm)
	}
	return resp
}

// clientHost is the member host DescribeGroups reports, in Kafka's form
// ("/127.0.0.1").
func clientHost(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	return "/" + host
}

func millis(ms int32) time.Duration { return time.Duration(ms) * time.Millisecond }
