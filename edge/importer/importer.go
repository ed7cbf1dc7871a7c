package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/edge/logs"
	"github.com/pitwall/pitwall/internal/admin"
	"github.com/pitwall/pitwall/internal/kafkasec"
	"github.com/pitwall/pitwall/telemetry"
	"github.com/pitwall/pitwall/telemetry/partitioner"
)

// ErrConfig is wrapped by errors in Config.
var ErrConfig = errors.New("importer: bad config")

// ErrInterrupted is wrapped by the error of an import stopped before all
// its frames were acknowledged; importing the file again resumes it.
var ErrInterrupted = errors.New("importer: interrupted")

// Config configures Import. An empty field means its default.
type Config struct {
	// Brokers are the Kafka bootstrap addresses. Required.
	Brokers []string
	// Topic is the frames topic. Default telemetry.TopicFrames.
	Topic string
	// Speed paces the frames: 0 (the default) sends them as fast as the
	// broker takes them; 1 in real time, each at its original offset from
	// the first; 2 twice as fast, and so on.
	Speed float64
	// Progress receives the progress display; nil shows none.
	Progress io.Writer
	// Terminal draws the progress as a bar redrawn in place (Progress is
	// a terminal); otherwise a line every 10%.
	Terminal bool
	// Logger logs. Default slog.Default().
	Logger *slog.Logger
	// ClientID is the Kafka client id. Default "pitwall-import".
	ClientID string
	// Security is TLS and SASL to the brokers (package kafkasec, loaded by
	// the caller). Default PLAINTEXT.
	Security kafkasec.Config

	// onAck, in tests, is called after each acknowledged frame with the
	// number acknowledged in this run.
	onAck func(acked int)
}

// Result is what one Import did.
type Result struct {
	// ID is the import id (see ImportID).
	ID string
	// Log is the log as read.
	Log *logs.Log
	// Already is true when the file was imported before: nothing was sent.
	Already bool
	// Resumed is how many frames an earlier, interrupted run had sent.
	Resumed int
	// Sent is how many frames this run sent and had acknowledged.
	Sent int
}

func (c Config) withDefaults() (Config, error) {
	if len(c.Brokers) == 0 {
		return c, fmt.Errorf("%w: no brokers", ErrConfig)
	}
	if c.Topic == "" {
		c.Topic = telemetry.TopicFrames
	}
	if c.Speed < 0 {
		return c, fmt.Errorf("%w: speed %v", ErrConfig, c.Speed)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.ClientID == "" {
		c.ClientID = "pitwall-import"
	}
	return c, nil
}

// Import reads the log content (named name, for messages) with opts and
// produces it, unless it was imported before (see package doc).
func Import(ctx context.Context, cfg Config, name string, content []byte, opts logs.Options) (Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Result{}, err
	}
	if opts.Format == "" {
		opts.Format = logs.FormatAuto
	}
	log, err := logs.Read(bytes.NewReader(content), opts)
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", name, err)
	}
	// The id names what the frames are, not how the options were spelt:
	// --format auto and the format it found, no --session and the
	// session the file names, are the same import.
	resolved := logs.Options{Car: opts.Car, Session: log.Catalog.Session, Format: log.Format}
	if log.Format == logs.FormatCSV {
		resolved.Map = opts.Map
	}
	id, fileHash := ImportID(content, resolved)
	res := Result{ID: id, Log: log}
	reportLog(cfg.Logger, name, log)

	sc := saramaConfig(cfg)
	if err := cfg.Security.Sarama(sc); err != nil {
		return res, fmt.Errorf("importer: %w", err)
	}
	client, err := admin.Connect(ctx, cfg.Brokers, sc)
	if err != nil {
		return res, fmt.Errorf("importer: connect to %v: %w", cfg.Brokers, err)
	}
	defer client.Close()
	ensureTopics(client, cfg)

	rec, err := lookup(ctx, client, id)
	if err != nil {
		return res, err
	}
	codec := telemetry.MustNewCodec()
	from := 0
	switch {
	case rec != nil && rec.State == StateDone:
		res.Already = true
		cfg.Logger.Info("import: already imported; nothing sent", "file", name, "car", rec.Car, "frames", rec.Frames, "at", rec.Time, "import", id)
		return res, nil
	case rec != nil && rec.Topic == cfg.Topic:
		last, err := resumeAfter(ctx, client, rec, codec)
		if err != nil {
			return res, err
		}
		from = int(last + 1)
		res.Resumed = from
		cfg.Logger.Info("import: resuming an interrupted import", "file", name, "car", opts.Car, "sent_before", from, "frames", len(log.Frames), "import", id)
	default:
		rec, err = startRecord(client, cfg, id, fileHash, name, log)
		if err != nil {
			return res, err
		}
	}
	p, err := newProducer(client, cfg)
	if err != nil {
		return res, err
	}
	defer p.close()
	cat, err := codec.AppendCatalog(nil, &log.Catalog)
	if err != nil {
		return res, fmt.Errorf("importer: catalog: %w", err)
	}
	if err := p.sendWait(ctx, telemetry.TopicChannels, log.Catalog.Car, cat); err != nil {
		return res, fmt.Errorf("importer: catalog: %w", err)
	}
	res.Sent, err = sendFrames(ctx, cfg, p, codec, id, log.Frames, from)
	if err != nil {
		return res, err
	}
	if err := sendRejected(ctx, p, name, id, log.Rejected); err != nil {
		return res, err
	}
	rec.State, rec.Time = StateDone, time.Now().UTC().Format(time.RFC3339)
	if err := p.sendWait(ctx, telemetry.TopicImports, id, mustJSON(rec)); err != nil {
		return res, fmt.Errorf("importer: recording the import as done: %w", err)
	}
	cfg.Logger.Info("import: done", "file", name, "car", opts.Car, "frames", len(log.Frames), "sent", res.Sent,
		"device_laps", max(len(log.Markers)-1, 0), "import", id)
	return res, nil
}

// reportLog logs what reading found: one warning per kind of bad row
// with its count and first example, and the log's notes.
func reportLog(logger *slog.Logger, name string, l *logs.Log) {
	kinds := make([]string, 0, len(l.Bad))
	for k := range l.Bad {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		b := l.Bad[k]
		logger.Warn("import: rows skipped", "file", name, "kind", k, "rows", b.Count, "first_line", b.Line, "first_error", b.Err)
	}
	for _, n := range l.Notes {
		logger.Warn("import: "+n, "file", name)
	}
	logger.Info("import: read", "file", name, "format", l.Format, "rows", l.Rows, "frames", len(l.Frames),
		"channels", len(l.Catalog.Channels), "device_lap_markers", len(l.Markers), "bad_rows", l.BadCount())
}

// startRecord records the import as started, with the car's partition
// and its end offset: its frames come after it.
func startRecord(client sarama.Client, cfg Config, id, fileHash, name string, l *logs.Log) (*Record, error) {
	parts, err := client.Partitions(cfg.Topic)
	if err != nil {
		return nil, fmt.Errorf("importer: %s: %w", cfg.Topic, err)
	}
	part := telemetry.Partition([]byte(l.Catalog.Car), int32(len(parts)))
	end, err := client.GetOffset(cfg.Topic, part, sarama.OffsetNewest)
	if err != nil {
		return nil, fmt.Errorf("importer: end offset of %s/%d: %w", cfg.Topic, part, err)
	}
	rec := &Record{ID: id, State: StateStarted, File: filepath.Base(name), SHA256: fileHash, Format: string(l.Format),
		Car: l.Catalog.Car, Session: l.Catalog.Session, Frames: len(l.Frames), Topic: cfg.Topic, Partition: part, StartOffset: end,
		Time: time.Now().UTC().Format(time.RFC3339)}
	sp, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		return nil, fmt.Errorf("importer: %w", err)
	}
	defer sp.Close()
	_, _, err = sp.SendMessage(&sarama.ProducerMessage{Topic: telemetry.TopicImports, Key: sarama.StringEncoder(id), Value: sarama.ByteEncoder(mustJSON(rec))})
	if err != nil {
		return nil, fmt.Errorf("importer: recording the import as started: %w", err)
	}
	return rec, nil
}

// sendFrames produces frames[from:], paced to cfg.Speed, and waits until
// every one is acknowledged; it returns how many were.
func sendFrames(ctx context.Context, cfg Config, p *producer, codec *telemetry.Codec, id string, frames []telemetry.Frame, from int) (int, error) {
	prog := newProgress(cfg.Progress, cfg.Terminal, len(frames), from)
	defer prog.finish()
	headers := []sarama.RecordHeader{{Key: []byte(HeaderImport), Value: []byte(id)}}
	acked := 0
	onAck := func() {
		acked++
		prog.update(from + acked)
		if cfg.onAck != nil {
			cfg.onAck(acked)
		}
	}
	startWall := time.Now()
	sent := 0
	for i := from; i < len(frames); i++ {
		f := &frames[i]
		if cfg.Speed > 0 && i > from {
			wait := time.Duration(float64(f.TimeNs-frames[from].TimeNs)/cfg.Speed) - time.Since(startWall)
			if !p.pace(ctx, wait, onAck) {
				break
			}
		}
		v, err := codec.AppendFrame(nil, f)
		if err != nil {
			return acked, fmt.Errorf("importer: frame %d: %w", i, err)
		}
		if !p.send(ctx, cfg.Topic, f.Car, v, headers, onAck) {
			break
		}
		sent++
	}
	if err := p.wait(ctx, sent, &acked, onAck); err != nil {
		return acked, err
	}
	if ctx.Err() != nil {
		return acked, fmt.Errorf("%w after %d of %d frames; import the file again to resume", ErrInterrupted, from+acked, len(frames))
	}
	return acked, nil
}

// sendRejected puts the rows the reader skipped on telemetry.deadletter,
// as the edge does with bad input: key "import:FILE", the raw row, and
// the headers reason, source, error, line and import.
func sendRejected(ctx context.Context, p *producer, name, id string, rejected []logs.Rejected) error {
	if len(rejected) == 0 {
		return nil
	}
	src := "import:" + filepath.Base(name)
	acked := 0
	for _, r := range rejected {
		headers := []sarama.RecordHeader{
			{Key: []byte(telemetry.HeaderReason), Value: []byte(r.Kind)},
			{Key: []byte("source"), Value: []byte(src)},
			{Key: []byte("line"), Value: []byte(strconv.Itoa(r.Line))},
			{Key: []byte(HeaderImport), Value: []byte(id)},
		}
		if r.Err != nil {
			headers = append(headers, sarama.RecordHeader{Key: []byte("error"), Value: []byte(r.Err.Error())})
		}
		if !p.send(ctx, telemetry.TopicDeadLetter, src, []byte(r.Raw), headers, func() { acked++ }) {
			break
		}
	}
	if err := p.wait(ctx, len(rejected), &acked, func() { acked++ }); err != nil {
		return fmt.Errorf("importer: dead letters: %w", err)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%w while sending the skipped rows to %s; import the file again to finish", ErrInterrupted, telemetry.TopicDeadLetter)
	}
	return nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // a Record always marshals
	}
	return b
}

// saramaConfig is the edge's producer setup: acks=all, idempotent, one
// request in flight, murmur2 partitioning, zstd.
func saramaConfig(cfg Config) *sarama.Config {
	sc := sarama.NewConfig()
	sc.ClientID = cfg.ClientID
	sc.Net.DialTimeout = 5 * time.Second
	sc.Producer.RequiredAcks = sarama.WaitForAll
	sc.Producer.Idempotent = true
	sc.Net.MaxOpenRequests = 1
	sc.Producer.Partitioner = partitioner.New
	sc.Producer.Return.Successes = true
	sc.Producer.Return.Errors = true
	sc.Producer.Compression = sarama.CompressionZSTD
	sc.Producer.CompressionLevel = 1
	sc.Producer.Flush.Frequency = 5 * time.Millisecond
	sc.Producer.Flush.Bytes = 1 << 20
	sc.Producer.Retry.Max = 50
	sc.Producer.Retry.Backoff = 200 * time.Millisecond
	sc.Metadata.AllowAutoTopicCreation = false
	sc.Consumer.MaxWaitTime = 250 * time.Millisecond
	sc.ChannelBufferSize = 4096
	return sc
}

// ensureTopics creates the topics an import writes, as telemetry.Topics
// says, unless they exist.
func ensureTopics(client sarama.Client, cfg Config) {
	var specs []telemetry.TopicSpec
	for _, name := range []string{telemetry.TopicFrames, telemetry.TopicChannels, telemetry.TopicImports, telemetry.TopicDeadLetter} {
		s, _ := telemetry.Topic(name)
		specs = append(specs, s)
	}
	specs[0].Name = cfg.Topic
	if err := admin.EnsureTopics(client, specs...); err != nil {
		cfg.Logger.Warn("import: cannot create topics", "err", err)
	}
}
