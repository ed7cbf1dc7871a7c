package broker

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kconn is a raw connection that decodes responses.
type kconn struct {
	*rawConn
	corr int32
}

func dialK(t *testing.T, addr string) *kconn { return &kconn{rawConn: dialRaw(t, addr)} }

// send writes a request without waiting; recv reads its answer.
func (c *kconn) send(req kmsg.Request, v int16) int32 {
	c.corr++
	c.rawConn.send(req, v, c.corr)
	return c.corr
}

func (c *kconn) recv(req kmsg.Request, corr int32) kmsg.Response {
	c.t.Helper()
	body := c.mustRecv(corr)
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	if resp.IsFlexible() {
		body = body[1:] // the response header's empty tagged fields
	}
	if err := resp.ReadFrom(body); err != nil {
		c.t.Fatalf("%s v%d response: %v", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	return resp
}

func (c *kconn) do(req kmsg.Request, v int16) kmsg.Response {
	c.t.Helper()
	return c.recv(req, c.send(req, v))
}

func wantCode(t *testing.T, what string, got int16, want *kerr.Error) {
	t.Helper()
	var w int16
	if want != nil {
		w = want.Code
	}
	if got != w {
		t.Fatalf("%s: error %v, want %v", what, kerr.ErrorForCode(got), want)
	}
}

func subscriptionOf(topics ...string) []byte {
	m := kmsg.ConsumerMemberMetadata{Topics: topics}
	return m.AppendTo(nil)
}

func joinRequest(group, member string) *kmsg.JoinGroupRequest {
	req := kmsg.NewPtrJoinGroupRequest()
	req.Group, req.MemberID, req.ProtocolType = group, member, "consumer"
	req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 10000, 20000
	req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: subscriptionOf("t")}}
	return req
}

// joinNew joins group as a new member at version v, going through
// MEMBER_ID_REQUIRED where the version has it, and returns the member id
// and the correlation id of the final join, whose answer may wait.
func (c *kconn) joinNew(group string, v int16) (*kmsg.JoinGroupRequest, int32) {
	c.t.Helper()
	req := joinRequest(group, "")
	if v >= 4 {
		r := c.do(req, v).(*kmsg.JoinGroupResponse)
		wantCode(c.t, fmt.Sprintf("JoinGroup v%d first join", v), r.ErrorCode, kerr.MemberIDRequired)
		req.MemberID = r.MemberID
	}
	return req, c.send(req, v)
}

// awaitState waits until group is in state (a request sent on another
// connection has reached the coordinator).
func (c *kconn) awaitState(group, state string) {
	c.t.Helper()
	for {
		req := kmsg.NewPtrDescribeGroupsRequest()
		req.Groups = []string{group}
		if c.do(req, 5).(*kmsg.DescribeGroupsResponse).Groups[0].State == state {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// TestGroupLifecycleEveryVersion runs two members through a group's life
// at every JoinGroup version (with the matching SyncGroup, Heartbeat and
// LeaveGroup versions): join, a second member joining, the leader
// assigning it nothing, heartbeats, and a leave.
func TestGroupLifecycleEveryVersion(t *testing.T) {
	s := startServer(t, Config{Logger: discardLogger()})
	for v := int16(0); v <= joinGroupAPI.maxVersion; v++ {
		t.Run(fmt.Sprint("v", v), func(t *testing.T) {
			groupLifecycle(t, s.Addr(), fmt.Sprint("g", v), v)
		})
	}
}

func groupLifecycle(t *testing.T, addr, group string, v int16) {
	syncV, hbV, leaveV := min(v, syncGroupAPI.maxVersion), min(v, heartbeatAPI.maxVersion), min(v, leaveGroupAPI.maxVersion)
	a, b := dialK(t, addr), dialK(t, addr)
	ja, corr := a.joinNew(group, v)
	r := a.recv(ja, corr).(*kmsg.JoinGroupResponse)
	wantCode(t, "leader's join", r.ErrorCode, nil)
	ja.MemberID = r.MemberID
	if r.Generation != 1 || r.LeaderID != ja.MemberID || len(r.Members) != 1 || deref(r.Protocol) != "range" {
		t.Fatalf("first generation: %+v", r)
	}
	sync := func(c *kconn, member string, gen int32, as ...kmsg.SyncGroupRequestGroupAssignment) (*kmsg.SyncGroupRequest, int32) {
		req := kmsg.NewPtrSyncGroupRequest()
		req.Group, req.MemberID, req.Generation, req.GroupAssignment = group, member, gen, as
		return req, c.send(req, syncV)
	}
	mine := kmsg.ConsumerMemberAssignment{Topics: []kmsg.ConsumerMemberAssignmentTopic{{Topic: "t", Partitions: []int32{0, 1}}}}
	leaderAssignment := kmsg.SyncGroupRequestGroupAssignment{MemberID: ja.MemberID, MemberAssignment: mine.AppendTo(nil)}
	sr, corr := sync(a, ja.MemberID, 1, leaderAssignment)
	wantCode(t, "leader's sync", a.recv(sr, corr).(*kmsg.SyncGroupResponse).ErrorCode, nil)

	heartbeat := func(c *kconn, member string, gen int32) int16 {
		req := kmsg.NewPtrHeartbeatRequest()
		req.Group, req.MemberID, req.Generation = group, member, gen
		return c.do(req, hbV).(*kmsg.HeartbeatResponse).ErrorCode
	}
	jb, corrB := b.joinNew(group, v) // waits for the leader to rejoin
	a.awaitState(group, "PreparingRebalance")
	wantCode(t, "leader's heartbeat once another member joins", heartbeat(a, ja.MemberID, 1), kerr.RebalanceInProgress)
	ra := a.do(ja, v).(*kmsg.JoinGroupResponse)
	rb := b.recv(jb, corrB).(*kmsg.JoinGroupResponse)
	jb.MemberID = rb.MemberID
	wantCode(t, "leader's rejoin", ra.ErrorCode, nil)
	wantCode(t, "follower's join", rb.ErrorCode, nil)
	if ra.Generation != 2 || rb.Generation != 2 || len(ra.Members) != 2 || len(rb.Members) != 0 || rb.LeaderID != ja.MemberID {
		t.Fatalf("second generation: leader %+v, follower %+v", ra, rb)
	}
	srB, corrB := sync(b, jb.MemberID, 2)
	sr, corr = sync(a, ja.MemberID, 2, leaderAssignment) // nothing for the follower
	got := a.recv(sr, corr).(*kmsg.SyncGroupResponse)
	wantCode(t, "leader's second sync", got.ErrorCode, nil)
	gotB := b.recv(srB, corrB).(*kmsg.SyncGroupResponse)
	wantCode(t, "follower's sync", gotB.ErrorCode, nil)
	var empty kmsg.ConsumerMemberAssignment
	if err := empty.ReadFrom(gotB.MemberAssignment); err != nil || len(empty.Topics) != 0 {
		t.Fatalf("follower without partitions got %x (%v), want a valid empty ConsumerMemberAssignment", gotB.MemberAssignment, err)
	}
	wantCode(t, "follower's heartbeat", heartbeat(b, jb.MemberID, 2), nil)
	wantCode(t, "heartbeat with an old generation", heartbeat(b, jb.MemberID, 1), kerr.IllegalGeneration)

	leave := kmsg.NewPtrLeaveGroupRequest()
	leave.Group, leave.MemberID = group, jb.MemberID
	leave.Members = []kmsg.LeaveGroupRequestMember{{MemberID: jb.MemberID}, {MemberID: "nobody"}}
	lr := b.do(leave, leaveV).(*kmsg.LeaveGroupResponse)
	if leaveV >= 3 {
		wantCode(t, "batch leave", lr.ErrorCode, nil)
		if len(lr.Members) != 2 || lr.Members[0].ErrorCode != 0 || lr.Members[1].ErrorCode != kerr.UnknownMemberID.Code {
			t.Fatalf("batch leave answers: %+v", lr.Members)
		}
	} else {
		wantCode(t, "leave", lr.ErrorCode, nil)
	}
	wantCode(t, "leader's heartbeat after the follower left", heartbeat(a, ja.MemberID, 2), kerr.RebalanceInProgress)
}

// TestOffsetCommitFetchEveryVersion commits at every OffsetCommit version
// and reads back at every OffsetFetch version.
func TestOffsetCommitFetchEveryVersion(t *testing.T) {
	s := startServer(t, Config{Logger: discardLogger()})
	if _, err := s.topics.Create("t", 2, nil, false); err != nil {
		t.Fatal(err)
	}
	c := dialK(t, s.Addr())
	for cv := int16(0); cv <= offsetCommitAPI.maxVersion; cv++ {
		group := fmt.Sprint("simple", cv)
		req := kmsg.NewPtrOffsetCommitRequest()
		req.Group = group
		p := kmsg.NewOffsetCommitRequestTopicPartition()
		p.Partition, p.Offset, p.LeaderEpoch, p.Metadata = 1, 100+int64(cv), 5, kmsg.StringPtr("lap 3")
		missing := kmsg.NewOffsetCommitRequestTopicPartition()
		req.Topics = []kmsg.OffsetCommitRequestTopic{
			{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{p}},
			{Topic: "nope", Partitions: []kmsg.OffsetCommitRequestTopicPartition{missing}},
		}
		resp := c.do(req, cv).(*kmsg.OffsetCommitResponse)
		wantCode(t, fmt.Sprintf("OffsetCommit v%d", cv), resp.Topics[0].Partitions[0].ErrorCode, nil)
		wantCode(t, fmt.Sprintf("OffsetCommit v%d of a missing topic", cv), resp.Topics[1].Partitions[0].ErrorCode, kerr.UnknownTopicOrPartition)
		for fv := int16(0); fv <= offsetFetchAPI.maxVersion; fv++ {
			off, epoch, meta := fetchOne(t, c, group, fv)
			wantEpoch := int32(-1)
			if cv >= 6 && fv >= 5 {
				wantEpoch = 5
			}
			if off != 100+int64(cv) || epoch != wantEpoch || meta != "lap 3" {
				t.Errorf("committed at v%d, fetched at v%d: offset %d epoch %d metadata %q; want %d %d %q",
					cv, fv, off, epoch, meta, 100+cv, wantEpoch, "lap 3")
			}
		}
	}
	if off, _, _ := fetchOne(t, c, "never", 3); off != -1 {
		t.Errorf("group that never committed: offset %d, want -1", off)
	}
}

// fetchOne fetches group's offset of t/1 at version v.
func fetchOne(t *testing.T, c *kconn, group string, v int16) (int64, int32, string) {
	t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	if v >= 8 {
		req.Groups = []kmsg.OffsetFetchRequestGroup{{Group: group, Topics: []kmsg.OffsetFetchRequestGroupTopic{{Topic: "t", Partitions: []int32{1}}}}}
		resp := c.do(req, v).(*kmsg.OffsetFetchResponse)
		p := resp.Groups[0].Topics[0].Partitions[0]
		wantCode(t, fmt.Sprintf("OffsetFetch v%d", v), p.ErrorCode, nil)
		return p.Offset, p.LeaderEpoch, deref(p.Metadata)
	}
	req.Group = group
	req.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: "t", Partitions: []int32{1}}}
	resp := c.do(req, v).(*kmsg.OffsetFetchResponse)
	p := resp.Topics[0].Partitions[0]
	wantCode(t, fmt.Sprintf("OffsetFetch v%d", v), p.ErrorCode, nil)
	return p.Offset, p.LeaderEpoch, deref(p.Metadata)
}

// TestGroupAdminEveryVersion: FindCoordinator, DescribeGroups,
// ListGroups, OffsetDelete and DeleteGroups at every version served.
func TestGroupAdminEveryVersion(t *testing.T) {
	s := startServer(t, Config{Logger: discardLogger()})
	if _, err := s.topics.Create("t", 2, nil, false); err != nil {
		t.Fatal(err)
	}
	c := dialK(t, s.Addr())
	for v := int16(0); v <= findCoordinatorAPI.maxVersion; v++ {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.CoordinatorKey, req.CoordinatorKeys = "g", []string{"g", "h"}
		resp := c.do(req, v).(*kmsg.FindCoordinatorResponse)
		host, port, code := resp.Host, resp.Port, resp.ErrorCode
		if v >= 4 {
			if len(resp.Coordinators) != 2 {
				t.Fatalf("FindCoordinator v%d: %d coordinators for 2 keys", v, len(resp.Coordinators))
			}
			host, port, code = resp.Coordinators[1].Host, resp.Coordinators[1].Port, resp.Coordinators[1].ErrorCode
		}
		if code != 0 || host != s.host || port != s.port {
			t.Errorf("FindCoordinator v%d: %s:%d error %d, want %s:%d", v, host, port, code, s.host, s.port)
		}
	}
	txn := kmsg.NewPtrFindCoordinatorRequest()
	txn.CoordinatorKey, txn.CoordinatorType = "tx", 1
	wantCode(t, "FindCoordinator for a transaction", c.do(txn, 3).(*kmsg.FindCoordinatorResponse).ErrorCode, kerr.InvalidRequest)

	// An active group, and Empty groups with offsets to delete.
	ja, corr := c.joinNew("active", 9)
	c.recv(ja, corr)
	sr := kmsg.NewPtrSyncGroupRequest()
	sr.Group, sr.MemberID, sr.Generation = "active", ja.MemberID, 1
	c.do(sr, 5)
	commit := func(group string) {
		req := kmsg.NewPtrOffsetCommitRequest()
		req.Group = group
		p := kmsg.NewOffsetCommitRequestTopicPartition()
		req.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{p}}}
		wantCode(t, "commit", c.do(req, 8).(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode, nil)
	}
	for v := int16(0); v <= describeGroupsAPI.maxVersion; v++ {
		req := kmsg.NewPtrDescribeGroupsRequest()
		req.Groups = []string{"active", "missing"}
		resp := c.do(req, v).(*kmsg.DescribeGroupsResponse)
		g := resp.Groups[0]
		if g.State != "Stable" || g.ProtocolType != "consumer" || g.Protocol != "range" || len(g.Members) != 1 || g.Members[0].ClientHost != "/127.0.0.1" {
			t.Errorf("DescribeGroups v%d: %+v", v, g)
		}
		want := (*kerr.Error)(nil)
		if v >= 6 {
			want = kerr.GroupIDNotFound
		}
		wantCode(t, fmt.Sprintf("DescribeGroups v%d of a missing group", v), resp.Groups[1].ErrorCode, want)
		if resp.Groups[1].State != "Dead" {
			t.Errorf("DescribeGroups v%d: missing group in state %q, want Dead", v, resp.Groups[1].State)
		}
	}
	commit("empty")
	for v := int16(0); v <= listGroupsAPI.maxVersion; v++ {
		req := kmsg.NewPtrListGroupsRequest()
		if v >= 4 {
			req.StatesFilter = []string{"stable"}
		}
		resp := c.do(req, v).(*kmsg.ListGroupsResponse)
		want := 2
		if v >= 4 {
			want = 1
		}
		if len(resp.Groups) != want || resp.Groups[0].Group != "active" || resp.Groups[0].ProtocolType != "consumer" {
			t.Errorf("ListGroups v%d: %+v, want %d groups starting with active", v, resp.Groups, want)
		}
	}
	od := kmsg.NewPtrOffsetDeleteRequest()
	od.Group = "active"
	od.Topics = []kmsg.OffsetDeleteRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 0}}}}
	wantCode(t, "OffsetDelete of a subscribed topic", c.do(od, 0).(*kmsg.OffsetDeleteResponse).Topics[0].Partitions[0].ErrorCode, kerr.GroupSubscribedToTopic)
	od.Group = "empty"
	wantCode(t, "OffsetDelete", c.do(od, 0).(*kmsg.OffsetDeleteResponse).Topics[0].Partitions[0].ErrorCode, nil)
	for v := int16(0); v <= deleteGroupsAPI.maxVersion; v++ {
		group := fmt.Sprint("doomed", v)
		commit(group)
		req := kmsg.NewPtrDeleteGroupsRequest()
		req.Groups = []string{group, "active"}
		resp := c.do(req, v).(*kmsg.DeleteGroupsResponse)
		wantCode(t, fmt.Sprintf("DeleteGroups v%d", v), resp.Groups[0].ErrorCode, nil)
		wantCode(t, fmt.Sprintf("DeleteGroups v%d of an active group", v), resp.Groups[1].ErrorCode, kerr.NonEmptyGroup)
	}
}
