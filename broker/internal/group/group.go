package group

import (
	"bytes"
	"sync/atomic"
	"time"
)

// group is one consumer group. Every field below the channels is owned by
// the group's goroutine (run): requests reach it as functions on in, timers
// and durability reports arrive on its own channels, and nothing else ever
// touches the state.
type group struct {
	c  *Coordinator
	id string

	in      chan func()             // unbuffered: a send succeeds only while run is alive
	durable chan durableResult      // reports from durability waiters
	done    chan struct{}           // closed when run returns
	listing atomic.Pointer[Listing] // for List, published by run

	state        State
	stateSince   time.Time
	protocolType string
	protocol     string // selected protocol of the current generation
	generation   int32
	leader       string
	members      map[string]*member
	order        []*member            // members in join order: leader choice, answers
	pending      map[string]time.Time // ids handed out with ErrMemberIDRequired, until when
	static       map[string]string    // group.instance.id -> member id

	rebalanceDeadline time.Time       // PreparingRebalance: join completes by then
	joinDelay         time.Time       // PreparingRebalance from Empty: join completes no sooner
	syncDeadline      time.Time       // CompletingRebalance: members must sync by then
	synced            map[string]bool // members that sent SyncGroup this generation
	storingGen        int32           // generation whose assignment is being stored, or -1

	offsets map[TopicPartition]Offset
	stored  bool // group metadata was written, so removal needs a tombstone

	persistQ []*persistOp // writes awaiting durability, in append order
}

// member is one member of a group.
type member struct {
	id, instanceID       string
	clientID, clientHost string
	sessionTimeout       time.Duration
	rebalanceTimeout     time.Duration
	protocols            []Protocol
	assignment           []byte

	join     chan JoinResult   // set while waiting in JoinGroup
	sync     chan<- SyncResult // set while waiting in SyncGroup
	deadline time.Time         // session expiry
	isNew    bool              // has not yet had a join answered
}

func newGroup(c *Coordinator, id string) *group {
	return &group{
		c:          c,
		id:         id,
		in:         make(chan func()),
		durable:    make(chan durableResult),
		done:       make(chan struct{}),
		stateSince: time.Now(),
		members:    map[string]*member{},
		pending:    map[string]time.Time{},
		static:     map[string]string{},
		offsets:    map[TopicPartition]Offset{},
		storingGen: -1,
	}
}

// run is the group's goroutine.
func (g *group) run() {
	defer g.c.wg.Done()
	defer close(g.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		g.armTimer(timer)
		select {
		case fn := <-g.in:
			fn()
		case now := <-timer.C:
			g.onTimer(now)
		case d := <-g.durable:
			d.op.done, d.op.err = true, d.err
		case <-g.c.ctx.Done():
			g.abort()
			return
		}
		g.completePersisted()
		g.maybeRemove()
		g.publish()
		if g.state == Dead && len(g.persistQ) == 0 {
			g.c.unregister(g)
			return
		}
	}
}

func (g *group) setState(s State) {
	g.state = s
	g.stateSince = time.Now()
}

// publish makes the group's listing visible to List.
func (g *group) publish() {
	l := Listing{Group: g.id, ProtocolType: g.protocolType, State: g.state}
	if old := g.listing.Load(); old == nil || *old != l {
		g.listing.Store(&l)
	}
}

// armTimer sets timer to the earliest deadline the group has.
func (g *group) armTimer(t *time.Timer) {
	var next time.Time
	consider := func(d time.Time) {
		if !d.IsZero() && (next.IsZero() || d.Before(next)) {
			next = d
		}
	}
	for _, d := range g.pending {
		consider(d)
	}
	for _, m := range g.order {
		consider(m.deadline)
	}
	consider(g.joinDelay)
	consider(g.rebalanceDeadline)
	consider(g.syncDeadline)
	consider(g.expiryDeadline())
	if next.IsZero() {
		t.Stop()
		return
	}
	t.Reset(time.Until(next))
}

// onTimer handles every deadline that has passed.
func (g *group) onTimer(now time.Time) {
	for id, d := range g.pending {
		if !d.After(now) {
			delete(g.pending, id)
		}
	}
	for _, m := range append([]*member(nil), g.order...) {
		if g.members[m.id] == m && !m.deadline.IsZero() && !m.deadline.After(now) {
			g.expireMember(m, now)
		}
	}
	if !g.joinDelay.IsZero() && !g.joinDelay.After(now) {
		g.joinDelay = time.Time{} // whatever the state now: a passed deadline must not stay armed
		g.maybeCompleteJoin()
	}
	if g.state == PreparingRebalance && !g.rebalanceDeadline.IsZero() && !g.rebalanceDeadline.After(now) {
		g.completeJoin()
	}
	if g.state == CompletingRebalance && !g.syncDeadline.IsZero() && !g.syncDeadline.After(now) {
		g.expireSync()
	}
	if g.state == Empty {
		g.expireOffsets(now)
	}
	g.maybeCompleteJoin()
}

// touch restarts m's session: it has shown it is alive.
func (g *group) touch(m *member) {
	m.deadline = time.Now().Add(m.sessionTimeout)
}

// maybeRemove removes an Empty group that has nothing left: no members,
// no pending members, no offsets and no write in flight.
func (g *group) maybeRemove() {
	if g.state != Empty || len(g.members) > 0 || len(g.pending) > 0 || len(g.offsets) > 0 || len(g.persistQ) > 0 {
		return
	}
	if g.stored {
		g.write([]Record{{Key: groupKey(g.id)}})
	}
	g.setState(Dead)
}

// abort answers everything still waiting when the coordinator closes.
func (g *group) abort() {
	g.setState(Dead)
	for len(g.persistQ) > 0 {
		op := g.persistQ[0]
		g.persistQ = g.persistQ[1:]
		op.then(ErrNotAvailable)
	}
	for _, m := range g.order {
		g.answerJoin(m, JoinResult{Err: ErrNotAvailable, MemberID: m.id})
		g.answerSync(m, SyncResult{Err: ErrNotAvailable})
	}
}

// persistOp is a write whose continuation runs once it is durable (or
// failed), in the order the writes were made.
type persistOp struct {
	then func(error)
	done bool
	err  error
}

type durableResult struct {
	op  *persistOp
	err error
}

// persist appends recs to the store and runs then on this goroutine once
// they are durable, or with the error that stopped them. Continuations run
// in append order: the group's records all go to one log, so a later write
// cannot be durable before an earlier one.
func (g *group) persist(recs []Record, then func(error)) {
	g.persistOp(recs, true, then)
}

// persistWritten is persist for group metadata: then runs once the records
// are written, without waiting for an fsync, as Kafka's coordinator does.
// A crash may lose them, and replay then restores the previous generation,
// whose members are told to rejoin; nothing a client was promised is lost.
func (g *group) persistWritten(recs []Record, then func(error)) {
	g.persistOp(recs, false, then)
}

func (g *group) persistOp(recs []Record, durable bool, then func(error)) {
	op := &persistOp{then: then}
	g.persistQ = append(g.persistQ, op)
	if g.c.ctx.Err() != nil {
		op.done, op.err = true, ErrNotAvailable
		return
	}
	wait, err := g.c.store.Append(g.id, recs)
	if err != nil || !durable {
		op.done, op.err = true, err
		return
	}
	g.c.wg.Add(1) // run itself is counted, so the count is above zero
	go func() {
		defer g.c.wg.Done()
		err := wait(g.c.ctx)
		select {
		case g.durable <- durableResult{op, err}:
		case <-g.c.ctx.Done():
		}
	}()
}

// completePersisted runs the continuations of the writes at the head of
// the queue that are done.
func (g *group) completePersisted() {
	for len(g.persistQ) > 0 && g.persistQ[0].done {
		op := g.persistQ[0]
		g.persistQ = g.persistQ[1:]
		op.then(op.err)
	}
}

// write appends records nobody waits for (a group gone Empty or removed):
// if a crash loses them, replay finds the previous state, which the next
// session timeouts or rebalance correct.
func (g *group) write(recs []Record) {
	if g.c.ctx.Err() != nil {
		return
	}
	if _, err := g.c.store.Append(g.id, recs); err != nil {
		g.c.log.Warn("group: storing group state", "group", g.id, "err", err)
	}
}

// memberByInstance returns the member holding instanceID, or nil.
func (g *group) memberByInstance(instanceID string) *member {
	if instanceID == "" {
		return nil
	}
	return g.members[g.static[instanceID]]
}

// fenced reports whether memberID claims instanceID while a different
// member holds it.
func (g *group) fenced(memberID, instanceID string) bool {
	if instanceID == "" {
		return false
	}
	holder, ok := g.static[instanceID]
	return ok && holder != memberID
}

func (g *group) answerJoin(m *member, r JoinResult) {
	if m.join != nil {
		m.join <- r
		m.join = nil
	}
}

func (g *group) answerSync(m *member, r SyncResult) {
	if m.sync != nil {
		m.sync <- r
		m.sync = nil
	}
}

func (m *member) metadataFor(protocol string) []byte {
	for _, p := range m.protocols {
		if p.Name == protocol {
			return p.Metadata
		}
	}
	return nil
}

func sameProtocols(a, b []Protocol) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || !bytes.Equal(a[i].Metadata, b[i].Metadata) {
			return false
		}
	}
	return true
}
