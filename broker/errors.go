package broker

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/pitwall/pitwall/broker/internal/commitlog"
	"github.com/pitwall/pitwall/broker/internal/partition"
)

// Errors the handlers raise themselves.
var (
	errMessageTooLarge      = errors.New("broker: record batch larger than max.message.bytes")
	errNotV2                = errors.New("broker: only record batch format v2 (magic 2) is stored")
	errTransactions         = errors.New("broker: transactions are not supported")
	errUnsupportedTimestamp = errors.New("broker: unsupported ListOffsets timestamp")
	errInternalTopic        = errors.New("broker: internal topic")
)

// errorCode maps an error from the topic registry or a log to the Kafka
// error code a client understands. This is the only place the two meet.
func errorCode(err error) int16 {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, partition.ErrUnknownTopic), errors.Is(err, commitlog.ErrClosed):
		// A closed log belongs to a topic being deleted or a broker
		// shutting down: the client should refresh metadata and retry.
		return kerr.UnknownTopicOrPartition.Code
	case errors.Is(err, partition.ErrTopicExists):
		return kerr.TopicAlreadyExists.Code
	case errors.Is(err, partition.ErrInvalidTopicName), errors.Is(err, errInternalTopic):
		return kerr.InvalidTopicException.Code
	case errors.Is(err, partition.ErrInvalidPartitions):
		return kerr.InvalidPartitions.Code
	case errors.Is(err, partition.ErrInvalidConfig):
		return kerr.InvalidConfig.Code
	case errors.Is(err, errNotV2):
		return kerr.UnsupportedForMessageFormat.Code
	case errors.Is(err, errTransactions), errors.Is(err, errUnsupportedTimestamp):
		return kerr.InvalidRequest.Code
	case errors.Is(err, partition.ErrOutOfOrderSequence):
		return kerr.OutOfOrderSequenceNumber.Code
	case errors.Is(err, partition.ErrProducerFenced):
		return kerr.InvalidProducerEpoch.Code
	case errors.Is(err, errInvalidRecord):
		return kerr.InvalidRecord.Code
	case errors.Is(err, commitlog.ErrCorruptBatch):
		return kerr.CorruptMessage.Code
	case errors.Is(err, commitlog.ErrBatchTooLarge), errors.Is(err, errMessageTooLarge):
		return kerr.MessageTooLarge.Code
	case errors.Is(err, commitlog.ErrOffsetOutOfRange):
		return kerr.OffsetOutOfRange.Code
	default:
		// ErrLogFailed and any I/O error: the partition's storage failed.
		return kerr.KafkaStorageError.Code
	}
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
