package group

import (
	"errors"
	"time"
)

// State is a group's place in the classic rebalance protocol. String gives
// Kafka's names, which DescribeGroups and ListGroups report.
type State int

const (
	// Empty: no members. The group may still hold committed offsets.
	Empty State = iota
	// PreparingRebalance: waiting for every member to (re)join.
	PreparingRebalance
	// CompletingRebalance: joins answered, waiting for the leader's
	// assignment in SyncGroup.
	CompletingRebalance
	// Stable: every member has its assignment and heartbeats.
	Stable
	// Dead: the group is being removed; it accepts nothing.
	Dead
)

func (s State) String() string {
	switch s {
	case Empty:
		return "Empty"
	case PreparingRebalance:
		return "PreparingRebalance"
	case CompletingRebalance:
		return "CompletingRebalance"
	case Stable:
		return "Stable"
	case Dead:
		return "Dead"
	}
	return "Unknown"
}

// Errors the coordinator answers with. The broker maps each to its Kafka
// error code; nothing in this package knows the codes.
var (
	ErrInvalidGroupID        = errors.New("group: invalid group id")
	ErrInvalidSessionTimeout = errors.New("group: session timeout outside the broker's limits")
	ErrUnknownMember         = errors.New("group: unknown member id")
	ErrMemberIDRequired      = errors.New("group: member id required: rejoin with the id given")
	ErrIllegalGeneration     = errors.New("group: illegal generation")
	ErrRebalanceInProgress   = errors.New("group: rebalance in progress")
	ErrInconsistentProtocol  = errors.New("group: inconsistent group protocol")
	ErrFencedInstance        = errors.New("group: static member fenced by a newer instance with the same group.instance.id")
	ErrGroupNotFound         = errors.New("group: group not found")
	ErrNotEmpty              = errors.New("group: group is not empty")
	ErrSubscribedToTopic     = errors.New("group: group is subscribed to the topic")
	ErrMetadataTooLarge      = errors.New("group: offset metadata too large")
	// ErrNotAvailable: the group is being removed, the coordinator is
	// closing, or the group's state could not be stored. Clients retry.
	ErrNotAvailable = errors.New("group: coordinator not available")
)

// Protocol is one assignment protocol a member supports, with its metadata
// (for "consumer" groups a ConsumerMemberMetadata: the subscription).
type Protocol struct {
	Name     string
	Metadata []byte
}

// JoinRequest is a JoinGroup.
type JoinRequest struct {
	Group      string
	MemberID   string // "" for a member joining for the first time
	InstanceID string // group.instance.id of a static member; "" for dynamic
	ClientID   string
	ClientHost string
	// SessionTimeout must lie within Config's bounds.
	SessionTimeout time.Duration
	// RebalanceTimeout bounds how long a rebalance waits for this member.
	RebalanceTimeout time.Duration
	ProtocolType     string
	Protocols        []Protocol
	// RequireKnownMemberID (JoinGroup v4+): a dynamic member joining
	// without an id gets ErrMemberIDRequired and an id to rejoin with.
	RequireKnownMemberID bool
	// SupportsSkipAssignment (JoinGroup v9+, KIP-814): a static leader
	// rejoining a stable group may be told to skip assigning.
	SupportsSkipAssignment bool
}

// JoinResult answers a JoinRequest.
type JoinResult struct {
	Err            error
	MemberID       string
	Generation     int32
	ProtocolType   string
	Protocol       string
	Leader         string
	SkipAssignment bool
	// Members is every member's metadata for the selected protocol; only
	// the leader gets it.
	Members []MemberMetadata
}

// MemberMetadata is one member's metadata as the leader sees it.
type MemberMetadata struct {
	MemberID   string
	InstanceID string
	Metadata   []byte
}

// SyncRequest is a SyncGroup. Only the leader's Assignments are used.
type SyncRequest struct {
	Group        string
	Generation   int32
	MemberID     string
	InstanceID   string
	ProtocolType *string // v5+: checked when set
	Protocol     *string // v5+: checked when set
	Assignments  []Assignment
}

// Assignment is what the leader assigns one member.
type Assignment struct {
	MemberID string
	Data     []byte
}

// SyncResult answers a SyncRequest.
type SyncResult struct {
	Err          error
	ProtocolType string
	Protocol     string
	Assignment   []byte
}

// HeartbeatRequest is a Heartbeat.
type HeartbeatRequest struct {
	Group      string
	Generation int32
	MemberID   string
	InstanceID string
}

// MemberIdentity names a member leaving: by member id, or (static members,
// LeaveGroup v3+) by instance id with an empty member id.
type MemberIdentity struct {
	MemberID   string
	InstanceID string
}

// TopicPartition names one partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// Offset is a committed position.
type Offset struct {
	Offset      int64
	LeaderEpoch int32 // -1 when the client sent none
	Metadata    string
	// CommitTime is when the commit was made (the client's v1
	// timestamp, or the broker's clock).
	CommitTime time.Time
}

// PartitionOffset is a committed offset of one partition; Offset -1 when
// nothing is committed.
type PartitionOffset struct {
	TopicPartition
	Offset
}

// CommitRequest is an OffsetCommit. Generation < 0 with an empty MemberID
// commits for a group that does not use group management, which Kafka
// allows only while the group has no members.
type CommitRequest struct {
	Group      string
	Generation int32
	MemberID   string
	InstanceID string
	Offsets    []PartitionOffset
}

// CommitResult answers a CommitRequest: Err for the whole request, or one
// error (nil: stored) per offset, in request order.
type CommitResult struct {
	Err  error
	Errs []error
}

// Description is what DescribeGroups reports.
type Description struct {
	Group        string
	State        State
	ProtocolType string
	Protocol     string // only when Stable
	Members      []MemberDescription
}

// MemberDescription is one member of a described group. Metadata and
// Assignment are set only when the group is Stable, as Kafka does.
type MemberDescription struct {
	MemberID   string
	InstanceID string
	ClientID   string
	ClientHost string
	Metadata   []byte
	Assignment []byte
}

// Listing is one group as ListGroups reports it.
type Listing struct {
	Group        string
	ProtocolType string
	State        State
}

// DeleteOffsetsResult answers DeleteOffsets: Err for the whole group, or
// one error per partition in request order.
type DeleteOffsetsResult struct {
	Err  error
	Errs []error
}
