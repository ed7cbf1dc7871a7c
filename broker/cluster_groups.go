package broker

// The group coordinator in cluster mode (a broker without Voters keeps the
// one coordinator of groups.go and never reaches this file's code).
//
// As in Kafka, __consumer_offsets is a replicated topic like any other
// (created through the controller on first use with replication factor
// min(3, voters), Kafka's offsets.topic.replication.factor, its
// partitions spread over the brokers), and the coordinator of a group is
// the leader of the group's partition of it (offsetsPartition: Kafka's
// hash). Each broker runs one group.Coordinator per partition it leads:
//
//   - reconcile (at every cluster state change) loads a partition this
//     broker has become leader of: its log, which is the partition's
//     truth now, is fsynced to its end and replayed into a new
//     coordinator (requests for its groups get COORDINATOR_LOAD_IN_PROGRESS
//     meanwhile); a partition it no longer leads (or leads at another
//     epoch) is unloaded: its coordinator closes, waiting requests get
//     COORDINATOR_NOT_AVAILABLE and the members find the new coordinator,
//     whose replay has every commit that was acknowledged;
//   - a group request to a broker that does not lead the group's
//     partition, or has no current session with the controller, gets
//     NOT_COORDINATOR (coordinator);
//   - the coordinator's records are appended by the leader at its leader
//     epoch, refused while the ISR is below min.insync.replicas, and a
//     commit is answered once the high watermark passes it, as acks=all
//     is (clusterOffsetsStore): every in-sync replica holds it fsynced,
//     so it survives the coordinator's SIGKILL.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pitwall/pitwall/broker/internal/cluster"
	"github.com/pitwall/pitwall/broker/internal/commitlog"
	"github.com/pitwall/pitwall/broker/internal/group"
	"github.com/pitwall/pitwall/broker/internal/partition"
)

var (
	// errNotGroupCoordinator: this broker does not lead the group's
	// __consumer_offsets partition (or the store's leadership ended).
	errNotGroupCoordinator = errors.New("broker: not the coordinator of this group")
	// errCoordinatorLoading: this broker leads the group's partition
	// and is still replaying it.
	errCoordinatorLoading = errors.New("broker: loading the groups of this coordinator's partition")
)

// maxOffsetsReplicationFactor is Kafka's offsets.topic.replication.factor.
const maxOffsetsReplicationFactor = 3

// clusterGroups holds one coordinator per __consumer_offsets partition
// this broker leads.
type clusterGroups struct {
	s *Server

	mu     sync.Mutex // guards parts and closed; never held while waiting
	parts  map[int32]*coordPartition
	closed bool
	wg     sync.WaitGroup // loads and unloads
}

// coordPartition is one led partition's coordinator, being loaded or
// loaded.
type coordPartition struct {
	p     int32
	epoch int32
	// ready closes once the load ended: coord is set (nil if it failed,
	// with err) before.
	ready chan struct{}
	coord *group.Coordinator
	err   error
	// stop closes when the partition is unloaded: a load still running
	// closes what it loaded.
	stop chan struct{}
	// logStart and logEnd are the offsets the load replayed between.
	logStart, logEnd int64
}

func newClusterGroups(s *Server) *clusterGroups {
	return &clusterGroups{s: s, parts: map[int32]*coordPartition{}}
}

// coordinator is the coordinator of group id: the single broker's, or in
// a cluster the one of the group's __consumer_offsets partition if this
// broker leads it and has loaded it.
func (s *Server) coordinator(id string) (*group.Coordinator, error) {
	if s.cluster == nil {
		return s.groups, nil
	}
	return s.cgroups.coordinator(id)
}

func (m *clusterGroups) coordinator(id string) (*group.Coordinator, error) {
	s := m.s
	t := s.cluster.State().Topics[offsetsTopic]
	if t == nil || len(t.Partitions) == 0 {
		return nil, errNotGroupCoordinator
	}
	p := int32(offsetsPartition(id, len(t.Partitions)))
	cp := t.Partitions[p]
	if cp.Leader != s.cfg.NodeID || !s.cluster.Active() {
		return nil, errNotGroupCoordinator
	}
	m.mu.Lock()
	e, closed := m.parts[p], m.closed
	m.mu.Unlock()
	switch {
	case closed:
		return nil, errNotCoordinator
	case e == nil || e.epoch != cp.LeaderEpoch:
		return nil, errCoordinatorLoading // reconcile has not come to it yet
	}
	select {
	case <-e.ready:
	default:
		return nil, errCoordinatorLoading
	}
	if e.coord == nil {
		return nil, fmt.Errorf("%w: %v", group.ErrNotAvailable, e.err)
	}
	return e.coord, nil
}

// list is every group of the loaded partitions, by name, and whether a
// partition is still loading.
func (m *clusterGroups) list() (out []group.Listing, loading bool) {
	m.mu.Lock()
	parts := make([]*coordPartition, 0, len(m.parts))
	for _, e := range m.parts {
		parts = append(parts, e)
	}
	m.mu.Unlock()
	for _, e := range parts {
		select {
		case <-e.ready:
			if e.coord != nil {
				out = append(out, e.coord.List()...)
			}
		default:
			loading = true
		}
	}
	return out, loading
}

// reconcile loads the partitions st has this broker lead and unloads
// the others.
func (m *clusterGroups) reconcile(st *cluster.State) {
	s := m.s
	lead := map[int32]int32{}
	t := st.Topics[offsetsTopic]
	if t != nil {
		for i, p := range t.Partitions {
			if p.Leader == s.cfg.NodeID {
				lead[int32(i)] = p.LeaderEpoch
			}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	for p, e := range m.parts {
		if epoch, ok := lead[p]; !ok || epoch != e.epoch {
			delete(m.parts, p)
			m.unload(e)
		}
	}
	if len(lead) == 0 {
		return
	}
	lt := s.topics.Lookup(offsetsTopic)
	if lt == nil || lt.ID() != t.ID {
		return // reconcile reported why it has no replicas of it
	}
	for p, epoch := range lead {
		if m.parts[p] != nil || int(p) >= lt.NumPartitions() {
			continue
		}
		e := &coordPartition{p: p, epoch: epoch, ready: make(chan struct{}), stop: make(chan struct{})}
		m.parts[p] = e
		m.wg.Add(1)
		go m.load(lt, e)
	}
}

// unload stops e's coordinator (once its load ended). Caller holds m.mu.
func (m *clusterGroups) unload(e *coordPartition) {
	close(e.stop)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		<-e.ready
		if e.coord != nil {
			e.coord.Close()
			m.s.log.Info("group coordinator: partition unloaded", "partition", e.p, "leader_epoch", e.epoch)
		}
	}()
}

// load replays partition e.p of __consumer_offsets into a coordinator.
func (m *clusterGroups) load(lt *partition.Topic, e *coordPartition) {
	defer m.wg.Done()
	defer close(e.ready)
	s := m.s
	start := time.Now()
	coord, err := m.open(lt, e)
	if err != nil {
		e.err = err
		s.bad.report("group_load", fmt.Errorf("loading %s partition %d: %w", offsetsTopic, e.p, err), "partition", e.p)
		return
	}
	select {
	case <-e.stop:
		coord.Close() // unloaded while loading
		return
	default:
	}
	e.coord = coord
	s.log.Info("group coordinator: partition loaded", "partition", e.p, "leader_epoch", e.epoch,
		"groups", coord.Len(), "log_start", e.logStart, "log_end", e.logEnd, "load_time", time.Since(start).Round(time.Millisecond))
}

func (m *clusterGroups) open(lt *partition.Topic, e *coordPartition) (*group.Coordinator, error) {
	s := m.s
	part, err := lt.Partition(e.p)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	go func() {
		select {
		case <-e.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	// What this replica copied from the previous leader is the
	// partition's now: make it readable (fsynced) and replay all of it.
	l := part.Log()
	if err := l.Sync(ctx, l.EndOffset()); err != nil {
		return nil, err
	}
	e.logStart, e.logEnd = l.StartOffset(), l.HighWatermark()
	r := group.NewReplayer()
	if err := s.replayOffsets(l, r); err != nil {
		return nil, err
	}
	store := &clusterOffsetsStore{s: s, t: lt, part: part, p: e.p, epoch: e.epoch}
	cfg := group.Config{InitialRebalanceDelay: s.cfg.GroupInitialRebalanceDelay, Logger: s.log.With("offsets_partition", e.p)}
	return group.New(cfg, store, r)
}

// close unloads every partition and waits for the coordinators to stop.
func (m *clusterGroups) close() {
	m.mu.Lock()
	m.closed = true
	for p, e := range m.parts {
		delete(m.parts, p)
		m.unload(e)
	}
	m.mu.Unlock()
	m.wg.Wait()
}

// clusterOffsetsStore is a partition coordinator's group.Store: appends
// by the partition's leader at its epoch, durable once replicated.
type clusterOffsetsStore struct {
	s     *Server
	t     *partition.Topic
	part  *partition.Partition
	p     int32
	epoch int32
}

func (st *clusterOffsetsStore) Append(groupID string, recs []group.Record) (func(context.Context) error, error) {
	s := st.s
	if !st.part.Leading(st.epoch) || !s.cluster.Active() {
		return nil, errNotGroupCoordinator
	}
	need := st.t.Config().MinInsyncReplicas(len(s.replicaSet(offsetsTopic, st.p)))
	if isr := len(st.part.ISR()); isr < need {
		return nil, fmt.Errorf("%w: the ISR of %s/%d holds %d, min.insync.replicas %d", errNotEnoughReplicas, offsetsTopic, st.p, isr, need)
	}
	b := offsetsBatch(recs, time.Now())
	h, err := commitlog.ParseBatchHeader(b)
	if err != nil {
		return nil, err
	}
	a, err := st.part.AppendEpoch(b, h, st.epoch)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return st.waitReplicated(ctx, a.End) }, nil
}

// waitReplicated waits, as an acks=all produce does, until the high
// watermark passes end while this broker leads at the store's epoch.
func (st *clusterOffsetsStore) waitReplicated(ctx context.Context, end int64) error {
	s := st.s
	for {
		wake := st.part.Wait(nil)
		switch {
		case st.part.HighWatermark() >= end && s.cluster.Active():
			return nil
		case st.part.HighWatermark() >= end, !st.part.Leading(st.epoch):
			return errNotGroupCoordinator
		case len(st.part.ISR()) < st.t.Config().MinInsyncReplicas(len(s.replicaSet(offsetsTopic, st.p))):
			return errNotEnoughReplicasAfterAppend
		}
		if !s.waitAny(ctx, nil, wake) {
			if err := ctx.Err(); err != nil {
				return err
			}
			return errNotCoordinator // shutting down
		}
	}
}

// clusterOffsetsTopic is __consumer_offsets in the cluster state, created
// through the controller on first use (as Kafka does) with the
// coordinator's configs and replication factor min(3, voters).
func (s *Server) clusterOffsetsTopic() (*cluster.Topic, error) {
	if t := s.cluster.State().Topics[offsetsTopic]; t != nil {
		return t, nil
	}
	voters, err := cluster.ParseVoters(s.cfg.Voters)
	if err != nil {
		return nil, err
	}
	n := min(offsetsTopicPartitions, s.cfg.MaxPartitions)
	rf := min(maxOffsetsReplicationFactor, len(voters))
	_, t, err := s.clusterCreate(offsetsTopic, int32(n), int16(rf), nil, offsetsTopicConfigs, false)
	if errors.Is(err, partition.ErrTopicExists) {
		// Another broker created it: this one's state has it once it
		// applies that entry.
		return s.awaitClusterTopic(offsetsTopic)
	}
	if err != nil {
		return nil, err
	}
	s.log.Info("created "+offsetsTopic, "partitions", n, "replication_factor", rf)
	return t, nil
}

// awaitClusterTopic waits (up to controllerTimeout) for this broker's
// cluster state to have topic name.
func (s *Server) awaitClusterTopic(name string) (*cluster.Topic, error) {
	timer := time.NewTimer(controllerTimeout)
	defer timer.Stop()
	for {
		ch := s.cluster.Changed()
		if t := s.cluster.State().Topics[name]; t != nil {
			return t, nil
		}
		select {
		case <-ch:
		case <-timer.C:
			return nil, fmt.Errorf("%w: %s exists on the controller, not yet in this broker's state", group.ErrNotAvailable, name)
		case <-s.draining:
			return nil, errNotCoordinator
		}
	}
}

// partitionExists says whether topic's partition p exists: in the
// cluster state in a cluster (the coordinator may hold no replica of
// it), in the registry on a single broker.
func (s *Server) partitionExists(topic string, p int32) error {
	if s.cluster == nil {
		_, err := s.topics.Partition(topic, p)
		return err
	}
	if t := s.cluster.State().Topics[topic]; t == nil || p < 0 || int(p) >= len(t.Partitions) {
		return partition.ErrUnknownTopic
	}
	return nil
}

// listGroups is every group this broker coordinates, by name, and whether
// a partition of them is still loading (cluster mode).
func (s *Server) listGroups() ([]group.Listing, bool) {
	if s.cluster == nil {
		return s.groups.List(), false
	}
	out, loading := s.cgroups.list()
	slices.SortFunc(out, func(a, b group.Listing) int { return strings.Compare(a.Group, b.Group) })
	return out, loading
}
