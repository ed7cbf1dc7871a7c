package broker_test

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/brokertest"
)

// BenchmarkFetchTLS: the broker's side of consuming, on PLAINTEXT and on
// SSL (TLS 1.3) listeners of one broker, from the page cache: one client
// connection sends Fetch requests of 8 MiB (12 partitions of 1 KiB
// records) one after the other and reads each reply whole (decrypting it
// on SSL), as a consumer does. Besides MB/s, cpu-ms/MB is the process's
// CPU time (broker and client, user and system) per MB fetched, which a
// loaded machine disturbs less than the wall clock:
//
//	go test -run '^$' -bench FetchTLS -benchtime 200x -count 5 ./broker/
func BenchmarkFetchTLS(b *testing.B) {
	br := brokertest.StartSecure(b, brokertest.Secure{Protocols: []string{"PLAINTEXT", "SSL"}})
	const (
		topic      = "bench-fetch"
		partitions = 12
		perPart    = 8 << 20
	)
	fillFetchTopic(b, br.Addrs["PLAINTEXT"], topic, partitions, perPart)
	for _, proto := range []string{"PLAINTEXT", "SSL"} {
		b.Run(proto, func(b *testing.B) {
			nc, err := net.Dial("tcp", br.Addrs[proto])
			if err != nil {
				b.Fatal(err)
			}
			if proto == "SSL" {
				cfg := br.CA.ClientTLS(b, "")
				cfg.ServerName = "localhost"
				nc = tls.Client(nc, cfg)
			}
			defer nc.Close()
			rd := bufio.NewReaderSize(nc, 64<<10)
			var body []byte
			offsets := make([]int64, partitions)
			var bytes int64
			start := cpuTime()
			b.ResetTimer()
			for i := range b.N {
				req := kmsg.NewPtrFetchRequest()
				req.SetVersion(11)
				req.MaxBytes, req.MaxWaitMillis, req.MinBytes = 8<<20, 500, 1
				ft := kmsg.NewFetchRequestTopic()
				ft.Topic = topic
				for p := range int32(partitions) {
					fp := kmsg.NewFetchRequestTopicPartition()
					fp.Partition, fp.FetchOffset, fp.PartitionMaxBytes = p, offsets[p], (8<<20)/partitions
					ft.Partitions = append(ft.Partitions, fp)
				}
				req.Topics = append(req.Topics, ft)
				if _, err := nc.Write(frameRequest(req, int32(i))); err != nil {
					b.Fatal(err)
				}
				var size [4]byte
				if _, err := io.ReadFull(rd, size[:]); err != nil {
					b.Fatal(err)
				}
				n := int(binary.BigEndian.Uint32(size[:]))
				if cap(body) < n {
					body = make([]byte, n)
				}
				body = body[:n]
				if _, err := io.ReadFull(rd, body); err != nil {
					b.Fatal(err)
				}
				bytes += int64(n + 4)
				resp := kmsg.NewPtrFetchResponse()
				resp.SetVersion(11)
				if err := resp.ReadFrom(body[4:]); err != nil {
					b.Fatal(err)
				}
				for _, rp := range resp.Topics[0].Partitions {
					offsets[rp.Partition] = nextOffset(rp, offsets[rp.Partition])
				}
			}
			b.StopTimer()
			b.SetBytes(bytes / int64(b.N))
			b.ReportMetric(float64(cpuTime()-start)/float64(time.Millisecond)/(float64(bytes)/1e6), "cpu-ms/MB")
		})
	}
}

// nextOffset is where to fetch a partition from after rp: past its last
// batch, or from the start again once the end is reached.
func nextOffset(rp kmsg.FetchResponseTopicPartition, from int64) int64 {
	b := rp.RecordBatches
	for len(b) >= 61 {
		base := int64(binary.BigEndian.Uint64(b))
		length := int(binary.BigEndian.Uint32(b[8:]))
		if len(b) < 12+length {
			break
		}
		from = base + int64(binary.BigEndian.Uint32(b[23:])) + 1 // lastOffsetDelta
		b = b[12+length:]
	}
	if from >= rp.HighWatermark {
		return 0
	}
	return from
}

// frameRequest is req as a request frame (header v1: no tagged fields,
// since Fetch v11 is not flexible).
func frameRequest(req kmsg.Request, corr int32) []byte {
	f := []byte{0, 0, 0, 0}
	f = binary.BigEndian.AppendUint16(f, uint16(req.Key()))
	f = binary.BigEndian.AppendUint16(f, uint16(req.GetVersion()))
	f = binary.BigEndian.AppendUint32(f, uint32(corr))
	f = binary.BigEndian.AppendUint16(f, 0xffff) // null client id
	f = req.AppendTo(f)
	binary.BigEndian.PutUint32(f, uint32(len(f)-4))
	return f
}

// fillFetchTopic writes perPart bytes of 1 KiB records to each partition.
func fillFetchTopic(b *testing.B, addr, topic string, partitions, perPart int) {
	b.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.AllowAutoTopicCreation(), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchMaxBytes(1<<20), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, int32(partitions), 1
	req.Topics = append(req.Topics, rt)
	if _, err := req.RequestWith(b.Context(), cl); err != nil {
		b.Fatal(err)
	}
	value := make([]byte, 1024)
	for p := range int32(partitions) {
		for range perPart / len(value) {
			cl.Produce(b.Context(), &kgo.Record{Topic: topic, Partition: p, Value: value}, nil)
		}
	}
	if err := cl.Flush(b.Context()); err != nil {
		b.Fatal(err)
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
