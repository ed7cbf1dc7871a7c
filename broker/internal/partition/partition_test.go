package partition

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pitwall/pitwall/broker/internal/commitlog"
)

func testConfig(dir string) Config {
	return Config{
		Dir:                    dir,
		Partitions:             3,
		MaxPartitions:          10,
		Retention:              time.Hour,
		SegmentBytes:           1 << 20,
		MaxMessageBytes:        1 << 20,
		Fsync:                  commitlog.FsyncBatch,
		FsyncInterval:          100 * time.Millisecond,
		MaxBatchBytes:          1 << 20,
		RetentionCheckInterval: time.Minute,
		Logger:                 slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

func open(t *testing.T, dir string) *Registry {
	t.Helper()
	r, err := Open(testConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// idempotentBatch is a one-record batch v2 of producer pid at epoch and
// sequence seq, with an empty record section (the log reads only headers).
func idempotentBatch(pid int64, epoch int16, seq int32) ([]byte, commitlog.BatchHeader) {
	b := make([]byte, 61)
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
	b[16] = 2
	now := uint64(time.Now().UnixMilli())
	binary.BigEndian.PutUint64(b[27:], now)
	binary.BigEndian.PutUint64(b[35:], now)
	binary.BigEndian.PutUint64(b[43:], uint64(pid))
	binary.BigEndian.PutUint16(b[51:], uint16(epoch))
	binary.BigEndian.PutUint32(b[53:], uint32(seq))
	binary.BigEndian.PutUint32(b[57:], 1)
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	h, err := commitlog.ParseBatchHeader(b)
	if err != nil {
		panic(err)
	}
	return b, h
}

// TestProducerStateAcrossReopen: retries are answered from producer state,
// gaps and old epochs refused, after a clean close (from
// producer-state.json) and after a crash (rebuilt from the log).
func TestProducerStateAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	r := open(t, dir)
	tp, err := r.Create("cars", 1, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := tp.Partition(0)
	for seq := range int32(2) {
		b, h := idempotentBatch(7, 1, seq)
		if a, err := p.Append(b, h); err != nil || a.Duplicate || a.Base != int64(seq) {
			t.Fatalf("sequence %d: %+v, %v", seq, a, err)
		}
	}
	check := func(when string, p *Partition) {
		t.Helper()
		for _, c := range []struct {
			name  string
			epoch int16
			seq   int32
			base  int64
			err   error
		}{
			{"retry of the first", 1, 0, 0, nil},
			{"retry of the second", 1, 1, 1, nil},
			{"gap", 1, 5, 0, ErrOutOfOrderSequence},
			{"old epoch", 0, 2, 0, ErrProducerFenced},
		} {
			b, h := idempotentBatch(7, c.epoch, c.seq)
			a, err := p.Append(b, h)
			if !errors.Is(err, c.err) || (c.err == nil && (!a.Duplicate || a.Base != c.base)) {
				t.Errorf("%s, %s: %+v, %v; want duplicate at %d, error %v", when, c.name, a, err, c.base, c.err)
			}
		}
	}
	check("open", p)
	reopen := func(crash bool) *Partition {
		t.Helper()
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		pdir := filepath.Join(dir, "topics", "cars", "0")
		if _, err := os.Stat(filepath.Join(pdir, "producer-state.json")); err != nil {
			t.Fatalf("no producer state written at close: %v", err)
		}
		if crash {
			for _, f := range []string{"producer-state.json", "clean-shutdown"} {
				if err := os.Remove(filepath.Join(pdir, f)); err != nil {
					t.Fatal(err)
				}
			}
		}
		r = open(t, dir)
		p, err := r.Partition("cars", 0)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	check("after a clean close", reopen(false))
	check("after a crash", reopen(true))
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCreateEnsureDelete(t *testing.T) {
	r := open(t, t.TempDir())
	defer r.Close()
	if _, err := r.Create("laps", -1, map[string]string{"cleanup.policy": "compact"}, false); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name       string
		partitions int32
		configs    map[string]string
		want       error
	}{
		{"laps", 1, nil, ErrTopicExists},
		{"bad/name", 1, nil, ErrInvalidTopicName},
		{"..", 1, nil, ErrInvalidTopicName},
		{"zero", 0, nil, ErrInvalidPartitions},
		{"many", 11, nil, ErrInvalidPartitions},
		{"typo", 1, map[string]string{"retention.mss": "1"}, ErrInvalidConfig},
		{"small", 1, map[string]string{"segment.bytes": "10"}, ErrInvalidConfig},
	} {
		if _, err := r.Create(c.name, c.partitions, c.configs, false); !errors.Is(err, c.want) {
			t.Errorf("Create(%q, %d, %v): %v, want %v", c.name, c.partitions, c.configs, err, c.want)
		}
	}
	if r.Len() != 1 {
		t.Fatalf("%d topics after refused creates, want 1", r.Len())
	}
	tp, err := r.Ensure("laps", 1, nil)
	if err != nil || tp.NumPartitions() != 3 || !tp.Config().SetOnTopic("cleanup.policy") || tp.Config().Value("retention.ms") != "3600000" {
		t.Fatalf("Ensure of an existing topic: %v; want the topic with its 3 partitions and configs", err)
	}
	if err := r.Delete("laps"); err != nil {
		t.Fatal(err)
	}
	if err := r.Delete("laps"); !errors.Is(err, ErrUnknownTopic) {
		t.Errorf("second Delete: %v, want ErrUnknownTopic", err)
	}
	if _, err := r.Partition("laps", 0); !errors.Is(err, ErrUnknownTopic) {
		t.Errorf("Partition of a deleted topic: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(r.cfg.Dir, "topics")); len(entries) != 0 {
		t.Errorf("topics/ still holds %d entries", len(entries))
	}
}
