package broker_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/brokertest"
)

// storedBatch produces one record with franz-go and returns the batch as
// the broker stored it, a valid batch made by a real client.
func storedBatch(t *testing.T, cl *kgo.Client, topic string) []byte {
	t.Helper()
	ctx := context.Background()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: 0, Value: []byte("a real record")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	return fetchRaw(t, cl, topic, 0, 0)
}

func fetchRaw(t *testing.T, cl *kgo.Client, topic string, partition int32, offset int64) []byte {
	t.Helper()
	req := kmsg.NewPtrFetchRequest()
	req.MaxBytes = 1 << 20
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = topic
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.Partition, fp.FetchOffset, fp.PartitionMaxBytes = partition, offset, 1<<20
	ft.Partitions = append(ft.Partitions, fp)
	req.Topics = append(req.Topics, ft)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 {
		t.Fatalf("fetch: %v", kerr.ErrorForCode(p.ErrorCode))
	}
	return p.RecordBatches
}

func produceRaw(t *testing.T, cl *kgo.Client, acks int16, topic string, partition int32, records []byte) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = acks, 10000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = partition, records
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Topics[0].Partitions[0]
}

// TestProduceRefusesBadBatches: each kind of bad produce gets its own
// error code, nothing of it is stored, and the partition carries on. (kgo
// always sends its own acks, so bad acks are tested on the wire in
// wire_test.go.)
func TestProduceRefusesBadBatches(t *testing.T) {
	b := brokertest.Start(t)
	// Not idempotent: re-sending the good batch must append it again.
	cl := newKgo(t, b.Addr, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.DisableIdempotentWrite())
	mustCreate(t, cl, "raw", 2, nil)
	mustCreate(t, cl, "small", 1, map[string]string{"max.message.bytes": "16"})
	good := storedBatch(t, cl, "raw")

	flipped := bytes.Clone(good)
	flipped[len(flipped)-3] ^= 0xff
	oldMagic := bytes.Clone(good)
	oldMagic[16] = 1
	truncated := good[:len(good)-5]
	for _, c := range []struct {
		name      string
		acks      int16
		topic     string
		partition int32
		records   []byte
		code      int16
	}{
		{"crc mismatch", -1, "raw", 0, flipped, kerr.CorruptMessage.Code},
		{"truncated", -1, "raw", 0, truncated, kerr.InvalidRecord.Code},
		{"two batches", -1, "raw", 0, append(bytes.Clone(good), good...), kerr.InvalidRecord.Code},
		{"magic 1", -1, "raw", 0, oldMagic, kerr.UnsupportedForMessageFormat.Code},
		{"garbage", 1, "raw", 0, []byte("not a batch"), kerr.CorruptMessage.Code},
		{"too large for topic", -1, "small", 0, good, kerr.MessageTooLarge.Code},
		{"no such partition", -1, "raw", 7, good, kerr.UnknownTopicOrPartition.Code},
	} {
		if got := produceRaw(t, cl, c.acks, c.topic, c.partition, c.records); got.ErrorCode != c.code {
			t.Errorf("%s: %v, want %v", c.name, kerr.ErrorForCode(got.ErrorCode), kerr.ErrorForCode(c.code))
		}
	}
	// Nothing was stored; the same good batch appends at offset 1.
	if got := produceRaw(t, cl, -1, "raw", 0, good); got.ErrorCode != 0 || got.BaseOffset != 1 {
		t.Fatalf("good batch after the bad ones: %v at offset %d", kerr.ErrorForCode(got.ErrorCode), got.BaseOffset)
	}
	if n := len(fetchRaw(t, cl, "raw", 0, 0)); n != 2*len(good) {
		t.Fatalf("partition holds %d bytes, want two batches of %d", n, len(good))
	}
}

// removeAll removes every file named name under dir.
func removeAll(t *testing.T, dir, name string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == name {
			err = os.Remove(path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
