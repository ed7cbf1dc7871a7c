package group

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Config configures a Coordinator. An empty field means its default.
type Config struct {
	// MinSessionTimeout is the shortest session timeout a member may ask
	// for. Default 1s. (Kafka's group.min.session.timeout.ms is 6s; on a
	// single node a lower floor lets processors take over a crashed
	// peer's partitions sooner.)
	MinSessionTimeout time.Duration
	// MaxSessionTimeout is the longest. Default 30 minutes, as Kafka.
	MaxSessionTimeout time.Duration
	// NewMemberJoinTimeout is how long a member joining for the first
	// time may wait in JoinGroup before it is dropped (it cannot
	// heartbeat yet). Default 5 minutes, as Kafka.
	NewMemberJoinTimeout time.Duration
	// OffsetsRetention is how long an Empty group keeps its committed
	// offsets: for groups that used group management, counted from when
	// the group became Empty; for others from each commit. An Empty
	// group left without offsets is removed. Default 7 days (Kafka's
	// offsets.retention.minutes); negative keeps offsets forever.
	OffsetsRetention time.Duration
	// InitialRebalanceDelay holds the first rebalance of an Empty group
	// this long for more members to join, extended by the same for each
	// one that does, up to the rebalance timeout (Kafka's
	// group.initial.rebalance.delay.ms): consumers starting together then
	// share one generation instead of rebalancing once per member.
	// Default 0, no delay (`pitwall broker` sets 3s, Kafka's default).
	InitialRebalanceDelay time.Duration
	// MaxMetadataBytes is the longest metadata string a commit may carry.
	// Default 4096 (Kafka's offset.metadata.max.bytes).
	MaxMetadataBytes int
	// Logger receives the coordinator's logs. Default slog.Default().
	Logger *slog.Logger
}

const (
	defaultMinSession       = time.Second
	defaultMaxSession       = 30 * time.Minute
	defaultNewMemberTimeout = 5 * time.Minute
	defaultRetention        = 7 * 24 * time.Hour
	defaultMaxMetadata      = 4096
)

func (c Config) withDefaults() (Config, error) {
	setDefault(&c.MinSessionTimeout, defaultMinSession)
	setDefault(&c.MaxSessionTimeout, defaultMaxSession)
	setDefault(&c.NewMemberJoinTimeout, defaultNewMemberTimeout)
	setDefault(&c.OffsetsRetention, defaultRetention)
	setDefault(&c.MaxMetadataBytes, defaultMaxMetadata)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MinSessionTimeout < 0 || c.MaxSessionTimeout < c.MinSessionTimeout {
		return c, fmt.Errorf("group: session timeout bounds [%v, %v] are not a range", c.MinSessionTimeout, c.MaxSessionTimeout)
	}
	if c.NewMemberJoinTimeout < 0 || c.MaxMetadataBytes < 0 || c.InitialRebalanceDelay < 0 {
		return c, errors.New("group: NewMemberJoinTimeout, InitialRebalanceDelay and MaxMetadataBytes must not be negative")
	}
	return c, nil
}

func setDefault[T comparable](field *T, def T) {
	var zero T
	if *field == zero {
		*field = def
	}
}

// Record is one key/value pair of the coordinator's log, in Kafka's
// __consumer_offsets layouts (see records.go). A nil Value is a tombstone.
type Record struct {
	Key, Value []byte
}

// Store persists the coordinator's records. The broker implements it over
// the __consumer_offsets topic.
type Store interface {
	// Append writes recs, in order, to the part of the store that holds
	// group (every record of a group must go to the same ordered log, so
	// that replaying it leaves the last value of each key). It returns
	// once they are written, with a function that blocks until they are
	// durable, ctx ends or the store fails.
	Append(group string, recs []Record) (wait func(context.Context) error, err error)
}

// Coordinator is the group coordinator: it owns every group, each served
// by a goroutine of its own (see doc.go).
type Coordinator struct {
	cfg   Config
	store Store
	log   *slog.Logger

	// ctx ends when Close begins: group loops and durability waits stop.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // group loops and durability waiters

	mu     sync.Mutex // guards groups and closed, never held while waiting
	groups map[string]*group
	closed bool
}

// New starts a coordinator whose state is what r replayed (nil: none).
// Close stops it.
func New(cfg Config, store Store, r *Replayer) (*Coordinator, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Coordinator{cfg: cfg, store: store, log: cfg.Logger, groups: map[string]*group{}}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if r != nil {
		for id, snap := range r.groups {
			g := newGroup(c, id)
			g.restore(snap, time.Now())
			if g.state == Empty && len(g.offsets) == 0 {
				continue // nothing left worth keeping
			}
			c.start(g)
		}
	}
	return c, nil
}

// Close stops every group and waits for their goroutines. Requests still
// waiting (a JoinGroup, a commit not yet durable) are answered with
// ErrNotAvailable. The Store must stay usable until Close returns. A nil
// Coordinator (a cluster broker's, whose groups are per partition) has
// nothing to close.
func (c *Coordinator) Close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
}

func (c *Coordinator) start(g *group) {
	c.groups[g.id] = g
	g.publish()
	c.wg.Add(1)
	go g.run()
}

// errNoGroup: the group does not exist and the request may not create it.
var errNoGroup = errors.New("group: no such group")

// lookup returns the group named id, creating it when create is set.
func (c *Coordinator) lookup(id string, create bool) (*group, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrNotAvailable
	}
	g := c.groups[id]
	if g == nil {
		if !create {
			return nil, errNoGroup
		}
		g = newGroup(c, id)
		c.start(g)
	}
	return g, nil
}

// unregister removes g, which is Dead, so that its name can be used again.
func (c *Coordinator) unregister(g *group) {
	c.mu.Lock()
	if c.groups[g.id] == g {
		delete(c.groups, g.id)
	}
	c.mu.Unlock()
}

// do runs fn on the goroutine that owns group id and returns when fn has
// run. A group whose goroutine has just ended (it went Dead) is looked up
// again, so fn never runs on a stale group.
func (c *Coordinator) do(id string, create bool, fn func(g *group)) error {
	for {
		g, err := c.lookup(id, create)
		if err != nil {
			return err
		}
		done := make(chan struct{})
		select {
		case g.in <- func() { fn(g); close(done) }:
			<-done
			return nil
		case <-g.done:
		}
	}
}

func (c *Coordinator) validSession(d time.Duration) bool {
	return d >= c.cfg.MinSessionTimeout && d <= c.cfg.MaxSessionTimeout
}

// Join handles a JoinGroup. The result arrives on the channel when the
// rebalance completes (or at once for errors and for members that need no
// rebalance). Requests of one client are applied in the order Join is
// called; only the wait is asynchronous.
func (c *Coordinator) Join(req JoinRequest) <-chan JoinResult {
	ch := make(chan JoinResult, 1)
	if req.Group == "" {
		ch <- JoinResult{Err: ErrInvalidGroupID, MemberID: req.MemberID}
		return ch
	}
	if !c.validSession(req.SessionTimeout) {
		ch <- JoinResult{Err: ErrInvalidSessionTimeout, MemberID: req.MemberID}
		return ch
	}
	if req.RebalanceTimeout <= 0 {
		req.RebalanceTimeout = req.SessionTimeout
	}
	err := c.do(req.Group, req.MemberID == "", func(g *group) { g.join(req, ch) })
	if err != nil {
		ch <- JoinResult{Err: unknownAs(err, ErrUnknownMember), MemberID: req.MemberID}
	}
	return ch
}

// Abandon tells the group that the JoinGroup whose answer ch (from Join)
// was to carry will never be read: its client's connection closed. A
// member still waiting in it is removed at once (a static member only
// stops waiting: it keeps its place until its session ends), so the
// rebalance does not wait for, or hand partitions to, a phantom. It does
// nothing if ch was already answered.
func (c *Coordinator) Abandon(id string, ch <-chan JoinResult) {
	_ = c.do(id, false, func(g *group) { g.abandonJoin(ch) })
}

// Forget drops a member id the group handed out with ErrMemberIDRequired
// and still expects (KIP-394), because the client it went to is gone:
// the rebalance no longer waits for it to join.
func (c *Coordinator) Forget(id, memberID string) {
	_ = c.do(id, false, func(g *group) { g.forgetPending(memberID) })
}

// Sync handles a SyncGroup; followers' results arrive once the leader's
// assignment is stored.
func (c *Coordinator) Sync(req SyncRequest) <-chan SyncResult {
	ch := make(chan SyncResult, 1)
	if req.Group == "" {
		ch <- SyncResult{Err: ErrInvalidGroupID}
		return ch
	}
	if err := c.do(req.Group, false, func(g *group) { g.sync(req, ch) }); err != nil {
		ch <- SyncResult{Err: unknownAs(err, ErrUnknownMember)}
	}
	return ch
}

// Heartbeat handles a Heartbeat.
func (c *Coordinator) Heartbeat(req HeartbeatRequest) error {
	if req.Group == "" {
		return ErrInvalidGroupID
	}
	var res error
	if err := c.do(req.Group, false, func(g *group) { res = g.heartbeat(req) }); err != nil {
		return unknownAs(err, ErrUnknownMember)
	}
	return res
}

// Leave removes members from a group: a top-level error, or one error per
// member in order.
func (c *Coordinator) Leave(id string, members []MemberIdentity) ([]error, error) {
	if id == "" {
		return nil, ErrInvalidGroupID
	}
	var errs []error
	var top error
	err := c.do(id, false, func(g *group) { errs, top = g.leave(members) })
	if errors.Is(err, errNoGroup) {
		errs = make([]error, len(members))
		for i := range errs {
			errs[i] = ErrUnknownMember
		}
		return errs, nil
	}
	if err != nil {
		return nil, err
	}
	return errs, top
}

// CommitOffsets handles an OffsetCommit; the result arrives once the
// offsets are durable (or at once for errors). Offsets become visible to
// FetchOffsets only then.
func (c *Coordinator) CommitOffsets(req CommitRequest) <-chan CommitResult {
	ch := make(chan CommitResult, 1)
	// Only a commit that may go to an Empty group creates one, as Kafka.
	err := c.do(req.Group, req.Generation < 0, func(g *group) { g.commit(req, ch) })
	if err != nil {
		ch <- CommitResult{Err: unknownAs(err, ErrIllegalGeneration)}
	}
	return ch
}

// FetchOffsets returns a group's committed offsets: for parts, in order
// (Offset -1 where nothing is committed), or every one when parts is nil.
// With an error it still returns parts, uncommitted.
func (c *Coordinator) FetchOffsets(id string, parts []TopicPartition) ([]PartitionOffset, error) {
	var out []PartitionOffset
	err := c.do(id, false, func(g *group) { out = g.fetch(parts) })
	switch {
	case errors.Is(err, errNoGroup):
		return noOffsets(parts), nil
	case err != nil:
		return noOffsets(parts), err
	}
	return out, nil
}

// Describe describes a group; ErrGroupNotFound when there is none.
func (c *Coordinator) Describe(id string) (Description, error) {
	var d Description
	err := c.do(id, false, func(g *group) { d = g.describe() })
	if err != nil {
		return Description{Group: id, State: Dead}, unknownAs(err, ErrGroupNotFound)
	}
	if d.State == Dead {
		return d, ErrGroupNotFound
	}
	return d, nil
}

// Len is the number of groups the coordinator holds (loaded or created).
func (c *Coordinator) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.groups)
}

// List lists every group that is not Dead, by name.
func (c *Coordinator) List() []Listing {
	c.mu.Lock()
	out := make([]Listing, 0, len(c.groups))
	for _, g := range c.groups {
		if l := g.listing.Load(); l != nil && l.State != Dead {
			out = append(out, *l)
		}
	}
	c.mu.Unlock()
	slices.SortFunc(out, func(a, b Listing) int { return cmp.Compare(a.Group, b.Group) })
	return out
}

// Delete removes an Empty group and its offsets; the result arrives once
// that is durable.
func (c *Coordinator) Delete(id string) <-chan error {
	ch := make(chan error, 1)
	if err := c.do(id, false, func(g *group) { g.delete(ch) }); err != nil {
		ch <- unknownAs(err, ErrGroupNotFound)
	}
	return ch
}

// DeleteOffsets removes committed offsets of partitions the group does not
// consume; the result arrives once that is durable.
func (c *Coordinator) DeleteOffsets(id string, parts []TopicPartition) <-chan DeleteOffsetsResult {
	ch := make(chan DeleteOffsetsResult, 1)
	if err := c.do(id, false, func(g *group) { g.deleteOffsets(parts, ch) }); err != nil {
		ch <- DeleteOffsetsResult{Err: unknownAs(err, ErrGroupNotFound)}
	}
	return ch
}

// unknownAs turns errNoGroup into the error the API answers for a group
// that does not exist.
func unknownAs(err, as error) error {
	if errors.Is(err, errNoGroup) {
		return as
	}
	return err
}

func noOffsets(parts []TopicPartition) []PartitionOffset {
	out := make([]PartitionOffset, len(parts))
	for i, tp := range parts {
		out[i] = PartitionOffset{TopicPartition: tp, Offset: Offset{Offset: -1, LeaderEpoch: -1}}
	}
	return out
}
