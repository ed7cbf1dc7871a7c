package broker

// Cluster mode: Config.Voters set (pitwall broker --voters ...). The
// metadata is internal/cluster's, replicated by Raft among the brokers;
// this file is where the broker uses it:
//
//   - openCluster starts the controller quorum member once the listeners
//     are bound (it registers this broker's first listener's address);
//   - reconcileLoop creates, under DataDir/topics as always, every topic
//     of the cluster state this broker holds a replica of (with the
//     controller's topic id), and deletes a topic the state dropped;
//   - Metadata (clusterMetadata) answers with the live brokers and each
//     partition's leader, leader epoch, replicas, ISR and offline
//     replicas; CreateTopics, DeleteTopics and auto-creation go through the controller
//     (forwarded to the active one), with replication factor and
//     assignments;
//   - Produce, Fetch, ListOffsets and OffsetForLeaderEpoch are served by
//     a partition's leader only, and only while its session with the
//     controller is current (Controller.Active: a broker cut off from the
//     quorum stops leading before the quorum can fence it and elect
//     another); other brokers answer NOT_LEADER_OR_FOLLOWER, and clients
//     look the leader up again;
//   - a restarted broker answers before Raft has replayed the quorum's
//     log into its state: until it has caught up (Controller.CaughtUp) a
//     topic missing from its state is LEADER_NOT_AVAILABLE in Metadata
//     and NOT_LEADER_OR_FOLLOWER elsewhere, never UNKNOWN_TOPIC_OR_PARTITION
//     (producers fail their records after a few of those);
//   - the leader stamps batches with the partition's leader epoch and
//     starts each epoch it is elected at at its log end (assignEpochs),
//     so OffsetForLeaderEpoch answers as Kafka's leader does.
//
//   - data replication (replication.go): followers fetch from the
//     leader with their replica id and store its batches as they are;
//     the leader's high watermark is the lowest log end offset in the
//     ISR, and consumers and ListOffsets see only below it; acks=all is
//     answered once the high watermark passes the batch, while the ISR
//     holds min.insync.replicas; followers behind for
//     replica.lag.time.max.ms leave the ISR and rejoin once caught up
//     (AlterISR entries); a replica that becomes a follower truncates
//     its divergent tail (OffsetForLeaderEpoch, KIP-279) first.
//
//   - consumer groups (cluster_groups.go): __consumer_offsets is a
//     replicated topic, created through the controller on first use
//     with replication factor min(3, voters); FindCoordinator names the
//     leader of the group's partition of it (clusterCoordinator), which
//     runs a coordinator per partition it leads, loaded from the
//     partition's log when it becomes leader and closed when it stops;
//     group requests to another broker get NOT_COORDINATOR; commits are
//     answered once the high watermark passes them, as acks=all.
//
//   - preferred leader election (internal/cluster, elect.go): every
//     LeaderImbalanceCheckInterval the active controller moves leaders
//     (and so group coordinators) back to each partition's preferred
//     replica once it is live and in the ISR again; ElectLeaders
//     (43_elect_leaders.go) does it on request.
//
// Not built yet: the replica fetchers connect without TLS or SASL, so a
// cluster's first listener must be PLAINTEXT (replica_fetch.go: only
// there are replica fetches taken).
//
// A broker started without Voters never reaches this file's code past a
// nil check: s.cluster is nil.

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/internal/cluster"
	"github.com/pitwall/pitwall/broker/internal/partition"
)

var (
	// errNotLeader: this broker does not lead the partition (or holds no
	// replica of the topic); the client refreshes its metadata.
	errNotLeader = errors.New("broker: not the leader of this partition")
	// errNotEnoughReplicas: the ISR is smaller than min.insync.replicas,
	// so acks=all is refused before the append.
	errNotEnoughReplicas = errors.New("broker: not enough in-sync replicas for acks=all")
	// errNotCaughtUp: a restarted broker has not applied the controller's
	// state yet, so Metadata cannot say whether a topic exists
	// (LEADER_NOT_AVAILABLE: clients ask again).
	errNotCaughtUp = errors.New("broker: not caught up with the controller since the start")
)

// controllerTimeout bounds a change made through the controller for a
// request (a topic's creation): within it an election can finish.
const controllerTimeout = 10 * time.Second

// openCluster joins the controller quorum if Config.Voters is set.
func (s *Server) openCluster() error {
	if s.cfg.Voters == "" {
		return nil
	}
	voters, err := cluster.ParseVoters(s.cfg.Voters) // validated by withDefaults
	if err != nil {
		return err
	}
	cfg := cluster.Config{
		NodeID:         s.cfg.NodeID,
		Listen:         s.cfg.ControllerListen,
		Voters:         voters,
		Dir:            filepath.Join(s.cfg.DataDir, "cluster"),
		Host:           s.host,
		Port:           s.port,
		SessionTimeout: s.cfg.BrokerSessionTimeout,
		Logger:         s.log,
	}
	cfg.RebalanceInterval = s.cfg.LeaderImbalanceCheckInterval
	if s.cfg.DisableLeaderRebalance {
		cfg.RebalanceInterval = -1
	}
	s.cluster, err = cluster.Open(cfg)
	if err != nil {
		return fmt.Errorf("broker: %w", err)
	}
	s.log.Info("cluster mode", "node_id", s.cfg.NodeID, "voters", s.cfg.Voters, "session_timeout", s.cfg.BrokerSessionTimeout,
		"leader_rebalance", !s.cfg.DisableLeaderRebalance, "leader_imbalance_check_interval", s.cfg.LeaderImbalanceCheckInterval)
	return nil
}

// reconcileLoop keeps the local topics in step with the cluster state
// until stop closes.
func (s *Server) reconcileLoop(stop <-chan struct{}) {
	if s.cluster == nil {
		return
	}
	s.replicas = newReplicaManager(s)
	isrDone := make(chan struct{})
	go func() { defer close(isrDone); s.isrLoop(stop) }()
	defer func() {
		<-isrDone
		s.cgroups.close() // before the fetchers: its last writes settle
		s.replicas.close()
	}()
	seen := map[string][16]byte{}
	for {
		ch := s.cluster.Changed()
		s.reconcile(s.cluster.State(), seen)
		select {
		case <-stop:
			return
		case <-ch:
		}
	}
}

// reconcile creates the topics of st this broker holds replicas of and
// is missing, and deletes those seen in an earlier state of this run and
// gone (or recreated with another id) since. A local topic the state has
// not named this run is left alone: after a restart the state may be
// behind until the quorum's log is replayed.
func (s *Server) reconcile(st *cluster.State, seen map[string][16]byte) {
	for name, id := range seen {
		if t := st.Topics[name]; t == nil || t.ID != id {
			delete(seen, name)
			s.replicas.unfollowTopic(name)
			if lt := s.topics.Lookup(name); lt != nil && lt.ID() == id {
				if err := s.topics.Delete(name); err != nil {
					s.log.Warn("cluster: deleting a topic the controller deleted", "topic", name, "err", err)
				}
			}
		}
	}
	for name, t := range st.Topics {
		seen[name] = t.ID
		if !replicaOf(t, s.cfg.NodeID) {
			continue
		}
		lt := s.topics.Lookup(name)
		if lt != nil && lt.ID() != t.ID {
			s.bad.report("topic_id_mismatch", fmt.Errorf("local topic %s has another id than the cluster's", name), "topic", name)
			continue
		}
		if lt == nil {
			var err error
			if lt, err = s.topics.CreateWithID(name, t.ID, int32(len(t.Partitions)), t.Configs); err != nil {
				s.bad.report("replica_create", fmt.Errorf("creating replicas of %s: %w", name, err), "topic", name)
				continue
			}
		}
		s.assignEpochs(lt, t)
		s.replicate(lt, t)
	}
	s.cgroups.reconcile(st) // after replicate: a partition led is Lead first
}

// assignEpochs starts the leader epoch of each partition this broker
// leads at its log end, as a newly elected Kafka leader does, so that
// OffsetForLeaderEpoch for the epoch before ends where this one begins.
// A partition whose log already has the epoch is not touched (nor
// opened, if it is idle).
func (s *Server) assignEpochs(lt *partition.Topic, t *cluster.Topic) {
	for i, p := range t.Partitions {
		if p.Leader != s.cfg.NodeID || i >= lt.NumPartitions() {
			continue
		}
		part, err := lt.Partition(int32(i))
		if err != nil {
			continue // failed to open: reported by the opening
		}
		// A fetch of the old role still being appended ends first, and
		// a later answer to it is dropped (appendFetched).
		s.replicas.unfollow(topicPartition{t.Name, int32(i)})
		if es := part.Log().LeaderEpochs(); len(es) > 0 && es[len(es)-1].Epoch >= p.LeaderEpoch {
			continue
		}
		if err := part.Log().AssignEpoch(p.LeaderEpoch); err != nil {
			s.bad.report("assign_epoch", fmt.Errorf("leader epoch %d of %s/%d: %w", p.LeaderEpoch, t.Name, i, err), "topic", t.Name, "partition", i)
		}
	}
}

func replicaOf(t *cluster.Topic, id int32) bool {
	for _, p := range t.Partitions {
		if slices.Contains(p.Replicas, id) {
			return true
		}
	}
	return false
}

// servedPartition is the partition Produce and Fetch use: in cluster
// mode only if this broker leads it.
func (s *Server) servedPartition(topic string, p int32) (*partition.Partition, error) {
	if s.cluster != nil {
		if err := s.leads(topic, p); err != nil {
			return nil, err
		}
	}
	return s.topics.Partition(topic, p)
}

// leads says whether this broker leads topic's partition p.
func (s *Server) leads(topic string, p int32) error {
	t := s.cluster.State().Topics[topic]
	switch {
	case t == nil && !s.cluster.CaughtUp():
		// Restarted and not yet caught up with the quorum: the topic may
		// well exist. Retriable, unlike UNKNOWN_TOPIC_OR_PARTITION, which
		// a producer gives up on after a few tries.
		return fmt.Errorf("%w: this broker has not caught up with the controller since it started", errNotLeader)
	case t == nil || p < 0 || int(p) >= len(t.Partitions):
		return partition.ErrUnknownTopic
	case t.Partitions[p].Leader != s.cfg.NodeID:
		return errNotLeader
	case !s.cluster.Active():
		// Cut off from the quorum (or not caught up since a restart):
		// the others may have elected another leader by now.
		return fmt.Errorf("%w: this broker has no current session with the controller", errNotLeader)
	}
	return nil
}

// leaderEpoch is topic's partition p's leader epoch: the cluster
// state's, 0 on a single broker.
func (s *Server) leaderEpoch(topic string, p int32) int32 {
	if s.cluster == nil {
		return 0
	}
	if t := s.cluster.State().Topics[topic]; t != nil && p >= 0 && int(p) < len(t.Partitions) {
		return t.Partitions[p].LeaderEpoch
	}
	return 0
}

// clusterAutoTopic is autoTopic in cluster mode: the topic if this broker
// holds its replicas, created through the controller first if it does
// not exist and may be auto-created; errNotLeader if another broker
// holds them.
func (s *Server) clusterAutoTopic(name string, allowed bool) (*partition.Topic, error) {
	if name == offsetsTopic && s.cluster.State().Topics[name] == nil {
		if !allowed {
			return nil, partition.ErrUnknownTopic
		}
		if _, err := s.clusterOffsetsTopic(); err != nil { // the coordinator's configs
			return nil, err
		}
	}
	if s.cluster.State().Topics[name] == nil {
		if !s.cluster.CaughtUp() {
			return nil, fmt.Errorf("%w: this broker has not caught up with the controller since it started", errNotLeader)
		}
		if s.cfg.DisableAutoCreate || !allowed {
			return nil, partition.ErrUnknownTopic
		}
		if _, _, err := s.clusterCreate(name, -1, -1, nil, nil, false); err != nil && !errors.Is(err, partition.ErrTopicExists) {
			return nil, err
		}
	}
	return s.localTopic(name)
}

// localTopic returns the local replicas of a topic of the cluster state,
// waiting for reconcileLoop to create them if it has not yet.
func (s *Server) localTopic(name string) (*partition.Topic, error) {
	deadline := time.Now().Add(controllerTimeout)
	for {
		if lt := s.topics.Lookup(name); lt != nil {
			return lt, nil
		}
		t := s.cluster.State().Topics[name]
		switch {
		case t == nil:
			return nil, partition.ErrUnknownTopic
		case !replicaOf(t, s.cfg.NodeID):
			return nil, errNotLeader
		case time.Now().After(deadline):
			return nil, fmt.Errorf("%w: replicas of %s not created yet", errNotLeader, name)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// clusterCreate creates a topic through the controller: partitions -1 and
// rf -1 are the broker defaults; replicas, if given, is the assignment.
// The configs are checked here first (the local registry's rules) and
// the resolved topic (no partitions open) is returned for its configs,
// with the controller's topic.
func (s *Server) clusterCreate(name string, partitions int32, rf int16, replicas [][]int32, configs map[string]string, validateOnly bool) (*partition.Topic, *cluster.Topic, error) {
	if len(replicas) > 0 {
		partitions = int32(len(replicas))
	}
	checked, err := s.topics.Create(name, partitions, configs, true)
	if err != nil {
		return nil, nil, err
	}
	if s.cluster.State().Topics[name] != nil {
		return nil, nil, fmt.Errorf("%w: %s", partition.ErrTopicExists, name)
	}
	n := int(rf)
	if rf == -1 {
		n = s.cfg.DefaultReplicationFactor
	}
	if len(replicas) == 0 && (n < 1 || n > len(s.cluster.State().LiveBrokers())) {
		return nil, nil, fmt.Errorf("%w: %d, with %d live brokers", cluster.ErrReplicationFactor, n, len(s.cluster.State().LiveBrokers()))
	}
	if validateOnly {
		return checked, nil, nil
	}
	ctx, cancel := context.WithTimeout(s.ctx, controllerTimeout)
	defer cancel()
	t, err := s.cluster.CreateTopic(ctx, cluster.CreateTopicRequest{
		Name: name, Partitions: checked.NumPartitions(), ReplicationFactor: n, Replicas: replicas, Configs: configs,
	})
	if errors.Is(err, cluster.ErrTopicExists) {
		err = fmt.Errorf("%w: %s", partition.ErrTopicExists, name)
	}
	return checked, t, err
}

// clusterCoordinator makes co name the coordinator of group co.Key: the
// leader of the group's __consumer_offsets partition (created first if
// need be), COORDINATOR_NOT_AVAILABLE while it has none (cluster_groups.go).
func (s *Server) clusterCoordinator(co *kmsg.FindCoordinatorResponseCoordinator) {
	unavailable := func(err error) {
		co.NodeID, co.Host, co.Port = -1, "", -1
		co.ErrorCode, co.ErrorMessage = kerr.CoordinatorNotAvailable.Code, errorMessage(err)
	}
	t, err := s.clusterOffsetsTopic()
	if err != nil {
		unavailable(err)
		return
	}
	leader := t.Partitions[offsetsPartition(co.Key, len(t.Partitions))].Leader
	b := s.cluster.State().Brokers[leader]
	switch {
	case leader < 0 || b == nil || b.Fenced:
		unavailable(fmt.Errorf("%s partition %d has no leader", offsetsTopic, offsetsPartition(co.Key, len(t.Partitions))))
	case leader != s.cfg.NodeID:
		co.NodeID, co.Host, co.Port = b.ID, b.Host, b.Port
	}
	// This broker: the listener the client came in on, as set.
}

// clusterDelete deletes a topic through the controller; each broker's
// reconcileLoop then deletes its replicas.
func (s *Server) clusterDelete(name string) error {
	ctx, cancel := context.WithTimeout(s.ctx, controllerTimeout)
	defer cancel()
	err := s.cluster.DeleteTopic(ctx, name)
	if errors.Is(err, cluster.ErrUnknownTopic) {
		return fmt.Errorf("%w: %s", partition.ErrUnknownTopic, name)
	}
	return err
}

// clusterTopicName is the name of the topic with id in the cluster state,
// or "" (also on a single broker).
func (s *Server) clusterTopicName(id [16]byte) string {
	if s.cluster == nil {
		return ""
	}
	for name, t := range s.cluster.State().Topics {
		if t.ID == id {
			return name
		}
	}
	return ""
}

// clusterCreateFromRequest answers one CreateTopics topic in cluster mode.
func (s *Server) clusterCreateFromRequest(rt *kmsg.CreateTopicsRequestTopic, validateOnly bool, st *kmsg.CreateTopicsResponseTopic) {
	var replicas [][]int32
	if len(rt.ReplicaAssignment) > 0 {
		if rt.NumPartitions != -1 || rt.ReplicationFactor != -1 {
			st.ErrorCode = kerr.InvalidRequest.Code
			st.ErrorMessage = kmsg.StringPtr("replica assignment given with a partition count or replication factor")
			return
		}
		replicas = make([][]int32, len(rt.ReplicaAssignment))
		for _, a := range rt.ReplicaAssignment {
			if a.Partition < 0 || int(a.Partition) >= len(replicas) || replicas[a.Partition] != nil || len(a.Replicas) == 0 {
				st.ErrorCode = kerr.InvalidReplicaAssignment.Code
				st.ErrorMessage = kmsg.StringPtr("replica assignment must name partitions 0..n-1 once each, each with replicas")
				return
			}
			replicas[a.Partition] = a.Replicas
		}
	}
	configs := map[string]string{}
	for _, cfg := range rt.Configs {
		if cfg.Value != nil {
			configs[cfg.Name] = *cfg.Value
		}
	}
	checked, t, err := s.clusterCreate(rt.Topic, rt.NumPartitions, rt.ReplicationFactor, replicas, configs, validateOnly)
	if err != nil {
		st.ErrorCode, st.ErrorMessage = errorCode(err), errorMessage(err)
		return
	}
	st.NumPartitions = int32(checked.NumPartitions())
	st.ReplicationFactor = rt.ReplicationFactor
	if st.ReplicationFactor == -1 {
		st.ReplicationFactor = int16(s.cfg.DefaultReplicationFactor)
	}
	if t != nil {
		st.TopicID = t.ID
		st.ReplicationFactor = int16(len(t.Partitions[0].Replicas))
	}
	for _, k := range partition.ConfigKeys() {
		cfg := kmsg.NewCreateTopicsResponseTopicConfig()
		v := checked.Config().Value(k)
		cfg.Name, cfg.Value = k, &v
		cfg.Source = int8(configSource(checked.Config().SetOnTopic(k)))
		st.Configs = append(st.Configs, cfg)
	}
}

// clusterMetadata answers Metadata in cluster mode from the cluster
// state: the live brokers, the active controller, and per partition its
// leader, leader epoch, replicas, ISR and offline replicas.
func (c *conn) clusterMetadata(req *kmsg.MetadataRequest, resp *kmsg.MetadataResponse) {
	s := c.s
	st := s.cluster.State()
	for _, b := range st.LiveBrokers() {
		mb := kmsg.NewMetadataResponseBroker()
		mb.NodeID, mb.Host, mb.Port = b.ID, b.Host, b.Port
		if b.ID == s.cfg.NodeID {
			mb.Host, mb.Port = c.l.host, c.l.port // the listener the client came in on
		}
		resp.Brokers = append(resp.Brokers, mb)
	}
	resp.ClusterID = &s.clusterID
	resp.ControllerID = s.cluster.Leader()

	allowCreate := req.Version < 4 || req.AllowAutoTopicCreation
	if req.Topics == nil || (req.Version == 0 && len(req.Topics) == 0) {
		names := make([]string, 0, len(st.Topics))
		for name := range st.Topics {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			if c.visible(name) {
				resp.Topics = append(resp.Topics, clusterMetadataTopic(st, name, nil))
			}
		}
		return
	}
	for _, rt := range req.Topics {
		if rt.Topic == nil {
			// v10+ lookup by id only.
			mt := kmsg.NewMetadataResponseTopic()
			mt.TopicID, mt.ErrorCode = rt.TopicID, errorCode(partition.ErrUnknownTopic)
			for name, t := range st.Topics {
				if t.ID == rt.TopicID && c.visible(name) {
					mt = clusterMetadataTopic(st, name, nil)
				}
			}
			resp.Topics = append(resp.Topics, mt)
			continue
		}
		name := *rt.Topic
		var err error
		switch {
		case s.sec.authz != nil && !c.mayTopic(kmsg.ACLOperationDescribe, name):
			err = errTopicAuthorization
		case st.Topics[name] == nil && !s.cluster.CaughtUp():
			// Restarted and not yet caught up: not "unknown" (clients
			// give up on that), not created; asked again, the next
			// answer will know.
			err = errNotCaughtUp
		case st.Topics[name] == nil && name == offsetsTopic:
			// Created as the coordinator creates it, whoever names it
			// first (as on a single broker).
			if !allowCreate || !c.mayCreateTopic(name) {
				err = partition.ErrUnknownTopic
				break
			}
			_, err = s.clusterOffsetsTopic()
			st = s.cluster.State()
		case st.Topics[name] == nil:
			create := allowCreate && !s.cfg.DisableAutoCreate && c.mayCreateTopic(name)
			if !create {
				err = partition.ErrUnknownTopic
				break
			}
			if _, _, err = s.clusterCreate(name, -1, -1, nil, nil, false); errors.Is(err, partition.ErrTopicExists) {
				err = nil
			}
			st = s.cluster.State()
		}
		resp.Topics = append(resp.Topics, clusterMetadataTopic(st, name, err))
	}
}

func clusterMetadataTopic(st *cluster.State, name string, err error) kmsg.MetadataResponseTopic {
	mt := kmsg.NewMetadataResponseTopic()
	mt.Topic = &name
	t := st.Topics[name]
	if err == nil && t == nil {
		err = partition.ErrUnknownTopic
	}
	if err != nil {
		mt.ErrorCode = errorCode(err)
		return mt
	}
	mt.TopicID = t.ID
	mt.Partitions = make([]kmsg.MetadataResponseTopicPartition, len(t.Partitions))
	for i, p := range t.Partitions {
		mp := kmsg.NewMetadataResponseTopicPartition()
		mp.Partition = int32(i)
		mp.Leader, mp.LeaderEpoch = p.Leader, p.LeaderEpoch
		mp.Replicas = slices.Clone(p.Replicas)
		mp.ISR = slices.Clone(p.ISR)
		mp.OfflineReplicas = st.Offline(&p)
		if p.Leader == -1 {
			mp.ErrorCode = kerr.LeaderNotAvailable.Code
		}
		mt.Partitions[i] = mp
	}
	return mt
}
