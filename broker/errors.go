package broker

// Where Go errors become Kafka error codes: the errors the handlers raise
// themselves, and the tables that map those and the sentinels of
// internal/partition, internal/commitlog and internal/group to the codes
// (and messages) clients understand. No other package sees a Kafka code.

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/pitwall/pitwall/broker/internal/cluster"
	"github.com/pitwall/pitwall/broker/internal/commitlog"
	"github.com/pitwall/pitwall/broker/internal/group"
	"github.com/pitwall/pitwall/broker/internal/partition"
)

// Errors the handlers raise themselves.
var (
	errMessageTooLarge      = errors.New("broker: record batch larger than max.message.bytes")
	errNotV2                = errors.New("broker: only record batch format v2 (magic 2) is stored")
	errTransactions         = errors.New("broker: transactions are not supported")
	errUnsupportedTimestamp = errors.New("broker: unsupported ListOffsets timestamp")
	errInternalTopic        = errors.New("broker: internal topic")
	// errNotCoordinator answers requests still waiting on a group when
	// the broker shuts down: the client finds the coordinator again
	// (after the restart) and carries on.
	errNotCoordinator = errors.New("broker: shutting down, find the coordinator again")
)

// codeTable maps errors to Kafka codes: the first entry err matches
// (errors.Is) gives the code.
type codeTable []struct {
	err  error
	code int16
}

func (t codeTable) code(err error, otherwise int16) int16 {
	if err == nil {
		return 0
	}
	for _, c := range t {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return otherwise
}

// dataCodes are the codes of the topic registry's, the partitions' and the
// logs' errors, and of the handlers' own.
var dataCodes = codeTable{
	{partition.ErrUnknownTopic, kerr.UnknownTopicOrPartition.Code},
	// Cluster mode (cluster.go).
	{errNotLeader, kerr.NotLeaderForPartition.Code},
	{errNotEnoughReplicas, kerr.NotEnoughReplicas.Code},
	{errNotCaughtUp, kerr.LeaderNotAvailable.Code},
	{errNotEnoughReplicasAfterAppend, kerr.NotEnoughReplicasAfterAppend.Code},
	{cluster.ErrTopicExists, kerr.TopicAlreadyExists.Code},
	{cluster.ErrReplicationFactor, kerr.InvalidReplicationFactor.Code},
	{cluster.ErrAssignment, kerr.InvalidReplicaAssignment.Code},
	{cluster.ErrNotController, kerr.NotController.Code},
	{cluster.ErrUnknownTopic, kerr.UnknownTopicOrPartition.Code},
	{cluster.ErrElectionNotNeeded, kerr.ElectionNotNeeded.Code},
	{cluster.ErrPreferredNotAvailable, kerr.PreferredLeaderNotAvailable.Code},
	{errEligibleLeadersNotAvailable, kerr.EligibleLeadersNotAvailable.Code},
	// A closed log belongs to a topic being deleted or a broker shutting
	// down: the client should refresh metadata and retry.
	{commitlog.ErrClosed, kerr.UnknownTopicOrPartition.Code},
	{partition.ErrTopicExists, kerr.TopicAlreadyExists.Code},
	{partition.ErrInvalidTopicName, kerr.InvalidTopicException.Code},
	{errInternalTopic, kerr.InvalidTopicException.Code},
	{partition.ErrInvalidPartitions, kerr.InvalidPartitions.Code},
	{partition.ErrInvalidConfig, kerr.InvalidConfig.Code},
	{errNotV2, kerr.UnsupportedForMessageFormat.Code},
	{errTransactions, kerr.InvalidRequest.Code},
	{errUnsupportedTimestamp, kerr.InvalidRequest.Code},
	{partition.ErrOutOfOrderSequence, kerr.OutOfOrderSequenceNumber.Code},
	{partition.ErrProducerFenced, kerr.InvalidProducerEpoch.Code},
	{errInvalidRecord, kerr.InvalidRecord.Code},
	{commitlog.ErrCorruptBatch, kerr.CorruptMessage.Code},
	{commitlog.ErrBatchTooLarge, kerr.MessageTooLarge.Code},
	{errMessageTooLarge, kerr.MessageTooLarge.Code},
	{commitlog.ErrOffsetOutOfRange, kerr.OffsetOutOfRange.Code},
	{errTopicAuthorization, kerr.TopicAuthorizationFailed.Code},
}

// errorCode maps an error from the topic registry, a partition or a log to
// the Kafka error code a client understands.
func errorCode(err error) int16 {
	// Anything else, ErrLogFailed and any I/O error included: the
	// partition's storage failed.
	return dataCodes.code(err, kerr.KafkaStorageError.Code)
}

// groupCodes are the codes of the group coordinator's errors.
var groupCodes = codeTable{
	{group.ErrInvalidGroupID, kerr.InvalidGroupID.Code},
	{group.ErrInvalidSessionTimeout, kerr.InvalidSessionTimeout.Code},
	{group.ErrUnknownMember, kerr.UnknownMemberID.Code},
	{group.ErrMemberIDRequired, kerr.MemberIDRequired.Code},
	{group.ErrIllegalGeneration, kerr.IllegalGeneration.Code},
	{group.ErrRebalanceInProgress, kerr.RebalanceInProgress.Code},
	{group.ErrInconsistentProtocol, kerr.InconsistentGroupProtocol.Code},
	{group.ErrFencedInstance, kerr.FencedInstanceID.Code},
	{group.ErrGroupNotFound, kerr.GroupIDNotFound.Code},
	{group.ErrNotEmpty, kerr.NonEmptyGroup.Code},
	{group.ErrSubscribedToTopic, kerr.GroupSubscribedToTopic.Code},
	{group.ErrMetadataTooLarge, kerr.OffsetMetadataTooLarge.Code},
	{group.ErrNotAvailable, kerr.CoordinatorNotAvailable.Code},
	{partition.ErrUnknownTopic, kerr.UnknownTopicOrPartition.Code},
	{errNotCoordinator, kerr.NotCoordinator.Code},
	// Cluster mode (cluster_groups.go).
	{errNotGroupCoordinator, kerr.NotCoordinator.Code},
	{errCoordinatorLoading, kerr.CoordinatorLoadInProgress.Code},
	{errGroupAuthorization, kerr.GroupAuthorizationFailed.Code},
	{errTopicAuthorization, kerr.TopicAuthorizationFailed.Code},
}

// groupErrorCode maps the coordinator's errors to Kafka's codes.
func groupErrorCode(err error) int16 {
	// Anything else: the store (__consumer_offsets) failed; clients retry.
	return groupCodes.code(err, kerr.CoordinatorNotAvailable.Code)
}

// errorMessage is err's text for the response fields that carry one, or
// nil.
func errorMessage(err error) *string {
	if err == nil {
		return nil
	}
	m := err.Error()
	return &m
}
