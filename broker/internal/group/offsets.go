package group

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Committed offsets and the requests that read or remove group state.
// Every function here runs on the group's goroutine.

// commit handles an OffsetCommit with Kafka's checks: a group without
// members takes commits from anyone who does not claim a generation; a
// group with members only from a current member of the current
// generation, and not between the join and sync phases of a rebalance.
func (g *group) commit(req CommitRequest, reply chan<- CommitResult) {
	fail := func(err error) { reply <- CommitResult{Err: err} }
	switch {
	case g.state == Dead:
		fail(ErrNotAvailable)
		return
	case g.fenced(req.MemberID, req.InstanceID):
		fail(ErrFencedInstance)
		return
	case req.Generation < 0 && g.state == Empty:
	default:
		m := g.members[req.MemberID]
		switch {
		case m == nil:
			fail(ErrUnknownMember)
			return
		case req.Generation != g.generation:
			fail(ErrIllegalGeneration)
			return
		case g.state == CompletingRebalance:
			fail(ErrRebalanceInProgress)
			return
		}
		// Stable, or PreparingRebalance: members commit what they
		// consumed before they rejoin.
		g.touch(m)
	}
	g.storeOffsets(req.Offsets, reply)
}

// storeOffsets writes offsets and answers once they are durable; only then
// do they become what FetchOffsets returns.
func (g *group) storeOffsets(offs []PartitionOffset, reply chan<- CommitResult) {
	errs := make([]error, len(offs))
	var recs []Record
	var keep []int
	now := time.Now()
	for i := range offs {
		o := &offs[i]
		if len(o.Metadata) > g.c.cfg.MaxMetadataBytes {
			errs[i] = ErrMetadataTooLarge
			continue
		}
		if o.CommitTime.IsZero() {
			o.CommitTime = now
		}
		recs = append(recs, offsetRecord(g.id, *o))
		keep = append(keep, i)
	}
	if len(recs) == 0 {
		reply <- CommitResult{Errs: errs}
		return
	}
	g.persist(recs, func(err error) {
		for _, i := range keep {
			if err != nil {
				errs[i] = fmt.Errorf("%w: %v", ErrNotAvailable, err)
				continue
			}
			g.offsets[offs[i].TopicPartition] = offs[i].Offset
		}
		reply <- CommitResult{Errs: errs}
	})
}

// fetch returns the committed offsets of parts, or all of them (sorted)
// when parts is nil.
func (g *group) fetch(parts []TopicPartition) []PartitionOffset {
	if parts == nil {
		out := make([]PartitionOffset, 0, len(g.offsets))
		for tp, o := range g.offsets {
			out = append(out, PartitionOffset{TopicPartition: tp, Offset: o})
		}
		slices.SortFunc(out, func(a, b PartitionOffset) int { return compareTP(a.TopicPartition, b.TopicPartition) })
		return out
	}
	out := noOffsets(parts)
	for i, tp := range parts {
		if o, ok := g.offsets[tp]; ok {
			out[i].Offset = o
		}
	}
	return out
}

func compareTP(a, b TopicPartition) int {
	if c := cmp.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	return cmp.Compare(a.Partition, b.Partition)
}

// describe reports the group as DescribeGroups shows it.
func (g *group) describe() Description {
	d := Description{Group: g.id, State: g.state, ProtocolType: g.protocolType}
	if g.state == Stable {
		d.Protocol = g.protocol
	}
	for _, m := range g.order {
		md := MemberDescription{MemberID: m.id, InstanceID: m.instanceID, ClientID: m.clientID, ClientHost: m.clientHost}
		if g.state == Stable {
			md.Metadata = m.metadataFor(g.protocol)
			md.Assignment = g.assignmentOrEmpty(m.assignment)
		}
		d.Members = append(d.Members, md)
	}
	return d
}

// delete removes an Empty group with its offsets (DeleteGroups).
func (g *group) delete(reply chan<- error) {
	switch g.state {
	case Dead:
		reply <- ErrGroupNotFound
		return
	case Empty:
	default:
		reply <- ErrNotEmpty
		return
	}
	recs := make([]Record, 0, len(g.offsets)+1)
	for _, tp := range sortedKeys(g.offsets) {
		recs = append(recs, Record{Key: offsetKey(g.id, tp)})
	}
	recs = append(recs, Record{Key: groupKey(g.id)})
	clear(g.offsets)
	g.setState(Dead)
	g.persist(recs, func(err error) {
		if err != nil {
			reply <- fmt.Errorf("%w: %v", ErrNotAvailable, err)
			return
		}
		reply <- nil
	})
}

// deleteOffsets removes committed offsets (OffsetDelete): any of an Empty
// group, and of an active consumer group only those of topics it is not
// subscribed to.
func (g *group) deleteOffsets(parts []TopicPartition, reply chan<- DeleteOffsetsResult) {
	subscribed := func(string) bool { return false }
	switch {
	case g.state == Dead:
		reply <- DeleteOffsetsResult{Err: ErrGroupNotFound}
		return
	case g.state == Empty:
	case g.protocolType == "consumer":
		if topics, ok := g.subscribedTopics(); ok {
			subscribed = func(t string) bool { return topics[t] }
		} else {
			subscribed = func(string) bool { return true }
		}
	default:
		reply <- DeleteOffsetsResult{Err: ErrNotEmpty}
		return
	}
	errs := make([]error, len(parts))
	var recs []Record
	var gone []TopicPartition
	for i, tp := range parts {
		if subscribed(tp.Topic) {
			errs[i] = ErrSubscribedToTopic
			continue
		}
		if _, ok := g.offsets[tp]; ok {
			recs = append(recs, Record{Key: offsetKey(g.id, tp)})
			gone = append(gone, tp)
		}
	}
	if len(recs) == 0 {
		reply <- DeleteOffsetsResult{Errs: errs}
		return
	}
	g.persist(recs, func(err error) {
		if err != nil {
			reply <- DeleteOffsetsResult{Err: fmt.Errorf("%w: %v", ErrNotAvailable, err)}
			return
		}
		for _, tp := range gone {
			delete(g.offsets, tp)
		}
		reply <- DeleteOffsetsResult{Errs: errs}
	})
}

// subscribedTopics returns the topics the members of a consumer group
// subscribe to, from their ConsumerMemberMetadata; ok is false when a
// member's metadata cannot be read (then every topic counts as subscribed).
func (g *group) subscribedTopics() (topics map[string]bool, ok bool) {
	topics = map[string]bool{}
	for _, m := range g.order {
		var md kmsg.ConsumerMemberMetadata
		if err := md.ReadFrom(m.metadataFor(g.protocol)); err != nil {
			return nil, false
		}
		for _, t := range md.Topics {
			topics[t] = true
		}
	}
	return topics, true
}

func sortedKeys(m map[TopicPartition]Offset) []TopicPartition {
	keys := make([]TopicPartition, 0, len(m))
	for tp := range m {
		keys = append(keys, tp)
	}
	slices.SortFunc(keys, compareTP)
	return keys
}

// expiryDeadline is when the next committed offsets of an Empty group
// expire, or zero.
func (g *group) expiryDeadline() time.Time {
	ret := g.c.cfg.OffsetsRetention
	if g.state != Empty || ret < 0 || len(g.offsets) == 0 {
		return time.Time{}
	}
	if g.protocolType != "" {
		return g.stateSince.Add(ret)
	}
	var first time.Time
	for _, o := range g.offsets {
		if first.IsZero() || o.CommitTime.Before(first) {
			first = o.CommitTime
		}
	}
	return first.Add(ret)
}

// expireOffsets removes the offsets whose retention has passed (KIP-211):
// all of them for a group that used group management, counted from when it
// became Empty; per commit otherwise.
func (g *group) expireOffsets(now time.Time) {
	d := g.expiryDeadline()
	if d.IsZero() || d.After(now) {
		return
	}
	var recs []Record
	for _, tp := range sortedKeys(g.offsets) {
		if g.protocolType == "" && g.offsets[tp].CommitTime.Add(g.c.cfg.OffsetsRetention).After(now) {
			continue
		}
		delete(g.offsets, tp)
		recs = append(recs, Record{Key: offsetKey(g.id, tp)})
	}
	g.c.log.Info("group: committed offsets expired", "group", g.id, "offsets", len(recs))
	g.write(recs)
}
