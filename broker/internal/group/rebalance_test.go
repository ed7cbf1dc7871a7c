package group

import (
	"bytes"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestJoinSyncAndSecondMember walks a group through its first two
// generations: the leader alone, then a second member joining, with the
// answers each member must get on the way.
func TestJoinSyncAndSecondMember(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, testConfig())
		a := joinReq("a")
		a.MemberID = h.memberID(a)
		ra := h.mustJoin(h.c.Join(a))
		if ra.Generation != 1 || ra.Leader != a.MemberID || len(ra.Members) != 1 || ra.Protocol != "range" || ra.ProtocolType != "consumer" {
			t.Fatalf("first join: %+v", ra)
		}
		if !bytes.Equal(ra.Members[0].Metadata, subscription("t")) {
			t.Errorf("leader got metadata %x", ra.Members[0].Metadata)
		}
		if got := h.mustSync(h.sync(a.MemberID, 1, Assignment{a.MemberID, assignment("t", 0, 1)})); !bytes.Equal(got.Assignment, assignment("t", 0, 1)) {
			t.Fatalf("leader's own assignment %x", got.Assignment)
		}

		b := joinReq("b")
		b.MemberID = h.memberID(b)
		chB := h.c.Join(b)
		synctest.Wait()
		if r, ok := ready(chB); ok {
			t.Fatalf("second member answered before the leader rejoined: %+v", r)
		}
		if err := h.heartbeat(a.MemberID, 1); !errors.Is(err, ErrRebalanceInProgress) {
			t.Fatalf("leader's heartbeat during the rebalance: %v", err)
		}
		// Members commit what they consumed before rejoining.
		if r := h.commit(a.MemberID, 1, po("t", 0, 42)); r.Err != nil || r.Errs[0] != nil {
			t.Fatalf("commit while preparing the rebalance: %+v", r)
		}
		ra = h.mustJoin(h.c.Join(a))
		rb := h.mustJoin(chB)
		if ra.Generation != 2 || rb.Generation != 2 || ra.Leader != a.MemberID || rb.Leader != a.MemberID {
			t.Fatalf("second generation: leader %+v, follower %+v", ra, rb)
		}
		if len(ra.Members) != 2 || len(rb.Members) != 0 {
			t.Fatalf("leader got %d members' metadata, follower %d; want 2 and 0", len(ra.Members), len(rb.Members))
		}

		syncB := h.sync(b.MemberID, 2)
		synctest.Wait()
		if _, ok := ready(syncB); ok {
			t.Fatal("follower's sync answered before the leader's")
		}
		if r := h.commit(b.MemberID, 2, po("t", 1, 1)); !errors.Is(r.Err, ErrRebalanceInProgress) {
			t.Fatalf("commit between join and sync: %+v", r)
		}
		// The leader assigns the follower nothing.
		h.mustSync(h.sync(a.MemberID, 2, Assignment{a.MemberID, assignment("t", 0, 1)}))
		got := h.mustSync(syncB)
		var asg kmsg.ConsumerMemberAssignment
		if err := asg.ReadFrom(got.Assignment); err != nil || len(asg.Topics) != 0 {
			t.Fatalf("follower with no partitions got %x (%v), want a valid empty ConsumerMemberAssignment", got.Assignment, err)
		}
		if err := h.heartbeat(b.MemberID, 2); err != nil {
			t.Fatalf("follower's heartbeat: %v", err)
		}
	})
}

// TestSessionTimeoutExpiry: a member that stops heartbeating is removed
// exactly one session timeout after it was last heard from, and the
// others rebalance without it.
func TestSessionTimeoutExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, testConfig())
		ids, gen := h.stableGroup(2)
		a := ids[0]
		time.Sleep(session - time.Second)
		if err := h.heartbeat(a, gen); err != nil {
			t.Fatalf("heartbeat before the other's session ended: %v", err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if s := h.state(); s != PreparingRebalance {
			t.Fatalf("state %v at the other's session timeout, want PreparingRebalance", s)
		}
		if err := h.heartbeat(a, gen); !errors.Is(err, ErrRebalanceInProgress) {
			t.Fatalf("heartbeat after the other's session ended: %v", err)
		}
		req := joinReq("a")
		req.MemberID = a
		r := h.mustJoin(h.c.Join(req))
		if r.Generation != gen+1 || len(r.Members) != 1 {
			t.Fatalf("rejoin: %+v, want generation %d with only this member", r, gen+1)
		}
		if err := h.heartbeat(ids[1], gen); !errors.Is(err, ErrUnknownMember) {
			t.Fatalf("expired member's heartbeat: %v, want ErrUnknownMember", err)
		}
	})
}

// TestRebalanceTimeout: a member that keeps heartbeating but does not
// rejoin holds the rebalance up for exactly the rebalance timeout, then is
// dropped.
func TestRebalanceTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, testConfig())
		ids, gen := h.stableGroup(2)
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() { // the lagging member: alive, but never rejoins
			defer close(done)
			for {
				select {
				case <-stop:
					return
				case <-time.After(3 * time.Second):
					h.heartbeat(ids[1], gen)
				}
			}
		}()
		start := time.Now()
		req := joinReq("a")
		req.MemberID = ids[0]
		r := h.mustJoin(h.c.Join(req)) // the leader's join starts the rebalance
		if waited := time.Since(start); waited != rebalance {
			t.Errorf("join answered after %v, want the rebalance timeout %v", waited, rebalance)
		}
		if r.Generation != gen+1 || len(r.Members) != 1 || r.Members[0].MemberID != ids[0] {
			t.Errorf("after the timeout: %+v, want generation %d with the leader alone", r, gen+1)
		}
		close(stop)
		<-done
		if err := h.heartbeat(ids[1], gen); !errors.Is(err, ErrUnknownMember) {
			t.Errorf("dropped member's heartbeat: %v", err)
		}
	})
}

// TestSyncTimeout: a leader that heartbeats but never sends its
// assignment is dropped after the rebalance timeout; a follower waiting in
// SyncGroup is told to rejoin.
func TestSyncTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, testConfig())
		ids, gen := h.stableGroup(2)
		reqs := []JoinRequest{joinReq("a"), joinReq("b")}
		reqs[0].MemberID, reqs[1].MemberID = ids[0], ids[1]
		chA, chB := h.c.Join(reqs[0]), h.c.Join(reqs[1])
		h.mustJoin(chA)
		h.mustJoin(chB)
		start := time.Now()
		syncB := h.sync(ids[1], gen+1)
		for range 9 { // 27s of heartbeats from the leader, no sync
			time.Sleep(3 * time.Second)
			if err := h.heartbeat(ids[0], gen+1); err != nil {
				t.Fatalf("leader's heartbeat between join and sync: %v", err)
			}
		}
		r := <-syncB
		if !errors.Is(r.Err, ErrRebalanceInProgress) || time.Since(start) != rebalance {
			t.Fatalf("follower's sync: %v after %v, want ErrRebalanceInProgress after %v", r.Err, time.Since(start), rebalance)
		}
		if err := h.heartbeat(ids[0], gen+1); !errors.Is(err, ErrUnknownMember) {
			t.Fatalf("leader that never synced: %v, want ErrUnknownMember", err)
		}
	})
}

// TestStaticMemberRestart: a static member that restarts (joins again
// without its member id) takes its own place back with no rebalance; its
// old incarnation is fenced.
func TestStaticMemberRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, testConfig())
		s := joinReq("s")
		s.InstanceID = "car-1"
		r := h.mustJoin(h.c.Join(s)) // static members need no MEMBER_ID_REQUIRED round
		s.MemberID = r.MemberID
		d := joinReq("d")
		d.MemberID = h.memberID(d)
		chD := h.c.Join(d)
		r = h.mustJoin(h.c.Join(s))
		h.mustJoin(chD)
		gen := r.Generation
		syncD := h.sync(d.MemberID, gen)
		h.mustSync(h.sync(s.MemberID, gen, Assignment{s.MemberID, assignment("t", 0)}, Assignment{d.MemberID, assignment("t", 1)}))
		h.mustSync(syncD)

		for _, skip := range []bool{false, true} {
			old := s.MemberID
			s.MemberID, s.SupportsSkipAssignment = "", skip
			r = h.mustJoin(h.c.Join(s))
			if r.Generation != gen || r.MemberID == old || h.state() != Stable {
				t.Fatalf("restart (skip %v): %+v in state %v, want generation %d, a new id, no rebalance", skip, r, h.state(), gen)
			}
			s.MemberID = r.MemberID
			if !skip && (r.Leader != old || r.Members != nil) {
				t.Errorf("restarted leader without KIP-814 told leader %q with %d members, want the old id and none", r.Leader, len(r.Members))
			}
			if skip && (!r.SkipAssignment || r.Leader != s.MemberID || len(r.Members) != 2) {
				t.Errorf("restarted leader with KIP-814: %+v, want SkipAssignment as leader with the members", r)
			}
			if got := h.mustSync(h.sync(s.MemberID, gen)); !bytes.Equal(got.Assignment, assignment("t", 0)) {
				t.Errorf("restarted member's assignment %x", got.Assignment)
			}
			err := h.c.Heartbeat(HeartbeatRequest{Group: "g", Generation: gen, MemberID: old, InstanceID: "car-1"})
			if !errors.Is(err, ErrFencedInstance) {
				t.Errorf("old incarnation's heartbeat: %v, want ErrFencedInstance", err)
			}
			if err := h.heartbeat(d.MemberID, gen); err != nil {
				t.Errorf("other member's heartbeat: %v, want none (no rebalance)", err)
			}
		}
		errs, err := h.c.Leave("g", []MemberIdentity{{InstanceID: "car-1"}, {MemberID: "nobody"}})
		if err != nil || errs[0] != nil || !errors.Is(errs[1], ErrUnknownMember) {
			t.Fatalf("batch leave: %v %v", errs, err)
		}
		if s := h.state(); s != PreparingRebalance {
			t.Errorf("state %v after the static member left, want PreparingRebalance", s)
		}
	})
}

// TestProtocolSelection: the protocol every member supports that most
// members prefer wins; a member sharing none with the group is refused.
func TestProtocolSelection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, testConfig())
		reqs := []JoinRequest{joinReq("a", "range", "roundrobin"), joinReq("b", "roundrobin", "range"), joinReq("c", "roundrobin", "sticky", "range")}
		var chans []<-chan JoinResult
		for i := range reqs {
			reqs[i].MemberID = h.memberID(reqs[i])
		}
		for i := range reqs {
			chans = append(chans, h.c.Join(reqs[i]))
		}
		for _, ch := range chans {
			if r := h.mustJoin(ch); r.Protocol != "roundrobin" {
				t.Errorf("selected %q, want roundrobin (2 votes to 1)", r.Protocol)
			}
		}
		odd := joinReq("d", "sticky")
		if r := <-h.c.Join(odd); !errors.Is(r.Err, ErrInconsistentProtocol) {
			t.Errorf("member with no common protocol: %v", r.Err)
		}
		odd = joinReq("d")
		odd.ProtocolType = "connect"
		if r := <-h.c.Join(odd); !errors.Is(r.Err, ErrInconsistentProtocol) {
			t.Errorf("member of another protocol type: %v", r.Err)
		}
	})
}

// TestErrors checks the errors Kafka clients rely on to recover.
func TestErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, testConfig())
		ids, gen := h.stableGroup(1)
		a := ids[0]
		bad := joinReq("x")
		bad.SessionTimeout = time.Hour
		tooShort := joinReq("x")
		tooShort.SessionTimeout = time.Millisecond
		noGroup := joinReq("x")
		noGroup.Group = ""
		stranger := joinReq("x")
		stranger.MemberID, stranger.Group = "x-1", "nowhere"
		for _, c := range []struct {
			name string
			got  error
			want error
		}{
			{"join with a session timeout too long", (<-h.c.Join(bad)).Err, ErrInvalidSessionTimeout},
			{"join with a session timeout too short", (<-h.c.Join(tooShort)).Err, ErrInvalidSessionTimeout},
			{"join without a group id", (<-h.c.Join(noGroup)).Err, ErrInvalidGroupID},
			{"join of an unknown group with a member id", (<-h.c.Join(stranger)).Err, ErrUnknownMember},
			{"heartbeat with an old generation", h.heartbeat(a, gen-1), ErrIllegalGeneration},
			{"heartbeat of an unknown member", h.heartbeat("nobody", gen), ErrUnknownMember},
			{"sync with an old generation", (<-h.sync(a, gen-1)).Err, ErrIllegalGeneration},
			{"sync of an unknown member", (<-h.sync("nobody", gen)).Err, ErrUnknownMember},
			{"commit with an old generation", h.commit(a, gen-1, po("t", 0, 1)).Err, ErrIllegalGeneration},
			{"commit of an unknown member", h.commit("nobody", gen, po("t", 0, 1)).Err, ErrUnknownMember},
			{"commit without generation to an active group", h.commit("", -1, po("t", 0, 1)).Err, ErrUnknownMember},
			{"commit with a generation to an unknown group", (<-h.c.CommitOffsets(CommitRequest{Group: "none", Generation: 3, MemberID: "m"})).Err, ErrIllegalGeneration},
			{"delete an active group", <-h.c.Delete("g"), ErrNotEmpty},
			{"delete an unknown group", <-h.c.Delete("none"), ErrGroupNotFound},
			{"offset delete of an unknown group", (<-h.c.DeleteOffsets("none", nil)).Err, ErrGroupNotFound},
		} {
			if !errors.Is(c.got, c.want) {
				t.Errorf("%s: %v, want %v", c.name, c.got, c.want)
			}
		}
		if _, err := h.c.Describe("none"); !errors.Is(err, ErrGroupNotFound) {
			t.Errorf("describe an unknown group: %v", err)
		}
		long := po("t", 0, 5)
		long.Metadata = string(make([]byte, 4097))
		r := h.commit(a, gen, long, po("t", 1, 7))
		if r.Err != nil || !errors.Is(r.Errs[0], ErrMetadataTooLarge) || r.Errs[1] != nil {
			t.Errorf("commit with metadata too large: %+v", r)
		}
	})
}

// TestPendingMemberExpiry: an id handed out with ErrMemberIDRequired that
// never comes back expires after its session timeout, and the group with
// it.
func TestPendingMemberExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, testConfig())
		h.memberID(joinReq("a"))
		if l := h.c.List(); len(l) != 1 || l[0].State != Empty {
			t.Fatalf("list with a pending member: %+v", l)
		}
		time.Sleep(session)
		synctest.Wait()
		if l := h.c.List(); len(l) != 0 {
			t.Fatalf("list after the pending member expired: %+v, want none", l)
		}
	})
}

// TestInitialRebalanceDelay: members of a new group that join within the
// delay of each other share the first generation; each new member extends
// the wait, which ends the delay after the last one. A later rebalance of
// the running group is not delayed.
func TestInitialRebalanceDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const delay = 3 * time.Second
		cfg := testConfig()
		cfg.InitialRebalanceDelay = delay
		h := newHarness(t, cfg)
		start := time.Now()
		var reqs []JoinRequest
		var chans []<-chan JoinResult
		for i, name := range []string{"a", "b", "c"} {
			if i > 0 {
				time.Sleep(2 * time.Second) // within the delay of the previous one
			}
			r := joinReq(name)
			r.MemberID = h.memberID(r)
			reqs = append(reqs, r)
			chans = append(chans, h.c.Join(r))
		}
		synctest.Wait()
		for i, ch := range chans {
			if r, ok := ready(ch); ok {
				t.Fatalf("member %d answered before the delay ran out: %+v", i, r)
			}
		}
		var gen int32
		for i, ch := range chans {
			r := h.mustJoin(ch)
			if r.Generation != 1 || r.Leader != reqs[0].MemberID {
				t.Fatalf("member %d: generation %d leader %s, want 1 and %s", i, r.Generation, r.Leader, reqs[0].MemberID)
			}
			gen = r.Generation
		}
		if waited, want := time.Since(start), 4*time.Second+delay; waited != want {
			t.Errorf("first generation after %v, want %v (the last join plus the delay)", waited, want)
		}
		var as []Assignment
		for i, r := range reqs {
			as = append(as, Assignment{MemberID: r.MemberID, Data: assignment("t", int32(i))})
		}
		syncs := []<-chan SyncResult{h.sync(reqs[1].MemberID, gen), h.sync(reqs[2].MemberID, gen), h.sync(reqs[0].MemberID, gen, as...)}
		for _, s := range syncs {
			h.mustSync(s)
		}

		// A fourth member joins the Stable group: the others rejoin and
		// the join completes at once.
		d := joinReq("d")
		d.MemberID = h.memberID(d)
		chD := h.c.Join(d)
		synctest.Wait()
		before := time.Now()
		for _, r := range reqs {
			chans = append(chans, h.c.Join(r))
		}
		if r := h.mustJoin(chD); r.Generation != 2 || time.Since(before) != 0 {
			t.Fatalf("rebalance of a running group: generation %d after %v, want 2 at once", r.Generation, time.Since(before))
		}
	})
}
