package group

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// The classic rebalance protocol, as Kafka's GroupCoordinator runs it.
// Every function here runs on the group's goroutine.

// join handles a JoinGroup; the answer goes to reply now or when the
// rebalance completes.
func (g *group) join(req JoinRequest, reply chan JoinResult) {
	switch {
	case g.state == Dead:
		reply <- JoinResult{Err: ErrNotAvailable, MemberID: req.MemberID}
	case !g.supportsProtocols(req.ProtocolType, req.Protocols):
		reply <- JoinResult{Err: ErrInconsistentProtocol, MemberID: req.MemberID}
	case req.MemberID == "":
		g.joinNew(req, reply)
	default:
		g.joinKnown(req, reply)
	}
	g.maybeCompleteJoin()
}

// supportsProtocols reports whether a member with these protocols may
// join: the group's protocol type, and at least one protocol every
// current member supports.
func (g *group) supportsProtocols(protocolType string, protocols []Protocol) bool {
	if protocolType == "" || len(protocols) == 0 {
		return false
	}
	if len(g.members) == 0 {
		return true
	}
	if protocolType != g.protocolType {
		return false
	}
	for _, p := range protocols {
		if g.supportedByAll(p.Name) {
			return true
		}
	}
	return false
}

func (g *group) supportedByAll(name string) bool {
	for _, m := range g.order {
		if !m.hasProtocol(name) {
			return false
		}
	}
	return true
}

func (m *member) hasProtocol(name string) bool {
	for _, p := range m.protocols {
		if p.Name == name {
			return true
		}
	}
	return false
}

// joinNew handles a join without a member id.
func (g *group) joinNew(req JoinRequest, reply chan JoinResult) {
	prefix := req.ClientID
	if req.InstanceID != "" {
		prefix = req.InstanceID
	}
	id := prefix + "-" + newUUID()
	switch {
	case req.InstanceID != "" && g.memberByInstance(req.InstanceID) != nil:
		g.replaceStatic(g.memberByInstance(req.InstanceID), id, req, reply)
	case req.InstanceID == "" && req.RequireKnownMemberID:
		// KIP-394: the member must come back with this id, so that
		// a client retrying a lost answer does not leave ghosts.
		g.pending[id] = time.Now().Add(req.SessionTimeout)
		reply <- JoinResult{Err: ErrMemberIDRequired, MemberID: id}
	default:
		g.addMember(id, req, reply)
	}
}

// joinKnown handles a join from a member id the group handed out.
func (g *group) joinKnown(req JoinRequest, reply chan JoinResult) {
	if _, ok := g.pending[req.MemberID]; ok {
		g.addMember(req.MemberID, req, reply)
		return
	}
	if g.fenced(req.MemberID, req.InstanceID) {
		reply <- JoinResult{Err: ErrFencedInstance, MemberID: req.MemberID}
		return
	}
	m := g.members[req.MemberID]
	if m == nil || (req.InstanceID != "" && g.static[req.InstanceID] == "") {
		reply <- JoinResult{Err: ErrUnknownMember, MemberID: req.MemberID}
		return
	}
	switch g.state {
	case PreparingRebalance:
		g.updateMember(m, req, reply)
	case CompletingRebalance:
		if sameProtocols(m.protocols, req.Protocols) {
			// The member lost our answer: give it again.
			reply <- g.joinResult(m)
			return
		}
		g.updateMember(m, req, reply)
		g.prepareRebalance()
	case Stable:
		if m.id == g.leader || !sameProtocols(m.protocols, req.Protocols) {
			// A leader's join asks for a new assignment (its
			// view of the topics may have changed).
			g.updateMember(m, req, reply)
			g.prepareRebalance()
			return
		}
		reply <- g.joinResult(m)
	default:
		reply <- JoinResult{Err: ErrUnknownMember, MemberID: req.MemberID}
	}
}

// addMember adds a member that waits in JoinGroup, and rebalances.
func (g *group) addMember(id string, req JoinRequest, reply chan JoinResult) {
	delete(g.pending, id)
	if len(g.members) == 0 {
		g.protocolType = req.ProtocolType
	}
	m := &member{id: id, instanceID: req.InstanceID, isNew: true}
	g.setMember(m, req)
	m.join = reply
	// A new member cannot heartbeat until its join is answered.
	m.deadline = time.Now().Add(g.c.cfg.NewMemberJoinTimeout)
	g.members[id] = m
	g.order = append(g.order, m)
	if g.leader == "" {
		g.leader = id
	}
	if m.instanceID != "" {
		g.static[m.instanceID] = id
	}
	if g.state == PreparingRebalance && !g.joinDelay.IsZero() {
		// The first rebalance is being held for members starting
		// together: this one extends the wait.
		g.joinDelay = minTime(time.Now().Add(g.c.cfg.InitialRebalanceDelay), g.rebalanceDeadline)
	}
	g.maybePrepareRebalance()
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func (g *group) setMember(m *member, req JoinRequest) {
	m.clientID, m.clientHost = req.ClientID, req.ClientHost
	m.sessionTimeout, m.rebalanceTimeout = req.SessionTimeout, req.RebalanceTimeout
	m.protocols = req.Protocols
}

// updateMember records a known member's new join, which waits for the
// rebalance.
func (g *group) updateMember(m *member, req JoinRequest, reply chan JoinResult) {
	g.setMember(m, req)
	if m.join != nil {
		// An earlier join of the same member is still waiting (its
		// client gave up on it); only the latest gets the answer.
		g.answerJoin(m, JoinResult{Err: ErrRebalanceInProgress, MemberID: m.id})
	}
	m.join = reply
}

// replaceStatic handles a static member rejoining without its member id
// (it restarted): the new incarnation takes the old one's place and fences
// it. In a Stable group nothing else changes unless its protocols did
// (KIP-345), so a restart does not move partitions.
func (g *group) replaceStatic(old *member, id string, req JoinRequest, reply chan JoinResult) {
	g.answerJoin(old, JoinResult{Err: ErrFencedInstance, MemberID: old.id})
	g.answerSync(old, SyncResult{Err: ErrFencedInstance})
	changed := !sameProtocols(old.protocols, req.Protocols)
	prevLeader := g.leader
	m := &member{id: id, instanceID: old.instanceID, assignment: old.assignment}
	g.setMember(m, req)
	delete(g.members, old.id)
	g.members[id] = m
	for i, o := range g.order {
		if o == old {
			g.order[i] = m
		}
	}
	g.static[m.instanceID] = id
	if g.leader == old.id {
		g.leader = id
	}
	g.touch(m)
	switch {
	case g.state == PreparingRebalance:
		m.join = reply
	case g.state == Stable && !changed:
		g.rejoinStable(m, prevLeader, req.SupportsSkipAssignment, reply)
	default:
		m.join = reply
		g.prepareRebalance()
	}
}

// rejoinStable answers a replaced static member of a Stable group with
// the current generation once the new member id is written. A leader that
// understands KIP-814 is told to skip assigning; an older one is given the
// previous leader id, so it acts as a follower and syncs for its
// assignment.
func (g *group) rejoinStable(m *member, prevLeader string, skip bool, reply chan JoinResult) {
	res := g.joinResult(m)
	if m.id == g.leader {
		res.Members = nil
		res.Leader = prevLeader
		if skip {
			res.Leader, res.SkipAssignment, res.Members = m.id, true, g.memberMetadata()
		}
	}
	gen := g.generation
	g.persistWritten([]Record{g.groupRecord()}, func(err error) {
		switch {
		case err != nil:
			reply <- JoinResult{Err: ErrNotAvailable, MemberID: m.id}
		case g.generation != gen || g.members[m.id] != m:
			reply <- JoinResult{Err: ErrRebalanceInProgress, MemberID: m.id}
		default:
			reply <- res
		}
	})
	g.stored = true
}

// joinResult is the current generation as member m is told it.
func (g *group) joinResult(m *member) JoinResult {
	r := JoinResult{MemberID: m.id, Generation: g.generation, ProtocolType: g.protocolType, Protocol: g.protocol, Leader: g.leader}
	if m.id == g.leader {
		r.Members = g.memberMetadata()
	}
	return r
}

func (g *group) memberMetadata() []MemberMetadata {
	out := make([]MemberMetadata, len(g.order))
	for i, m := range g.order {
		out[i] = MemberMetadata{MemberID: m.id, InstanceID: m.instanceID, Metadata: m.metadataFor(g.protocol)}
	}
	return out
}

func (g *group) maybePrepareRebalance() {
	if g.state == Stable || g.state == CompletingRebalance || g.state == Empty {
		g.prepareRebalance()
	}
}

// prepareRebalance starts waiting for every member to rejoin, for at most
// the longest rebalance timeout of the members.
func (g *group) prepareRebalance() {
	if g.state == CompletingRebalance {
		g.resetAssignments(ErrRebalanceInProgress)
	}
	fromEmpty := g.state == Empty
	g.setState(PreparingRebalance)
	g.syncDeadline, g.synced, g.storingGen = time.Time{}, nil, -1
	g.rebalanceDeadline = time.Now().Add(g.maxRebalanceTimeout())
	if d := g.c.cfg.InitialRebalanceDelay; fromEmpty && d > 0 {
		g.joinDelay = minTime(time.Now().Add(d), g.rebalanceDeadline)
	}
	g.maybeCompleteJoin()
}

// resetAssignments drops every assignment and answers members waiting in
// SyncGroup with err.
func (g *group) resetAssignments(err error) {
	for _, m := range g.order {
		m.assignment = nil
		if m.sync != nil {
			g.answerSync(m, SyncResult{Err: err})
			g.touch(m)
		}
	}
}

func (g *group) maxRebalanceTimeout() time.Duration {
	var d time.Duration
	for _, m := range g.order {
		d = max(d, m.rebalanceTimeout)
	}
	return d
}

// maybeCompleteJoin completes the join phase once every member is waiting
// in JoinGroup, no handed-out id is still expected and the initial
// rebalance delay (if any) is over.
func (g *group) maybeCompleteJoin() {
	if g.state != PreparingRebalance || len(g.pending) > 0 || !g.joinDelay.IsZero() {
		return
	}
	for _, m := range g.order {
		if m.join == nil {
			return
		}
	}
	g.completeJoin()
}

// completeJoin ends the join phase: dynamic members that did not rejoin
// are dropped (static ones keep their place until their session ends),
// the generation advances, and every waiting member gets its answer.
func (g *group) completeJoin() {
	g.joinDelay = time.Time{}
	for _, m := range append([]*member(nil), g.order...) {
		if m.join == nil && m.instanceID == "" {
			g.removeMember(m)
		}
	}
	if len(g.members) > 0 && !g.electJoinedLeader() {
		// Only absent static members are left: wait for them (or
		// their session timeouts) another rebalance timeout.
		g.rebalanceDeadline = time.Now().Add(g.maxRebalanceTimeout())
		return
	}
	g.rebalanceDeadline = time.Time{}
	g.generation++
	if len(g.members) == 0 {
		g.protocol, g.leader = "", ""
		g.setState(Empty)
		g.write([]Record{g.groupRecord()})
		g.stored = true
		return
	}
	g.protocol = g.selectProtocol()
	g.setState(CompletingRebalance)
	g.syncDeadline = time.Now().Add(g.maxRebalanceTimeout())
	g.synced = map[string]bool{}
	for _, m := range g.order {
		if m.join != nil {
			g.answerJoin(m, g.joinResult(m))
			g.touch(m)
		}
		m.isNew = false
	}
}

// electJoinedLeader keeps the leader if it rejoined, or makes the first
// member that did the leader. It reports false when none did.
func (g *group) electJoinedLeader() bool {
	if l := g.members[g.leader]; l != nil && l.join != nil {
		return true
	}
	for _, m := range g.order {
		if m.join != nil {
			g.leader = m.id
			return true
		}
	}
	return false
}

// selectProtocol picks, among the protocols every member supports, the
// one most members prefer (each votes for its first supported choice);
// ties go to the leader's preference order.
func (g *group) selectProtocol() string {
	votes := map[string]int{}
	for _, m := range g.order {
		for _, p := range m.protocols {
			if g.supportedByAll(p.Name) {
				votes[p.Name]++
				break
			}
		}
	}
	best, bestVotes := "", 0
	for _, p := range g.members[g.leader].protocols {
		if v := votes[p.Name]; v > bestVotes {
			best, bestVotes = p.Name, v
		}
	}
	return best
}

// removeMember drops m without starting a rebalance.
func (g *group) removeMember(m *member) {
	g.answerJoin(m, JoinResult{Err: ErrUnknownMember})
	g.answerSync(m, SyncResult{Err: ErrUnknownMember})
	delete(g.members, m.id)
	for i, o := range g.order {
		if o == m {
			g.order = append(g.order[:i], g.order[i+1:]...)
			break
		}
	}
	if m.instanceID != "" && g.static[m.instanceID] == m.id {
		delete(g.static, m.instanceID)
	}
	if g.leader == m.id {
		g.leader = ""
		if len(g.order) > 0 {
			g.leader = g.order[0].id
		}
	}
}

// removeMemberAndRebalance drops m and lets the others rebalance.
func (g *group) removeMemberAndRebalance(m *member) {
	g.removeMember(m)
	switch g.state {
	case Stable, CompletingRebalance:
		g.prepareRebalance()
	case PreparingRebalance:
		g.maybeCompleteJoin()
	}
}

// abandonJoin handles a JoinGroup whose client went away while it waited
// (see Coordinator.Abandon).
func (g *group) abandonJoin(ch <-chan JoinResult) {
	for _, m := range g.order {
		if m.join == nil || (<-chan JoinResult)(m.join) != ch {
			continue
		}
		g.c.log.Info("group: member's connection closed while it waited in JoinGroup", "group", g.id, "member", m.id, "client", m.clientID)
		if m.instanceID != "" {
			m.join = nil
			g.touch(m)
			return
		}
		g.removeMemberAndRebalance(m)
		return
	}
}

// forgetPending drops a handed-out member id that will never join.
func (g *group) forgetPending(id string) {
	if _, ok := g.pending[id]; !ok {
		return
	}
	delete(g.pending, id)
	g.maybeCompleteJoin()
}

// expireMember handles m's session running out. A member waiting in
// JoinGroup or SyncGroup cannot heartbeat, so it is kept (unless it never
// had a join answered: then it has waited NewMemberJoinTimeout).
func (g *group) expireMember(m *member, now time.Time) {
	if !m.isNew && (m.join != nil || m.sync != nil) {
		m.deadline = now.Add(m.sessionTimeout)
		return
	}
	g.c.log.Info("group: member session expired", "group", g.id, "member", m.id, "client", m.clientID)
	g.removeMemberAndRebalance(m)
}

// expireSync handles members that did not send SyncGroup within the
// rebalance timeout: they are dropped and the group rebalances again.
func (g *group) expireSync() {
	if g.storingGen == g.generation {
		return // the leader's assignment is being stored
	}
	for _, m := range append([]*member(nil), g.order...) {
		if !g.synced[m.id] {
			g.removeMember(m)
		}
	}
	g.prepareRebalance()
}

// sync handles a SyncGroup.
func (g *group) sync(req SyncRequest, reply chan<- SyncResult) {
	m := g.members[req.MemberID]
	switch {
	case g.state == Dead:
		reply <- SyncResult{Err: ErrNotAvailable}
	case g.fenced(req.MemberID, req.InstanceID):
		reply <- SyncResult{Err: ErrFencedInstance}
	case m == nil:
		reply <- SyncResult{Err: ErrUnknownMember}
	case req.Generation != g.generation:
		reply <- SyncResult{Err: ErrIllegalGeneration}
	case req.ProtocolType != nil && *req.ProtocolType != g.protocolType,
		req.Protocol != nil && *req.Protocol != g.protocol:
		reply <- SyncResult{Err: ErrInconsistentProtocol}
	case g.state == Empty:
		reply <- SyncResult{Err: ErrUnknownMember}
	case g.state == PreparingRebalance:
		reply <- SyncResult{Err: ErrRebalanceInProgress}
	case g.state == Stable:
		g.touch(m)
		reply <- g.syncResult(m)
	default: // CompletingRebalance
		g.answerSync(m, SyncResult{Err: ErrRebalanceInProgress}) // a retried sync replaces the first
		m.sync = reply
		g.synced[m.id] = true
		if m.id == g.leader && g.storingGen != g.generation {
			g.storeAssignment(req.Assignments)
		}
	}
}

func (g *group) syncResult(m *member) SyncResult {
	return SyncResult{ProtocolType: g.protocolType, Protocol: g.protocol, Assignment: g.assignmentOrEmpty(m.assignment)}
}

// storeAssignment stores the leader's assignment and, once it is written,
// makes the group Stable and answers every member waiting in SyncGroup.
func (g *group) storeAssignment(as []Assignment) {
	assigned := make(map[string][]byte, len(as))
	for _, a := range as {
		if g.members[a.MemberID] != nil {
			assigned[a.MemberID] = a.Data
		}
	}
	for _, m := range g.order {
		m.assignment = g.assignmentOrEmpty(assigned[m.id])
	}
	gen := g.generation
	g.storingGen = gen
	g.persistWritten([]Record{g.groupRecord()}, func(err error) {
		if g.state != CompletingRebalance || g.generation != gen {
			return // a rebalance began meanwhile; its members were told
		}
		g.storingGen = -1
		if err != nil {
			g.c.log.Warn("group: storing assignment", "group", g.id, "err", err)
			g.resetAssignments(ErrNotAvailable)
			g.prepareRebalance()
			return
		}
		g.setState(Stable)
		g.syncDeadline, g.synced = time.Time{}, nil
		for _, m := range g.order {
			if m.sync != nil {
				g.answerSync(m, g.syncResult(m))
				g.touch(m)
			}
		}
	})
	g.stored = true
}

// emptyConsumerAssignment is a ConsumerMemberAssignment with no
// partitions: version 0, no topics, no user data.
var emptyConsumerAssignment = []byte{0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}

// assignmentOrEmpty gives members of "consumer" groups that the leader
// assigned nothing a valid empty assignment rather than no bytes, which
// some clients cannot parse.
func (g *group) assignmentOrEmpty(a []byte) []byte {
	if len(a) == 0 && g.protocolType == "consumer" {
		return emptyConsumerAssignment
	}
	return a
}

// heartbeat handles a Heartbeat.
func (g *group) heartbeat(req HeartbeatRequest) error {
	m := g.members[req.MemberID]
	switch {
	case g.state == Dead:
		return ErrNotAvailable
	case g.fenced(req.MemberID, req.InstanceID):
		return ErrFencedInstance
	case m == nil || g.state == Empty:
		return ErrUnknownMember
	case req.Generation != g.generation:
		return ErrIllegalGeneration
	}
	g.touch(m)
	if g.state == PreparingRebalance {
		return ErrRebalanceInProgress
	}
	// Stable, or CompletingRebalance: a member may heartbeat between
	// its join answer and its sync.
	return nil
}

// leave handles a LeaveGroup: one error per member.
func (g *group) leave(ids []MemberIdentity) ([]error, error) {
	if g.state == Dead {
		return nil, ErrNotAvailable
	}
	errs := make([]error, len(ids))
	for i, id := range ids {
		if id.MemberID != "" && g.fenced(id.MemberID, id.InstanceID) {
			errs[i] = ErrFencedInstance
			continue
		}
		if _, ok := g.pending[id.MemberID]; ok {
			delete(g.pending, id.MemberID)
			g.maybeCompleteJoin()
			continue
		}
		m := g.memberByInstance(id.InstanceID)
		if m == nil {
			m = g.members[id.MemberID]
		}
		if m == nil {
			errs[i] = ErrUnknownMember
			continue
		}
		g.c.log.Debug("group: member left", "group", g.id, "member", m.id)
		g.removeMemberAndRebalance(m)
	}
	return errs, nil
}

// newUUID returns a random RFC 4122 version 4 UUID, as Kafka's member ids
// end with.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
