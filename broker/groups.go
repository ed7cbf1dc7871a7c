package broker

// The offsets store: the group coordinator (broker/internal/group) keeps
// its state in the internal topic __consumer_offsets, through the broker's
// own logs, in Kafka's record layouts, so Kafka's tools can read the topic:
//
//   - A group's records all go to one partition, chosen as Kafka does
//     (Java's String.hashCode of the group id, modulo the partition count),
//     so replaying that partition in order leaves each key's last value.
//   - The topic is created on first use with cleanup.policy=compact and no
//     time or size retention: committed offsets must never age out of it.
//   - At startup every partition is read back to the high watermark and
//     replayed into the coordinator before the broker accepts clients.
//   - In cluster mode (cluster_groups.go) none of that happens at start:
//     each partition is replayed into a coordinator of its own when this
//     broker becomes its leader, and written through the leader only.
//
// Kafka error codes for the coordinator's errors are chosen in errors.go.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
	"time"
	"unicode/utf16"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/internal/commitlog"
	"github.com/pitwall/pitwall/broker/internal/group"
	"github.com/pitwall/pitwall/broker/internal/partition"
)

const (
	offsetsTopic = "__consumer_offsets"
	// offsetsTopicPartitions is the partition count __consumer_offsets is
	// created with (Kafka's default is 50; one node needs fewer logs). An
	// existing topic keeps its count, which group placement depends on.
	offsetsTopicPartitions = 12
	// offsetsSegmentBytes is Kafka's offsets.topic.segment.bytes: small
	// segments let compaction reclaim space early.
	offsetsSegmentBytes = 100 << 20
)

// offsetsTopicConfigs are __consumer_offsets' own configs.
var offsetsTopicConfigs = map[string]string{
	"cleanup.policy":  "compact",
	"retention.ms":    "-1",
	"retention.bytes": "-1",
	"segment.bytes":   strconv.Itoa(offsetsSegmentBytes),
}

// startGroups replays __consumer_offsets and starts the coordinator. In
// cluster mode the coordinators are per partition, loaded as this broker
// becomes its leader (cluster_groups.go).
func (s *Server) startGroups() error {
	if s.cfg.Voters != "" {
		s.cgroups = newClusterGroups(s)
		return nil
	}
	r := group.NewReplayer()
	if t := s.topics.Lookup(offsetsTopic); t != nil {
		for i := range int32(t.NumPartitions()) {
			p, err := t.Partition(i) // opened now if the background opening has not come to it
			if err == nil {
				err = s.replayOffsets(p.Log(), r)
			}
			if err != nil {
				return fmt.Errorf("broker: replaying %s partition %d: %w", offsetsTopic, i, err)
			}
		}
	}
	c, err := group.New(group.Config{InitialRebalanceDelay: s.cfg.GroupInitialRebalanceDelay, Logger: s.log}, &offsetsStore{s: s}, r)
	if err != nil {
		return err
	}
	s.groups = c
	return nil
}

// replayOffsets feeds every record of one partition to r, in order.
// Records that cannot be decoded are skipped and reported.
func (s *Server) replayOffsets(l *commitlog.Log, r *group.Replayer) error {
	off, hw := l.StartOffset(), l.HighWatermark()
	var buf []byte
	for off < hw {
		var err error
		if buf, err = l.Read(off, 1<<20, buf[:0]); err != nil {
			return err
		}
		if len(buf) == 0 {
			return nil
		}
		for b := buf; len(b) > 0; {
			h, err := commitlog.ParseBatchHeader(b)
			if err != nil || h.Size() > len(b) {
				return fmt.Errorf("batch at offset %d: %v", off, err)
			}
			s.replayBatch(b[:h.Size()], h, off, r)
			off = max(off, h.LastOffset()+1)
			b = b[h.Size():]
		}
	}
	return nil
}

// replayBatch applies the records of one batch at or after offset from.
func (s *Server) replayBatch(b []byte, h commitlog.BatchHeader, from int64, r *group.Replayer) {
	switch {
	case h.Attributes&attrControl != 0:
		return
	case h.Attributes&0x7 != 0:
		// The coordinator never compresses; someone produced here.
		s.bad.report("consumer_offsets_record", errors.New("compressed batch in "+offsetsTopic+" skipped"), "offset", h.BaseOffset)
		return
	}
	recs := b[61:]
	for i := int32(0); i < h.NumRecords && len(recs) > 0; i++ {
		n, k := binary.Varint(recs)
		if k <= 0 || n < 0 || n > int64(len(recs)-k) {
			s.bad.report("consumer_offsets_record", fmt.Errorf("record length at batch %d record %d", h.BaseOffset, i))
			return
		}
		var rec kmsg.Record
		err := rec.ReadFrom(recs[:k+int(n)])
		recs = recs[k+int(n):]
		if err != nil {
			s.bad.report("consumer_offsets_record", fmt.Errorf("batch %d record %d: %w", h.BaseOffset, i, err))
			return
		}
		if h.BaseOffset+int64(rec.OffsetDelta) < from {
			continue
		}
		if err := r.Apply(rec.Key, rec.Value); err != nil {
			kind := "consumer_offsets_record"
			if errors.Is(err, group.ErrUnknownRecord) {
				kind = "consumer_offsets_unknown_record"
			}
			s.bad.report(kind, err, "offset", h.BaseOffset+int64(rec.OffsetDelta))
		}
	}
}

// offsetsStore is the coordinator's group.Store: appends to
// __consumer_offsets, durable once the partition's log has synced them.
type offsetsStore struct {
	s *Server
}

func (st *offsetsStore) Append(groupID string, recs []group.Record) (func(context.Context) error, error) {
	t, err := st.s.offsetsTopic()
	if err != nil {
		return nil, err
	}
	// The coordinator's batches carry no producer id: straight to the log.
	p, err := t.Partition(int32(offsetsPartition(groupID, t.NumPartitions())))
	if err != nil {
		return nil, err
	}
	l := p.Log()
	_, last, err := l.Append(offsetsBatch(recs, time.Now()), 0)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return l.Sync(ctx, last+1) }, nil
}

// offsetsTopic returns __consumer_offsets, creating it on first use (as
// Kafka does), so a broker whose clients never use groups has no such
// topic. It is created compacted and kept forever, never with the
// defaults, which would age offsets out.
func (s *Server) offsetsTopic() (*partition.Topic, error) {
	n := min(offsetsTopicPartitions, s.cfg.MaxPartitions)
	return s.topics.Ensure(offsetsTopic, int32(n), offsetsTopicConfigs)
}

// offsetsPartition is Kafka's partitionFor: abs(groupId.hashCode) % n,
// with Java's String.hashCode over UTF-16 code units.
func offsetsPartition(groupID string, n int) int {
	var h int32
	for _, u := range utf16.Encode([]rune(groupID)) {
		h = 31*h + int32(u)
	}
	return int(h&0x7fffffff) % n
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// offsetsBatch encodes recs as one uncompressed record batch v2 with no
// producer id, as Kafka's coordinator writes them.
func offsetsBatch(recs []group.Record, now time.Time) []byte {
	var body []byte
	for i, r := range recs {
		kr := kmsg.Record{OffsetDelta: int32(i), Key: r.Key, Value: r.Value}
		enc := kr.AppendTo(nil)[1:] // without the length (a one-byte 0)
		body = binary.AppendVarint(body, int64(len(enc)))
		body = append(body, enc...)
	}
	ts := now.UnixMilli()
	rb := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1, Magic: 2, LastOffsetDelta: int32(len(recs) - 1),
		FirstTimestamp: ts, MaxTimestamp: ts, ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1,
		NumRecords: int32(len(recs)), Records: body,
	}
	b := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], castagnoli))
	return b
}
