package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The raw producer (--client raw) measures what a broker can take rather
// than what a client can make: it encodes one record batch per partition
// once, then sends it again and again in pipelined Produce requests, so its
// own cost per record is close to nothing. Each request carries one
// partition's batch; the broker assigns offsets as for any producer (the
// batch CRC does not cover the base offset), so the log holds real,
// readable records. Latency is per request, counted once per record in it.
const (
	rawBatchBytes      = 256 << 10 // per batch (and request), like a busy client's
	rawInFlight        = 5         // requests in flight per connection, as kgo allows
	rawProduceVersion  = 7         // non-flexible; served by Kafka 2.1 to 4.x, kfake and Pitwall
	rawRequestTimeout  = 30 * time.Second
	rawResponseMaxSize = 16 << 20
)

// rawConn is one connection of the raw producer and the partitions of its
// leader it writes to, in turn.
type rawConn struct {
	addr  string
	parts []int32
}

// runProduceRaw is runProduce with the raw producer.
func runProduceRaw(ctx context.Context, cfg Config, admin *kgo.Client) (phase, error) {
	conns, err := rawConns(ctx, cfg, admin)
	if err != nil {
		return phase{}, err
	}
	perBatch := max(rawBatchBytes/cfg.RecordSize, 1)
	batch := rawBatch(perBatch, cfg.RecordSize, time.Now())
	acks := int16(-1)
	if cfg.Acks == "1" {
		acks = 1
	}
	run := &produceRun{limit: cfg.Records}
	if cfg.Duration > 0 && cfg.Records == 0 {
		t := time.AfterFunc(cfg.Duration, func() { run.stopped.Store(true) })
		defer t.Stop()
	}
	hists := make([]histogram, len(conns))
	start := time.Now()
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() {
			if err := c.produce(ctx, cfg.Topic, acks, batch, perBatch, cfg.RecordSize, run, &hists[i]); err != nil {
				run.fail(err)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if run.err != nil {
		return phase{}, fmt.Errorf("bench: raw produce: %w", run.err)
	}
	if err := ctx.Err(); err != nil {
		return phase{}, err
	}
	res := phase{elapsed: elapsed, latency: new(histogram)}
	for i := range hists {
		res.latency.merge(&hists[i])
	}
	res.records = int64(res.latency.Count())
	res.bytes = res.records * int64(cfg.RecordSize)
	return res, nil
}

// rawConns asks for the topic's partition leaders and opens cfg.Clients
// connections to each leader, sharing its partitions out among them.
func rawConns(ctx context.Context, cfg Config, admin *kgo.Client) ([]rawConn, error) {
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(cfg.Topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, admin)
	if err != nil {
		return nil, fmt.Errorf("bench: raw producer metadata: %w", err)
	}
	addrs := map[int32]string{}
	for _, b := range resp.Brokers {
		addrs[b.NodeID] = net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))
	}
	if len(resp.Topics) != 1 {
		return nil, fmt.Errorf("bench: raw producer metadata: %d topics", len(resp.Topics))
	}
	byLeader := map[int32][]int32{}
	var leaders []int32
	for _, p := range resp.Topics[0].Partitions {
		if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
			return nil, fmt.Errorf("bench: raw producer metadata: partition %d: %w", p.Partition, err)
		}
		if _, ok := addrs[p.Leader]; !ok {
			return nil, fmt.Errorf("bench: raw producer metadata: partition %d has no known leader", p.Partition)
		}
		if byLeader[p.Leader] == nil {
			leaders = append(leaders, p.Leader)
		}
		byLeader[p.Leader] = append(byLeader[p.Leader], p.Partition)
	}
	var conns []rawConn
	for _, l := range leaders {
		parts := byLeader[l]
		n := min(cfg.Clients, len(parts))
		for i := range n {
			c := rawConn{addr: addrs[l]}
			for j := i; j < len(parts); j += n {
				c.parts = append(c.parts, parts[j])
			}
			conns = append(conns, c)
		}
	}
	return conns, nil
}

// produce sends the batch to c's partitions in turn, rawInFlight requests
// at a time, until run says stop, and waits for every answer.
func (c *rawConn) produce(ctx context.Context, topic string, acks int16, batch []byte, perBatch, recordSize int, run *produceRun, h *histogram) error {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	f := kmsg.NewRequestFormatter(kmsg.FormatterClientID("pitwall-bench-raw"))
	encode := func(partition int32, batch []byte) []byte {
		r := kmsg.NewPtrProduceRequest()
		r.Version = rawProduceVersion
		r.Acks = acks
		r.TimeoutMillis = int32(rawRequestTimeout / time.Millisecond)
		t := kmsg.NewProduceRequestTopic()
		t.Topic = topic
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Partition, rp.Records = partition, batch
		t.Partitions = append(t.Partitions, rp)
		r.Topics = append(r.Topics, t)
		return f.AppendRequest(nil, r, 0)
	}
	reqs := make([][]byte, len(c.parts))
	for i, p := range c.parts {
		reqs[i] = encode(p, batch)
	}
	// Requests awaiting an answer, in order; the reader holds one more.
	sent := make(chan rawSent, rawInFlight-1)
	readErr := make(chan error, 1)
	go func() { readErr <- readProduceResponses(nc, sent, h) }()
	var werr error
	for i := 0; werr == nil && ctx.Err() == nil; i++ {
		n := run.claim(perBatch)
		if n == 0 {
			break
		}
		req := reqs[i%len(reqs)]
		if n < perBatch { // the last records of a --records limit
			req = encode(c.parts[i%len(c.parts)], rawBatch(n, recordSize, time.Now()))
		}
		binary.BigEndian.PutUint32(req[8:], uint32(i)) // correlation id
		select {
		case sent <- rawSent{time.Now(), n}:
		case err := <-readErr:
			return err
		}
		_, werr = nc.Write(req)
	}
	close(sent)
	if err := <-readErr; err != nil {
		return err
	}
	return werr
}

// rawSent is a request awaiting its answer: when it was sent and how many
// records its batch holds.
type rawSent struct {
	at      time.Time
	records int
}

// readProduceResponses reads one response per request sent until sent is
// closed and drained, checking each partition's error code.
func readProduceResponses(nc net.Conn, sent <-chan rawSent, h *histogram) error {
	br := bufio.NewReader(nc)
	var size [4]byte
	var body []byte
	for req := range sent {
		if _, err := io.ReadFull(br, size[:]); err != nil {
			return fmt.Errorf("read produce response: %w", err)
		}
		n := binary.BigEndian.Uint32(size[:])
		if n < 4 || n > rawResponseMaxSize {
			return fmt.Errorf("produce response of %d bytes", n)
		}
		body = append(body[:0], make([]byte, n)...)
		if _, err := io.ReadFull(br, body); err != nil {
			return fmt.Errorf("read produce response: %w", err)
		}
		resp := kmsg.NewPtrProduceResponse()
		resp.Version = rawProduceVersion
		if err := resp.ReadFrom(body[4:]); err != nil {
			return fmt.Errorf("decode produce response: %w", err)
		}
		d := time.Since(req.at)
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
					return fmt.Errorf("%s[%d]: %w", t.Topic, p.Partition, err)
				}
			}
		}
		for range req.records {
			h.Observe(d)
		}
	}
	return nil
}

// claim takes up to n more records to produce: n, fewer at the end of a
// --records limit, or 0 when the run is over.
func (r *produceRun) claim(n int) int {
	if r.stopped.Load() {
		return 0
	}
	if r.limit == 0 {
		return n
	}
	after := r.claimed.Add(int64(n))
	return int(max(min(int64(n), r.limit-(after-int64(n))), 0))
}

// rawBatch encodes an uncompressed record batch (magic 2) of n records of
// size bytes each, without producer id, stamped at.
func rawBatch(n, size int, at time.Time) []byte {
	value := make([]byte, size)
	for i := range value {
		value[i] = byte('a' + i%26)
	}
	var recs []byte
	var rec []byte
	for i := range n {
		rec = append(rec[:0], 0)                    // attributes
		rec = binary.AppendVarint(rec, 0)           // timestamp delta
		rec = binary.AppendVarint(rec, int64(i))    // offset delta
		rec = binary.AppendVarint(rec, -1)          // null key
		rec = binary.AppendVarint(rec, int64(size)) // value length
		rec = append(rec, value...)
		rec = binary.AppendVarint(rec, 0) // no headers
		recs = binary.AppendVarint(recs, int64(len(rec)))
		recs = append(recs, rec...)
	}
	ts := at.UnixMilli()
	b := kmsg.RecordBatch{
		FirstOffset: 0, PartitionLeaderEpoch: -1, Magic: 2, LastOffsetDelta: int32(n - 1),
		FirstTimestamp: ts, MaxTimestamp: ts, ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1,
		NumRecords: int32(n), Records: recs,
	}
	b.Length = int32(len(b.AppendTo(nil)) - 12) // everything after FirstOffset and Length
	enc := b.AppendTo(nil)
	b.CRC = int32(crc32.Checksum(enc[21:], crc32.MakeTable(crc32.Castagnoli))) // from Attributes on
	return b.AppendTo(nil)
}
