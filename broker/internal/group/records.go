package group

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// The coordinator's records use Kafka's own __consumer_offsets layouts, so
// Kafka's tools (and kmsg) can read the topic:
//
//	key version 0 or 1: OffsetCommitKey{group, topic, partition}
//	                    value OffsetCommitValue (written as version 3)
//	key version 2:      GroupMetadataKey{group}
//	                    value GroupMetadataValue (written as version 3)
//
// A nil value is a tombstone: the key is deleted. Replaying a group's
// records in log order and keeping the last value of each key rebuilds the
// group, so the log may be compacted.

// Record layout versions written.
const (
	offsetKeyVersion   = 1
	offsetValueVersion = 3
	groupKeyVersion    = 2
	groupValueVersion  = 3
)

// Errors of Replayer.Apply.
var (
	ErrBadRecord     = errors.New("group: malformed __consumer_offsets record")
	ErrUnknownRecord = errors.New("group: unknown __consumer_offsets record type")
)

func offsetKey(group string, tp TopicPartition) []byte {
	k := kmsg.OffsetCommitKey{Version: offsetKeyVersion, Group: group, Topic: tp.Topic, Partition: tp.Partition}
	return k.AppendTo(nil)
}

func offsetRecord(group string, o PartitionOffset) Record {
	v := kmsg.OffsetCommitValue{
		Version:         offsetValueVersion,
		Offset:          o.Offset.Offset,
		LeaderEpoch:     o.LeaderEpoch,
		Metadata:        o.Metadata,
		CommitTimestamp: o.CommitTime.UnixMilli(),
	}
	return Record{Key: offsetKey(group, o.TopicPartition), Value: v.AppendTo(nil)}
}

func groupKey(group string) []byte {
	k := kmsg.GroupMetadataKey{Version: groupKeyVersion, Group: group}
	return k.AppendTo(nil)
}

// groupRecord is the group's metadata as it stands: generation, protocol,
// leader and members with their subscriptions and assignments.
func (g *group) groupRecord() Record {
	v := kmsg.GroupMetadataValue{
		Version:               groupValueVersion,
		ProtocolType:          g.protocolType,
		Generation:            g.generation,
		Protocol:              optional(g.protocol),
		Leader:                optional(g.leader),
		CurrentStateTimestamp: g.stateSince.UnixMilli(),
	}
	if g.protocol != "" {
		for _, m := range g.order {
			vm := kmsg.NewGroupMetadataValueMember()
			vm.MemberID, vm.InstanceID = m.id, optional(m.instanceID)
			vm.ClientID, vm.ClientHost = m.clientID, m.clientHost
			vm.RebalanceTimeoutMillis = int32(m.rebalanceTimeout.Milliseconds())
			vm.SessionTimeoutMillis = int32(m.sessionTimeout.Milliseconds())
			vm.Subscription = m.metadataFor(g.protocol)
			vm.Assignment = m.assignment
			v.Members = append(v.Members, vm)
		}
	}
	return Record{Key: groupKey(g.id), Value: v.AppendTo(nil)}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Replayer rebuilds the coordinator's state from its records, applied in
// log order. New starts a coordinator from it.
type Replayer struct {
	groups map[string]*snapshot
}

// snapshot is what replay knows of one group.
type snapshot struct {
	meta    *kmsg.GroupMetadataValue // nil: none stored
	offsets map[TopicPartition]Offset
}

// NewReplayer returns an empty Replayer.
func NewReplayer() *Replayer { return &Replayer{groups: map[string]*snapshot{}} }

func (r *Replayer) group(id string) *snapshot {
	s := r.groups[id]
	if s == nil {
		s = &snapshot{offsets: map[TopicPartition]Offset{}}
		r.groups[id] = s
	}
	return s
}

// Apply applies one record: a value replaces the key's previous one, a nil
// value deletes it. It fails with ErrBadRecord for bytes it cannot decode
// and ErrUnknownRecord for record types it does not keep (such as Kafka's
// KIP-848 consumer group records); either way the state is unchanged.
func (r *Replayer) Apply(key, value []byte) error {
	if len(key) < 2 {
		return fmt.Errorf("%w: key of %d bytes", ErrBadRecord, len(key))
	}
	switch v := int16(binary.BigEndian.Uint16(key)); v {
	case 0, 1:
		return r.applyOffset(key, value)
	case 2:
		return r.applyGroup(key, value)
	default:
		return fmt.Errorf("%w: key version %d", ErrUnknownRecord, v)
	}
}

func (r *Replayer) applyOffset(key, value []byte) error {
	var k kmsg.OffsetCommitKey
	if err := k.ReadFrom(key); err != nil {
		return fmt.Errorf("%w: offset key: %v", ErrBadRecord, err)
	}
	tp := TopicPartition{Topic: k.Topic, Partition: k.Partition}
	if value == nil {
		if s := r.groups[k.Group]; s != nil {
			delete(s.offsets, tp)
		}
		return nil
	}
	var v kmsg.OffsetCommitValue
	if err := v.ReadFrom(value); err != nil || v.Version < 0 || v.Version > 4 {
		return fmt.Errorf("%w: offset value (version %d): %v", ErrBadRecord, v.Version, err)
	}
	if v.Version < 3 {
		v.LeaderEpoch = -1
	}
	r.group(k.Group).offsets[tp] = Offset{
		Offset: v.Offset, LeaderEpoch: v.LeaderEpoch, Metadata: v.Metadata, CommitTime: time.UnixMilli(v.CommitTimestamp),
	}
	return nil
}

func (r *Replayer) applyGroup(key, value []byte) error {
	var k kmsg.GroupMetadataKey
	if err := k.ReadFrom(key); err != nil {
		return fmt.Errorf("%w: group key: %v", ErrBadRecord, err)
	}
	if value == nil {
		// Offsets outlive the metadata's tombstone, as in Kafka.
		if s := r.groups[k.Group]; s != nil {
			s.meta = nil
		}
		return nil
	}
	v := new(kmsg.GroupMetadataValue)
	if err := v.ReadFrom(value); err != nil || v.Version < 0 || v.Version > 4 {
		return fmt.Errorf("%w: group value (version %d): %v", ErrBadRecord, v.Version, err)
	}
	r.group(k.Group).meta = v
	return nil
}

// restore sets up a group from its replayed snapshot: Stable with its
// members if it had any (their sessions start now, so members that are
// still alive carry on heartbeating), Empty otherwise.
func (g *group) restore(s *snapshot, now time.Time) {
	for tp, o := range s.offsets {
		g.offsets[tp] = o
	}
	g.state, g.stateSince = Empty, now
	v := s.meta
	if v == nil {
		return
	}
	g.stored = true
	g.protocolType, g.generation = v.ProtocolType, v.Generation
	if v.CurrentStateTimestamp > 0 {
		g.stateSince = time.UnixMilli(v.CurrentStateTimestamp)
	}
	if v.Protocol == nil || *v.Protocol == "" {
		return
	}
	for _, vm := range v.Members {
		if vm.MemberID == "" || g.members[vm.MemberID] != nil {
			continue
		}
		m := &member{
			id: vm.MemberID, clientID: vm.ClientID, clientHost: vm.ClientHost,
			sessionTimeout:   min(max(time.Duration(vm.SessionTimeoutMillis)*time.Millisecond, g.c.cfg.MinSessionTimeout), g.c.cfg.MaxSessionTimeout),
			rebalanceTimeout: time.Duration(vm.RebalanceTimeoutMillis) * time.Millisecond,
			protocols:        []Protocol{{Name: *v.Protocol, Metadata: vm.Subscription}},
			assignment:       vm.Assignment,
		}
		if m.rebalanceTimeout <= 0 {
			m.rebalanceTimeout = m.sessionTimeout
		}
		if vm.InstanceID != nil && *vm.InstanceID != "" && g.static[*vm.InstanceID] == "" {
			m.instanceID = *vm.InstanceID
			g.static[m.instanceID] = m.id
		}
		m.deadline = now.Add(m.sessionTimeout)
		g.members[m.id] = m
		g.order = append(g.order, m)
	}
	if len(g.order) == 0 {
		return
	}
	g.protocol, g.leader, g.state = *v.Protocol, g.order[0].id, Stable
	if v.Leader != nil && g.members[*v.Leader] != nil {
		g.leader = *v.Leader
	}
}
