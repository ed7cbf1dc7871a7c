package processors_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/internal/topicread"
	"github.com/pitwall/pitwall/processors"
	"github.com/pitwall/pitwall/processors/lap"
	"github.com/pitwall/pitwall/telemetry"
	"github.com/pitwall/pitwall/telemetry/partitioner"
)

// A processor started before any edge (no topic exists yet) waits for
// the topics, saying so once, and times every lap once the data comes;
// it used to log an error and return at once, with status 0.
func TestProcessorWaitsForTopics(t *testing.T) {
	t.Parallel() // own broker
	b := brokertest.Start(t)
	logs := &logBuffer{}
	cfg := config(t, b.Addr, "early", nil)
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); <-done }()
	go func() { done <- processors.Run(ctx, cfg) }()
	logs.waitFor(t, "waiting for topic "+telemetry.TopicChannels)
	select {
	case err := <-done:
		t.Fatalf("processor returned %v before any edge started", err)
	default:
	}
	truth := simulate(t, b.Addr)
	checkTruth(t, waitLaps(t, b.Addr, "early", len(truth)), truth)
	if n := strings.Count(logs.String(), "waiting for topic "+telemetry.TopicChannels); n != 1 {
		t.Errorf("the wait for %s logged %d times, want once", telemetry.TopicChannels, n)
	}
	// One INFO line per lap: car, lap, time, validity.
	if n := strings.Count(logs.String(), `level=INFO msg="processors: lap" car=`); n != len(truth) {
		t.Errorf("%d lap lines logged for %d laps:\n%s", n, len(truth), logs.String())
	}
	if !strings.Contains(logs.String(), `msg="processors: lap" car=car01 lap=1 time=`) {
		t.Errorf("no lap line for car01 lap 1:\n%s", logs.String())
	}
}

// Frames of a car whose channel catalog never comes go to
// telemetry.deadletter after Config.CatalogWait (the first one) or at
// once (the later ones), and the partition moves on: the real car that
// shares the ghost's partition gets every lap. It used to stall the
// partition for ever, silently.
func TestFramesWithoutCatalogToDeadLetter(t *testing.T) {
	t.Parallel() // own broker
	b := brokertest.Start(t)
	createTopics(t, b.Addr)
	ghost := carOnPartitionOf(t, "car01")
	const ghostFrames = 5
	produceFrames(t, b.Addr, ghost, ghostFrames)
	produceRaw(t, b.Addr, ghost, []byte("$PWF,not,avro*0000")) // and a record that is no frame at all
	truth := simulate(t, b.Addr)

	logs := &logBuffer{}
	cfg := config(t, b.Addr, "ghost", nil)
	cfg.CatalogWait = 300 * time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	startProcessor(t, cfg)
	checkTruth(t, waitLaps(t, b.Addr, "ghost", len(truth)), truth)

	dead := readDeadLetters(t, b.Addr, ghostFrames+1)
	if len(dead) != ghostFrames+1 {
		t.Fatalf("%d dead letters, want %d", len(dead), ghostFrames+1)
	}
	codec := telemetry.MustNewCodec()
	for _, m := range dead {
		if string(m.Value) == "$PWF,not,avro*0000" {
			if h := header(m, telemetry.HeaderReason); h != "unknown_format" {
				t.Errorf("a record that is no frame: reason %q, want unknown_format", h)
			}
			continue
		}
		var f telemetry.Frame
		if err := codec.DecodeFrame(m.Value, &f); err != nil || f.Car != ghost {
			t.Errorf("dead letter is not the ghost's raw frame: %v %+v", err, f)
		}
		if h := header(m, telemetry.HeaderReason); h != "no_catalog" {
			t.Errorf("dead letter reason %q, want no_catalog", h)
		}
		if h := string(m.Key); h != "process:ghost" {
			t.Errorf("dead letter key %q, want the source process:ghost", h)
		}
	}
	// One wait, one warning: later frames of the car do not wait again.
	if n := strings.Count(logs.String(), "waiting up to"); n != 1 {
		t.Errorf("%d waits for the ghost's catalog logged, want 1:\n%s", n, logs.String())
	}
	if n := strings.Count(logs.String(), "kind=no_catalog"); n != 1 {
		t.Errorf("no_catalog logged %d times, want once", n)
	}
}

// A processor that takes over a partition (here: restarted in the same
// group) does not send a catalog-less car's frames to the dead-letter
// topic again: the offset metadata keeps where its dead letters ended.
// A car whose catalog comes later is timed from then on, no longer
// dead-lettered.
func TestDeadLettersAfterRestart(t *testing.T) {
	t.Parallel() // own broker
	b := brokertest.Start(t)
	truth := simulate(t, b.Addr)
	ghost := carOnPartitionOf(t, "car01")
	part := telemetry.Partition([]byte(ghost), telemetry.DefaultPartitions)
	another := func(name string) string { // a car on the ghost's partition
		for telemetry.Partition([]byte(name), telemetry.DefaultPartitions) != part {
			name += "x"
		}
		return name
	}
	produceFrames(t, b.Addr, ghost, 3) // after car01's last lap started: a restart re-reads them
	cfg := config(t, b.Addr, "restart-dl", nil)
	cfg.CatalogWait = 300 * time.Millisecond
	stop := startProcessor(t, cfg)
	checkTruth(t, waitLaps(t, b.Addr, "restart-dl", len(truth)), truth)
	if n := len(readDeadLetters(t, b.Addr, 3)); n != 3 {
		t.Fatalf("%d dead letters, want 3", n)
	}
	stop() // commits the offsets, with the ghost's in the metadata

	// A second catalog-less car, after the ghost's frames: its dead
	// letter shows the new processor read past them.
	second := another("second")
	produceFrames(t, b.Addr, second, 1)
	cfg.CatalogWait = 5 * time.Second // the ghost's frame below waits for its catalog, which the tail follows live
	startProcessor(t, cfg)
	if cars := deadLettersUpTo(t, b.Addr, second); cars[ghost] != 3 || cars[second] != 1 {
		t.Errorf("dead letters by car %v, want the ghost's 3 once and the second car's 1", cars)
	}
	// The ghost's catalog comes, then a frame of it: timed, not
	// dead-lettered (a third car's dead letter shows it was read).
	produceCatalog(t, b.Addr, ghost)
	produceFrames(t, b.Addr, ghost, 1)
	third := another("third")
	produceFrames(t, b.Addr, third, 1)
	if cars := deadLettersUpTo(t, b.Addr, third); cars[ghost] != 3 || cars[third] != 1 {
		t.Errorf("dead letters by car %v, want none more of the ghost once its catalog came", cars)
	}
	if laps := readAllLaps(t, b.Addr, telemetry.MustNewCodec(), "restart-dl"); len(laps) != len(truth) {
		t.Errorf("%d laps after the restart, want the %d there were", len(laps), len(truth))
	}
}

// deadLettersUpTo waits for car's dead letter and counts the dead
// letters by car.
func deadLettersUpTo(t *testing.T, addr, car string) map[string]int {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		cars := map[string]int{}
		for _, m := range readDeadLetters(t, addr, 0) {
			cars[header(m, "car")]++
		}
		if cars[car] > 0 || time.Now().After(deadline) {
			return cars
		}
	}
}

func produceRaw(t *testing.T, addr, key string, value []byte) {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Producer.Return.Successes = true
	cfg.Producer.Partitioner = partitioner.New
	p, err := sarama.NewSyncProducer([]string{addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: telemetry.TopicFrames, Key: sarama.StringEncoder(key), Value: sarama.ByteEncoder(value)}); err != nil {
		t.Fatal(err)
	}
}

func produceCatalog(t *testing.T, addr, car string) {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Producer.Return.Successes = true
	cfg.Producer.Partitioner = partitioner.New
	p, err := sarama.NewSyncProducer([]string{addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	v, err := telemetry.MustNewCodec().AppendCatalog(nil, &telemetry.ChannelCatalog{Car: car, Session: "s",
		Channels: []telemetry.Channel{{ID: 0, Name: telemetry.ChanSpeed, Unit: "km/h", RateHz: 10, Min: 0, Max: 400}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: telemetry.TopicChannels, Key: sarama.StringEncoder(car), Value: sarama.ByteEncoder(v)}); err != nil {
		t.Fatal(err)
	}
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// carOnPartitionOf returns a car id that shares car's partition.
func carOnPartitionOf(t *testing.T, car string) string {
	want := telemetry.Partition([]byte(car), telemetry.DefaultPartitions)
	for i := 0; ; i++ {
		id := fmt.Sprintf("ghost%d", i)
		if telemetry.Partition([]byte(id), telemetry.DefaultPartitions) == want {
			return id
		}
	}
}

// produceFrames produces n valid frames of car, which has no catalog.
func produceFrames(t *testing.T, addr, car string, n int) {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Producer.Return.Successes = true
	cfg.Producer.Partitioner = partitioner.New
	p, err := sarama.NewSyncProducer([]string{addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	codec := telemetry.MustNewCodec()
	for i := range n {
		v, err := codec.AppendFrame(nil, &telemetry.Frame{Car: car, Session: "s", Seq: int64(i), TimeNs: 1e18 + int64(i)*1e8,
			Samples: []telemetry.Sample{{ID: 0, Value: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: telemetry.TopicFrames, Key: sarama.StringEncoder(car), Value: sarama.ByteEncoder(v)}); err != nil {
			t.Fatal(err)
		}
	}
}

// readDeadLetters waits until telemetry.deadletter holds at least n
// records and returns them.
func readDeadLetters(t *testing.T, addr string, n int) []*sarama.ConsumerMessage {
	t.Helper()
	client, err := sarama.NewClient([]string{addr}, sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	var out []*sarama.ConsumerMessage
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		out = out[:0]
		var mu sync.Mutex // fn runs on every partition's goroutine
		var ms []*sarama.ConsumerMessage
		err := topicread.ReadToEnd(context.Background(), client, telemetry.TopicDeadLetter, topicread.Config{}, func(m *sarama.ConsumerMessage) {
			mu.Lock()
			ms = append(ms, m)
			mu.Unlock()
		})
		out = append(out, ms...)
		if err == nil && len(out) >= n || time.Now().After(deadline) {
			return out
		}
		client.RefreshMetadata(telemetry.TopicDeadLetter)
	}
}

func header(m *sarama.ConsumerMessage, key string) string {
	for _, h := range m.Headers {
		if h != nil && string(h.Key) == key {
			return string(h.Value)
		}
	}
	return ""
}

// A track file whose start/finish line has its ends swapped times
// nothing: the processor says why at debug for every crossing it
// ignores, and once a car has crossed the line backwards twice, a lap
// apart, Run ends with an error naming the line and the fix (so
// `pitwall process` exits non-zero). It used to run on, timing nothing
// and saying nothing.
func TestSwappedLineRefused(t *testing.T) {
	t.Parallel() // own broker
	b := brokertest.Start(t)
	simulate(t, b.Addr)
	logs := &logBuffer{}
	cfg := config(t, b.Addr, "swapped", nil)
	sf := &cfg.Lap.Track.StartFinish
	sf.A, sf.B = sf.B, sf.A
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := processors.Run(ctx, cfg)
	if err == nil || ctx.Err() != nil || !errors.Is(err, lap.ErrLineBackwards) || !strings.Contains(err.Error(), "swap a and b") {
		t.Fatalf("Run: %v, want an error saying the start/finish line's ends are swapped", err)
	}
	t.Log(err)
	out := logs.String()
	for _, want := range []string{`msg="processors: crossing ignored" car=car0`, "line=start_finish reason=backwards",
		`msg="processors: line crossings ignored, by reason" backwards=`} {
		if !strings.Contains(out, want) {
			t.Errorf("no log line with %q:\n%s", want, out)
		}
	}
	if laps := readAllLaps(t, b.Addr, telemetry.MustNewCodec(), "swapped"); len(laps) != 0 {
		t.Errorf("%d laps timed on a swapped line", len(laps))
	}
}
