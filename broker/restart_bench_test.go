package broker

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// rawBatch is a valid v2 record batch of about size bytes, as the log
// checks it (length, magic, CRC-32C); its record bytes are filler.
func rawBatch(size int) []byte {
	b := make([]byte, max(size, 61))
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
	b[16] = 2
	binary.BigEndian.PutUint64(b[27:], uint64(time.Now().UnixMilli()))
	binary.BigEndian.PutUint64(b[35:], uint64(time.Now().UnixMilli()))
	binary.BigEndian.PutUint64(b[43:], ^uint64(0)) // producer id -1
	binary.BigEndian.PutUint32(b[53:], ^uint32(0))
	binary.BigEndian.PutUint32(b[57:], 1)
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// BenchmarkRestart measures how long a broker holding a large log takes
// from start to answering a fetch at the end of a partition: after a clean
// shutdown, and after a crash (clean markers removed, so every active
// segment is scanned). Size: PITWALL_BENCH_RESTART_GIB, default 10 (the
// DESIGN.md target is serving within 1 s with 10 GiB).
func BenchmarkRestart(b *testing.B) {
	gib := 10
	if v, err := strconv.Atoi(os.Getenv("PITWALL_BENCH_RESTART_GIB")); err == nil && v > 0 {
		gib = v
	}
	dir := b.TempDir()
	cfg := Config{Listen: "127.0.0.1:0", DataDir: dir, Fsync: "never", Logger: discardLogger()}
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	t, err := s.topics.Create("telemetry", 12, nil, false)
	if err != nil {
		b.Fatal(err)
	}
	batch := rawBatch(1 << 20)
	for i := 0; i < gib<<10; i++ {
		if _, _, err := t.Partitions()[i%12].Log().Append(batch, 0); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"clean", "crash"} {
		b.Run(mode, func(b *testing.B) {
			for b.Loop() {
				if mode == "crash" {
					b.StopTimer()
					for p := 0; p < 12; p++ {
						os.Remove(filepath.Join(dir, "topics", "telemetry", strconv.Itoa(p), "clean-shutdown"))
					}
					b.StartTimer()
				}
				s, err := New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				p, err := s.topics.Partition("telemetry", 11)
				if err != nil {
					b.Fatal(err)
				}
				req := kmsg.NewPtrFetchRequest()
				ft := kmsg.NewFetchRequestTopic()
				ft.Topic = "telemetry"
				fp := kmsg.NewFetchRequestTopicPartition()
				fp.Partition, fp.FetchOffset, fp.PartitionMaxBytes = 11, p.Log().EndOffset()-1, 1<<21
				ft.Partitions = append(ft.Partitions, fp)
				req.Topics = append(req.Topics, ft)
				resp, _, _ := s.fetchOnce(req)
				if rp := resp.Topics[0].Partitions[0]; rp.ErrorCode != 0 || len(rp.RecordBatches) != len(batch) {
					b.Fatalf("fetch after restart: code %d, %d bytes", rp.ErrorCode, len(rp.RecordBatches))
				}
				b.StopTimer()
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}
