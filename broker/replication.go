package broker

// Data replication in cluster mode (Kafka's leader/ISR scheme over the
// Kafka protocol). The partition (internal/partition, replication.go)
// owns the high watermark, the followers' offsets and the ISR as this
// broker knows it; this file connects it to the cluster state and the
// network:
//
//   - replicate (called by reconcile at every state change) makes each
//     local replica leader or follower at the state's leader epoch;
//   - a follower's partitions are fetched by one fetcher per leader
//     broker (Kafka's ReplicaFetcherThread): Fetch requests with this
//     broker's id as replica id, batches appended as they came
//     (AppendReplica), fsynced, and only then the next offset asked for,
//     so a follower's fetch offset is what it holds durably;
//   - a partition that becomes a follower (a returning old leader, or any
//     replica after a leader change) first asks its leader
//     OffsetForLeaderEpoch for its last epoch and truncates its log there
//     (KIP-101, KIP-279), then fetches;
//   - the leader records each follower fetch (followerFetched), which
//     moves the high watermark and wakes acks=all produces waiting on
//     it (waitReplicated), and proposes through the controller adding a
//     follower that caught up to the ISR, or (isrLoop) removing one
//     behind for longer than replica.lag.time.max.ms (one AlterISR Raft
//     entry each).

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/internal/cluster"
	"github.com/pitwall/pitwall/broker/internal/commitlog"
	"github.com/pitwall/pitwall/broker/internal/partition"
)

// Replica fetch parameters: a follower's long poll, and how much one
// response may carry.
const (
	replicaFetchWait     = 500 * time.Millisecond
	replicaFetchMaxBytes = 16 << 20
	replicaPartitionMax  = 4 << 20
	replicaBackoff       = 100 * time.Millisecond
	// isrCheckEvery is how often a leader looks for followers past
	// replica.lag.time.max.ms (Kafka checks at half of it; a fixed short
	// tick serves every topic's setting).
	isrCheckEvery = 250 * time.Millisecond
)

var errNotEnoughReplicasAfterAppend = errors.New("broker: the ISR shrank below min.insync.replicas after the append")

// topicPartition names one partition.
type topicPartition struct {
	topic string
	p     int32
}

// replicaManager holds the fetchers, one per leader broker this broker
// follows partitions of.
type replicaManager struct {
	s        *Server
	mu       sync.Mutex
	fetchers map[int32]*fetcher
	leaderOf map[topicPartition]int32 // the fetcher a followed partition is in
}

func newReplicaManager(s *Server) *replicaManager {
	return &replicaManager{s: s, fetchers: map[int32]*fetcher{}, leaderOf: map[topicPartition]int32{}}
}

// replicate makes every local replica of t leader or follower as the
// cluster state says.
func (s *Server) replicate(lt *partition.Topic, t *cluster.Topic) {
	self := s.cfg.NodeID
	for i, cp := range t.Partitions {
		if !slices.Contains(cp.Replicas, self) || i >= lt.NumPartitions() {
			continue
		}
		part, err := lt.Partition(int32(i))
		if err != nil {
			continue // failed to open: reported by the opening
		}
		key := topicPartition{t.Name, int32(i)}
		switch {
		case cp.Leader == self:
			s.replicas.unfollow(key)
			part.Lead(self, cp.LeaderEpoch, cp.Replicas, cp.ISR, time.Now())
		case cp.Leader >= 0:
			part.Follow(cp.LeaderEpoch)
			s.replicas.follow(key, cp.Leader, cp.LeaderEpoch, part)
		default:
			part.Follow(cp.LeaderEpoch)
			s.replicas.unfollow(key)
		}
	}
}

// follow puts a partition into the fetcher of its leader; a new leader or
// epoch starts with a truncation.
func (m *replicaManager) follow(key topicPartition, leader, epoch int32, part *partition.Partition) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.leaderOf[key]; ok && old != leader {
		m.fetchers[old].remove(key)
	}
	f := m.fetchers[leader]
	if f == nil {
		f = newFetcher(m.s, leader)
		m.fetchers[leader] = f
	}
	m.leaderOf[key] = leader
	f.add(key, part, epoch)
}

// unfollow stops fetching a partition.
func (m *replicaManager) unfollow(key topicPartition) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.leaderOf[key]; ok {
		m.fetchers[old].remove(key)
		delete(m.leaderOf, key)
	}
}

// unfollowTopic stops fetching every partition of a deleted topic.
func (m *replicaManager) unfollowTopic(name string) {
	m.mu.Lock()
	var keys []topicPartition
	for k := range m.leaderOf {
		if k.topic == name {
			keys = append(keys, k)
		}
	}
	m.mu.Unlock()
	for _, k := range keys {
		m.unfollow(k)
	}
}

// close stops every fetcher and waits for them.
func (m *replicaManager) close() {
	m.mu.Lock()
	fs := make([]*fetcher, 0, len(m.fetchers))
	for _, f := range m.fetchers {
		fs = append(fs, f)
	}
	m.mu.Unlock()
	for _, f := range fs {
		close(f.stop)
	}
	for _, f := range fs {
		<-f.done
	}
}

// fetcher replicates the partitions this broker follows from one leader
// broker, all in one Fetch request per round, over one connection.
type fetcher struct {
	s      *Server
	leader int32
	// mu guards parts and the fetchParts' fields, and is held while a
	// fetch's answer is appended to (or truncates) a followed log. Lock
	// order: replicaManager.mu, then mu.
	mu    sync.Mutex
	parts map[topicPartition]*fetchPart
	wake  chan struct{} // capacity 1: the partitions changed
	stop  chan struct{}
	done  chan struct{}
}

// fetchPart is one followed partition.
type fetchPart struct {
	part     *partition.Partition
	epoch    int32
	truncate bool // ask OffsetForLeaderEpoch and truncate before fetching
}

func newFetcher(s *Server, leader int32) *fetcher {
	f := &fetcher{s: s, leader: leader, parts: map[topicPartition]*fetchPart{},
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go f.run()
	return f
}

func (f *fetcher) add(key topicPartition, part *partition.Partition, epoch int32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fp := f.parts[key]; fp != nil && fp.epoch == epoch && fp.part == part {
		return
	}
	f.parts[key] = &fetchPart{part: part, epoch: epoch, truncate: true}
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *fetcher) remove(key topicPartition) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.parts, key)
}

// snapshot copies the followed partitions (the fetchParts are shared:
// round updates them under f.mu).
func (f *fetcher) snapshot() map[topicPartition]*fetchPart {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[topicPartition]*fetchPart, len(f.parts))
	for k, v := range f.parts {
		out[k] = v
	}
	return out
}

func (f *fetcher) run() {
	defer close(f.done)
	var pc *peerConn
	defer func() {
		if pc != nil {
			pc.close()
		}
	}()
	failing := false
	fail := func(err error) bool {
		if !failing {
			failing = true
			f.s.log.Warn("replication: fetching from the leader failed (logged once until it works again)", "leader", f.leader, "err", err)
		}
		if pc != nil {
			pc.close()
			pc = nil
		}
		select {
		case <-f.stop:
			return false
		case <-time.After(replicaBackoff):
			return true
		}
	}
	for {
		select {
		case <-f.stop:
			return
		default:
		}
		parts := f.snapshot()
		if len(parts) == 0 {
			select {
			case <-f.stop:
				return
			case <-f.wake:
				continue
			}
		}
		if pc == nil {
			var err error
			if pc, err = f.dial(); err != nil {
				if !fail(err) {
					return
				}
				continue
			}
		}
		progress, err := f.round(pc, parts)
		switch {
		case err != nil:
			if !fail(err) {
				return
			}
		case !progress:
			// Every partition answered an error (the leader's state
			// is behind or ahead of ours): wait for it to settle.
			select {
			case <-f.stop:
				return
			case <-f.wake:
			case <-time.After(replicaBackoff):
			}
		default:
			if failing {
				failing = false
				f.s.log.Info("replication: fetching from the leader again", "leader", f.leader)
			}
		}
	}
}

// dial connects to the leader's registered Kafka address.
func (f *fetcher) dial() (*peerConn, error) {
	b := f.s.cluster.State().Brokers[f.leader]
	if b == nil {
		return nil, fmt.Errorf("broker %d is not registered", f.leader)
	}
	addr := net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &peerConn{nc: nc, fmt: kmsg.NewRequestFormatter(kmsg.FormatterClientID("pitwall-replica-" + strconv.Itoa(int(f.s.cfg.NodeID))))}, nil
}

// round truncates the partitions that need it, then fetches once for the
// others. progress is false if every partition answered an error.
func (f *fetcher) round(pc *peerConn, parts map[topicPartition]*fetchPart) (progress bool, err error) {
	var trunc, fetch []topicPartition
	f.mu.Lock()
	for k, fp := range parts {
		if fp.truncate {
			trunc = append(trunc, k)
		} else {
			fetch = append(fetch, k)
		}
	}
	f.mu.Unlock()
	if len(trunc) > 0 {
		ok, err := f.truncate(pc, parts, trunc)
		if err != nil {
			return false, err
		}
		progress = progress || ok
	}
	if len(fetch) > 0 {
		ok, err := f.fetch(pc, parts, fetch)
		if err != nil {
			return false, err
		}
		progress = progress || ok
	}
	return progress, nil
}

// truncate asks the leader where each partition's last local epoch ends
// and cuts the local log there (KIP-279: at the lower of the leader's end
// for that epoch and this log's own).
func (f *fetcher) truncate(pc *peerConn, parts map[topicPartition]*fetchPart, keys []topicPartition) (bool, error) {
	req := kmsg.NewPtrOffsetForLeaderEpochRequest()
	req.SetVersion(4)
	req.ReplicaID = f.s.cfg.NodeID
	byTopic := map[string]int{}
	var pending []topicPartition
	for _, k := range keys {
		fp := parts[k]
		es := fp.part.Log().LeaderEpochs()
		if len(es) == 0 {
			if fp.part.Log().EndOffset() == fp.part.Log().StartOffset() {
				f.truncated(k, fp) // nothing to cut
				continue
			}
		}
		last := int32(-1)
		if len(es) > 0 {
			last = es[len(es)-1].Epoch
		}
		i, ok := byTopic[k.topic]
		if !ok {
			i = len(req.Topics)
			byTopic[k.topic] = i
			t := kmsg.NewOffsetForLeaderEpochRequestTopic()
			t.Topic = k.topic
			req.Topics = append(req.Topics, t)
		}
		rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
		rp.Partition, rp.CurrentLeaderEpoch, rp.LeaderEpoch = k.p, fp.epoch, last
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
		pending = append(pending, k)
	}
	if len(pending) == 0 {
		return true, nil
	}
	resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	if err := pc.do(req, resp, 10*time.Second); err != nil {
		return false, err
	}
	progress := false
	for _, t := range resp.Topics {
		for _, rp := range t.Partitions {
			k := topicPartition{t.Topic, rp.Partition}
			fp := parts[k]
			if fp == nil || rp.ErrorCode != 0 {
				continue
			}
			held, err := f.truncateFetched(k, fp, rp.LeaderEpoch, rp.EndOffset)
			if !held {
				continue
			}
			progress = true
			if err != nil {
				f.s.bad.report("replica_truncate", fmt.Errorf("truncating %s/%d: %w", k.topic, k.p, err), "topic", k.topic, "partition", k.p)
			}
		}
	}
	return progress, nil
}

// truncateFetched is truncateTo for an OffsetForLeaderEpoch answer, if
// the fetcher still follows the partition as it did when it asked (see
// appendFetched), and then clears fp's truncation.
func (f *fetcher) truncateFetched(k topicPartition, fp *fetchPart, epoch int32, end int64) (held bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.parts[k] != fp {
		return false, nil
	}
	if err := f.truncateTo(k, fp, epoch, end); err != nil {
		return true, err
	}
	fp.truncate = false
	return true, nil
}

// truncateTo cuts fp's log after what the leader holds of epoch (which
// ends at end on the leader).
func (f *fetcher) truncateTo(k topicPartition, fp *fetchPart, epoch int32, end int64) error {
	l := fp.part.Log()
	if epoch < 0 || end < 0 {
		// The leader has nothing of this log's epochs: keep the log (a
		// leader with an empty log cannot be elected over a replica
		// holding acknowledged data, unclean election being off).
		return nil
	}
	ourEpoch, ourEnd := l.EndOffsetForEpoch(epoch)
	if ourEpoch != epoch {
		ourEnd = l.EndOffset()
	}
	at := min(end, ourEnd)
	if at >= l.EndOffset() {
		return nil
	}
	f.s.log.Info("replication: truncating the log to the leader's", "topic", k.topic, "partition", k.p,
		"from", l.EndOffset(), "to", at, "leader", f.leader, "leader_epoch", epoch)
	return fp.part.Truncate(at)
}

// truncated clears fp's truncation if it is still the one followed.
func (f *fetcher) truncated(k topicPartition, fp *fetchPart) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.parts[k] == fp {
		fp.truncate = false
	}
}

// fetch sends one Fetch for keys and appends what comes back.
func (f *fetcher) fetch(pc *peerConn, parts map[topicPartition]*fetchPart, keys []topicPartition) (bool, error) {
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(12)
	req.ReplicaID = f.s.cfg.NodeID
	req.MaxWaitMillis = int32(replicaFetchWait / time.Millisecond)
	req.MinBytes = 1
	req.MaxBytes = replicaFetchMaxBytes
	req.SessionID, req.SessionEpoch = 0, -1
	byTopic := map[string]int{}
	for _, k := range keys {
		i, ok := byTopic[k.topic]
		if !ok {
			i = len(req.Topics)
			byTopic[k.topic] = i
			t := kmsg.NewFetchRequestTopic()
			t.Topic = k.topic
			req.Topics = append(req.Topics, t)
		}
		fp := parts[k]
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition = k.p
		rp.CurrentLeaderEpoch = fp.epoch
		rp.FetchOffset = fp.part.Log().EndOffset()
		rp.LogStartOffset = fp.part.Log().StartOffset()
		rp.PartitionMaxBytes = replicaPartitionMax
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
	}
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	if err := pc.do(req, resp, replicaFetchWait+10*time.Second); err != nil {
		return false, err
	}
	progress := false
	var synced []*fetchPart
	for _, t := range resp.Topics {
		for _, rp := range t.Partitions {
			k := topicPartition{t.Topic, rp.Partition}
			fp := parts[k]
			if fp == nil {
				continue
			}
			switch rp.ErrorCode {
			case 0:
			case kerr.OffsetOutOfRange.Code:
				f.mu.Lock()
				fp.truncate = true // our end is past the leader's: diverged
				f.mu.Unlock()
				continue
			default:
				continue
			}
			held, err := f.appendFetched(k, fp, rp.RecordBatches, rp.HighWatermark)
			if !held {
				continue
			}
			progress = true
			if err != nil {
				f.s.bad.report("replica_append", fmt.Errorf("appending replicated batches of %s/%d: %w", k.topic, k.p, err), "topic", k.topic, "partition", k.p)
				continue
			}
			if len(rp.RecordBatches) > 0 {
				synced = append(synced, fp)
			}
		}
	}
	// The next fetch offset tells the leader what this replica holds:
	// fsync first, as a single broker does before acknowledging.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, fp := range synced {
		if err := fp.part.Log().Sync(ctx, fp.part.Log().EndOffset()); err != nil {
			return progress, fmt.Errorf("fsync of replicated batches: %w", err)
		}
	}
	return progress, nil
}

// appendFetched appends a partition's batches of a fetch response and
// takes the leader's high watermark, if the fetcher still follows the
// partition as it did when it sent the fetch (the same fetchPart: same
// leader, same epoch). A response read after the partition moved on
// (this broker leads it now, or follows another leader or epoch: a
// response can come late from a leader that was frozen mid-write) is
// stale and dropped (held false). f.mu is held across the check and the
// append: unfollow waits for it, so an append of the old role is over
// before the new one starts (assignEpochs unfollows before it opens an
// epoch here).
func (f *fetcher) appendFetched(k topicPartition, fp *fetchPart, b []byte, hw int64) (held bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.parts[k] != fp {
		return false, nil
	}
	if err := f.appendBatches(fp, b); err != nil {
		return true, err
	}
	fp.part.SetLeaderHW(hw)
	return true, nil
}

// appendBatches appends the whole batches of a fetch response.
func (f *fetcher) appendBatches(fp *fetchPart, b []byte) error {
	for len(b) > 0 {
		h, err := commitlog.ParseBatchHeader(b)
		if err != nil {
			if len(b) < 61 {
				return nil // a partial batch at the end (a Kafka leader may send one)
			}
			return err
		}
		n := h.Size()
		if n > len(b) {
			return nil // partial: fetched again next round
		}
		if h.BaseOffset < fp.part.Log().EndOffset() {
			b = b[n:] // already held (a batch holding the fetch offset)
			continue
		}
		if _, err := fp.part.AppendReplica(b[:n:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// peerConn is a connection to another broker's Kafka listener, one
// request at a time, with kmsg's encoding.
type peerConn struct {
	nc   net.Conn
	fmt  *kmsg.RequestFormatter
	corr int32
	buf  []byte
}

func (pc *peerConn) close() { pc.nc.Close() }

// do sends req and reads its response into resp.
func (pc *peerConn) do(req kmsg.Request, resp kmsg.Response, timeout time.Duration) error {
	pc.corr++
	pc.buf = pc.fmt.AppendRequest(pc.buf[:0], req, pc.corr)
	pc.nc.SetDeadline(time.Now().Add(timeout))
	if _, err := pc.nc.Write(pc.buf); err != nil {
		return err
	}
	var size [4]byte
	if _, err := io.ReadFull(pc.nc, size[:]); err != nil {
		return err
	}
	n := int32(binary.BigEndian.Uint32(size[:]))
	if n < 4 || n > replicaFetchMaxBytes+(1<<20) {
		return fmt.Errorf("replication: response of %d bytes", n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(pc.nc, body); err != nil {
		return err
	}
	if corr := int32(binary.BigEndian.Uint32(body)); corr != pc.corr {
		return fmt.Errorf("replication: response to request %d, want %d", corr, pc.corr)
	}
	body = body[4:]
	if resp.IsFlexible() {
		var err error
		if body, err = skipTags(body); err != nil {
			return err
		}
	}
	resp.SetVersion(req.GetVersion())
	return resp.ReadFrom(body)
}

// skipTags skips a response header's tagged fields.
func skipTags(b []byte) ([]byte, error) {
	n, w := binary.Uvarint(b)
	if w <= 0 {
		return nil, errors.New("replication: bad response header tags")
	}
	b = b[w:]
	for range n {
		_, w := binary.Uvarint(b)
		if w <= 0 {
			return nil, errors.New("replication: bad response header tag")
		}
		b = b[w:]
		size, w := binary.Uvarint(b)
		if w <= 0 || uint64(len(b)-w) < size {
			return nil, errors.New("replication: bad response header tag size")
		}
		b = b[w+int(size):]
	}
	return b, nil
}

// followerFetched records, on the leader, the offsets a follower's Fetch
// asks for, and proposes adding it to the ISR if it caught up. The
// request comes from a broker (replicaFetchRefused); a partition it is
// no follower of is skipped (fetchOnce answers NOT_LEADER_OR_FOLLOWER).
func (s *Server) followerFetched(req *kmsg.FetchRequest) {
	now := time.Now()
	for _, rt := range req.Topics {
		for _, rp := range rt.Partitions {
			p, err := s.servedPartition(rt.Topic, rp.Partition)
			if err != nil {
				continue
			}
			if err := s.notReplica(rt.Topic, rp.Partition, req.ReplicaID); err != nil {
				s.bad.report("replica_fetch_not_replica", err, "replica_id", req.ReplicaID, "topic", rt.Topic, "partition", rp.Partition)
				continue
			}
			if p.FollowerFetched(req.ReplicaID, rp.FetchOffset, now) {
				if !s.cluster.State().Live(req.ReplicaID) {
					// Fenced (cut off from the controller, say, but
					// not from this leader): it joins no ISR until it
					// registers again (the controller refuses it too).
					p.ISRChanged()
					continue
				}
				isr := append(p.ISR(), req.ReplicaID)
				slices.Sort(isr)
				go s.alterISR(rt.Topic, rp.Partition, p, isr, "caught up")
			}
		}
	}
}

// alterISR proposes a new ISR for a partition this broker leads.
func (s *Server) alterISR(topic string, pn int32, p *partition.Partition, isr []int32, why string) {
	defer p.ISRChanged()
	ctx, cancel := context.WithTimeout(s.ctx, controllerTimeout)
	defer cancel()
	epoch := s.leaderEpoch(topic, pn)
	if !p.Leading(epoch) {
		return
	}
	s.log.Info("replication: changing the ISR", "topic", topic, "partition", pn, "isr", isr, "reason", why)
	if err := s.cluster.AlterISR(ctx, topic, pn, s.cfg.NodeID, epoch, isr); err != nil {
		s.log.Warn("replication: ISR change refused", "topic", topic, "partition", pn, "isr", isr, "err", err)
	}
}

// isrLoop removes from the ISR of each partition this broker leads the
// followers behind for longer than the topic's replica.lag.time.max.ms,
// until stop closes.
func (s *Server) isrLoop(stop <-chan struct{}) {
	t := time.NewTicker(isrCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			st := s.cluster.State()
			for name, ct := range st.Topics {
				lt := s.topics.Lookup(name)
				if lt == nil {
					continue
				}
				lag := lt.Config().ReplicaLag()
				for i, cp := range ct.Partitions {
					if cp.Leader != s.cfg.NodeID || len(cp.Replicas) < 2 || i >= lt.NumPartitions() {
						continue
					}
					p, err := lt.Partition(int32(i))
					if err != nil {
						continue
					}
					if isr, shrink := p.Lagging(now, lag); shrink {
						go s.alterISR(name, int32(i), p, isr, "behind for longer than replica.lag.time.max.ms")
					}
				}
			}
		}
	}
}

// ackAllCheck is the acks=all check before an append: the ISR must hold at
// least min.insync.replicas (capped at the replication factor).
func (s *Server) ackAllCheck(t *partition.Topic, p int32) error {
	if s.cluster == nil || t.Name() == offsetsTopic {
		return nil
	}
	ct := s.cluster.State().Topics[t.Name()]
	if ct == nil || p < 0 || int(p) >= len(ct.Partitions) {
		return nil // answered by the append
	}
	cp := ct.Partitions[p]
	need := t.Config().MinInsyncReplicas(len(cp.Replicas))
	if len(cp.ISR) < need {
		return fmt.Errorf("%w: the ISR holds %d of the %d replicas min.insync.replicas asks for", errNotEnoughReplicas, len(cp.ISR), need)
	}
	return nil
}

// replicatedWait is an acks=all produce to a cluster partition waiting
// for the high watermark to pass its batch.
type replicatedWait struct {
	t     *partition.Topic
	part  *partition.Partition
	pn    int32
	epoch int32
	end   int64
	resp  *kmsg.ProduceResponseTopicPartition
}

// waitReplicated waits until every ISR member holds the batch (the high
// watermark passed it), answering NOT_ENOUGH_REPLICAS_AFTER_APPEND if the
// ISR shrank below min.insync.replicas, NOT_LEADER_OR_FOLLOWER if this
// broker stopped leading, REQUEST_TIMED_OUT at the request's timeout.
// Woken by the partition's channels: no polling.
func (s *Server) waitReplicated(ctx context.Context, w replicatedWait) {
	for {
		wake := w.part.Wait(nil)
		var err error
		switch {
		case w.part.HighWatermark() >= w.end && s.cluster.Active():
			return
		case w.part.HighWatermark() >= w.end:
			// Replicated, but this broker's session lapsed: another may
			// lead by now, and a deposed leader acknowledges nothing.
			err = fmt.Errorf("%w: this broker has no current session with the controller", errNotLeader)
		case !w.part.Leading(w.epoch):
			err = fmt.Errorf("%w: the leadership moved before the batch was replicated", errNotLeader)
		case len(w.part.ISR()) < w.t.Config().MinInsyncReplicas(len(s.replicaSet(w.t.Name(), w.pn))):
			err = errNotEnoughReplicasAfterAppend
		}
		if err != nil {
			w.resp.ErrorCode, w.resp.ErrorMessage = errorCode(err), errorMessage(err)
			return
		}
		if !s.waitAny(ctx, nil, wake) {
			w.resp.ErrorCode = kerr.RequestTimedOut.Code
			if ctx.Err() == nil {
				w.resp.ErrorCode = kerr.NotLeaderForPartition.Code // shutting down
			}
			return
		}
	}
}

// replicaSet is a partition's replicas in the cluster state.
func (s *Server) replicaSet(topic string, p int32) []int32 {
	if t := s.cluster.State().Topics[topic]; t != nil && p >= 0 && int(p) < len(t.Partitions) {
		return t.Partitions[p].Replicas
	}
	return nil
}
