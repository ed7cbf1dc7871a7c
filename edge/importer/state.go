package importer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/edge/logs"
	"github.com/pitwall/pitwall/internal/topicread"
	"github.com/pitwall/pitwall/telemetry"
)

// HeaderImport is the record header that names the import a frame came
// from (its import id).
const HeaderImport = "import"

// States of an import on telemetry.imports.
const (
	StateStarted = "started"
	StateDone    = "done"
)

// Record is an import's state, the JSON value of its record on
// telemetry.imports (key: ID).
type Record struct {
	ID      string `json:"id"`
	State   string `json:"state"`
	File    string `json:"file"` // base name only
	SHA256  string `json:"sha256"`
	Format  string `json:"format"`
	Car     string `json:"car"`
	Session string `json:"session"`
	Frames  int    `json:"frames"`
	// Topic, Partition and StartOffset say where the import's frames
	// begin: the car's partition's end offset before the first was sent.
	Topic       string `json:"topic"`
	Partition   int32  `json:"partition"`
	StartOffset int64  `json:"start_offset"`
	Time        string `json:"time"` // RFC 3339, when the state was recorded
}

// ImportID is the id of importing content with opts: a hash of the
// file's bytes and of every option that shapes the frames. Import calls
// it with the options resolved (the format found, the session used).
func ImportID(content []byte, opts logs.Options) (id, fileHash string) {
	sum := sha256.Sum256(content)
	h := sha256.New()
	h.Write(sum[:])
	keys := make([]string, 0, len(opts.Map))
	for k := range opts.Map {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(h, "\x00%s\x00%s\x00%s", opts.Car, opts.Session, opts.Format)
	for _, k := range keys {
		fmt.Fprintf(h, "\x00%s=%s", k, opts.Map[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:32], hex.EncodeToString(sum[:])
}

// lookup returns the last record of id on telemetry.imports (nil: none).
func lookup(ctx context.Context, client sarama.Client, id string) (*Record, error) {
	parts, err := client.Partitions(telemetry.TopicImports)
	if err != nil {
		return nil, fmt.Errorf("importer: %s: %w", telemetry.TopicImports, err)
	}
	p := telemetry.Partition([]byte(id), int32(len(parts)))
	var last *Record
	var bad error
	err = topicread.ReadToEnd(ctx, client, telemetry.TopicImports, topicread.Config{Partitions: []int32{p}, IdleEnd: 5 * time.Second},
		func(m *sarama.ConsumerMessage) {
			if !bytes.Equal(m.Key, []byte(id)) {
				return
			}
			if m.Value == nil { // a tombstone: forgotten
				last = nil
				return
			}
			var r Record
			if err := json.Unmarshal(m.Value, &r); err != nil {
				bad = fmt.Errorf("importer: %s: record of %s at offset %d: %w", telemetry.TopicImports, id, m.Offset, err)
				return
			}
			last = &r
		})
	if err != nil {
		return nil, fmt.Errorf("importer: reading %s: %w", telemetry.TopicImports, err)
	}
	if last == nil && bad != nil {
		return nil, bad
	}
	return last, nil
}

// resumeAfter returns the highest seq of the import's frames on the
// car's partition from r.StartOffset on (-1: none yet).
func resumeAfter(ctx context.Context, client sarama.Client, r *Record, codec *telemetry.Codec) (int64, error) {
	last := int64(-1)
	var f telemetry.Frame
	err := topicread.ReadToEnd(ctx, client, r.Topic, topicread.Config{Partitions: []int32{r.Partition}, From: r.StartOffset},
		func(m *sarama.ConsumerMessage) {
			if !hasHeader(m, HeaderImport, r.ID) {
				return
			}
			if err := codec.DecodeFrame(m.Value, &f); err == nil && f.Seq > last {
				last = f.Seq
			}
		})
	if err != nil {
		return 0, fmt.Errorf("importer: finding where import %s stopped on %s/%d: %w", r.ID, r.Topic, r.Partition, err)
	}
	return last, nil
}

func hasHeader(m *sarama.ConsumerMessage, key, value string) bool {
	for _, h := range m.Headers {
		if h != nil && string(h.Key) == key {
			return string(h.Value) == value
		}
	}
	return false
}
