package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/processors"
	"github.com/pitwall/pitwall/processors/influx"
	"github.com/pitwall/pitwall/processors/lap"
	"github.com/pitwall/pitwall/telemetry"
	"github.com/pitwall/pitwall/track"
)

// A stage process (`pitwall bench pipeline --stage live|process`, started
// by RunPipeline from this executable, so its CPU and memory are its own)
// talks to the bench over its standard streams:
//
//	stdout  "READY"          once it consumes
//	        "P <json>"       progress, every stageProgressEvery
//	        "R <json>"       its result, once stdin is closed
//	stdin   closed by the bench: finish, print the result, exit
const stageProgressEvery = 200 * time.Millisecond

// liveStreamEvery is the live plugin's batching (dashboards/plugin
// StreamEvery): a car's rows go out at most every 16 ms, and a send
// takes the rest of the burst already delivered first.
const liveStreamEvery = 16 * time.Millisecond

// writtenEvery is the sensor-time step at which the process stage times
// samples reaching InfluxDB.
const writtenEvery = 10 * time.Millisecond

// stageProgress is one "P" line.
type stageProgress struct {
	AtNs int64 `json:"at_ns"`
	// live: frames and samples consumed, rows streamed.
	Frames  int64 `json:"frames,omitempty"`
	Samples int64 `json:"samples,omitempty"`
	Rows    int64 `json:"rows,omitempty"`
	// process: per car, the sensor time before which all its frames are
	// in InfluxDB (processors.Config.Written).
	Before map[string]int64 `json:"before,omitempty"`
}

// stageResult is the "R" line.
type stageResult struct {
	stageProgress
	Latency histJSON            `json:"latency"`           // live: sample → row streamed; process: sample → InfluxDB accepted
	Receipt histJSON            `json:"receipt,omitempty"` // live: sample → record timestamp (edge receipt)
	Fetched histJSON            `json:"fetched,omitempty"` // live: sample → the record reached the subscriber (before its 16 ms batching)
	Cars    map[string]seqStats `json:"cars,omitempty"`
	Bad     int64               `json:"bad,omitempty"`
	Err     string              `json:"err,omitempty"`
}

// seqStats is what the live stage saw of one car's sequence numbers.
type seqStats struct {
	Frames  int64 `json:"frames"`  // frames with a seq beyond every earlier one
	Doubled int64 `json:"doubled"` // frames whose seq was seen already (or is older)
	Gaps    int64 `json:"gaps"`    // seqs skipped between frames
	First   int64 `json:"first"`
	Last    int64 `json:"last"`
}

// StageProfileEnv names a directory: when set, each stage process writes
// its CPU profile there (STAGE-PID.pprof), to see where a stage's time
// goes under the pipeline's load, and a heap profile taken when its heap
// was largest (STAGE-PID.heap.pprof, checked every second), to see what
// holds its memory.
const StageProfileEnv = "PITWALL_BENCH_STAGE_CPUPROFILE"

// RunStage runs a stage process: args are `--stage NAME` and its flags.
func RunStage(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench pipeline --stage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stage := fs.String("stage", "", "live or process")
	brokers := fs.String("brokers", "", "broker address")
	topic := fs.String("topic", telemetry.TopicFrames, "frames topic")
	chanID := fs.Int("channel-id", 0, "live: the channel id streamed")
	group := fs.String("group", "pitwall-bench", "process: consumer group")
	trackName := fs.String("track", "", "process: track")
	influxURL := fs.String("influx-url", "", "process: InfluxDB URL")
	bucket := fs.String("influx-bucket", "pitwall", "process: InfluxDB bucket")
	window := fs.Duration("window", influx.DefaultWindow, "process: downsampling window")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if *brokers == "" {
		return fmt.Errorf("%w: --stage %s needs --brokers", ErrConfig, *stage)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if dir := os.Getenv(StageProfileEnv); dir != "" {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%d.pprof", *stage, os.Getpid())))
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
		stop := make(chan struct{})
		defer close(stop)
		go peakHeapProfiles(filepath.Join(dir, fmt.Sprintf("%s-%d.heap.pprof", *stage, os.Getpid())), stop, log)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := &stageOut{w: bufio.NewWriter(stdout)}
	go func() { // the bench closes stdin to end the stage
		_, _ = io.Copy(io.Discard, stdin)
		cancel()
	}()
	switch *stage {
	case "live":
		return runLiveStage(ctx, *brokers, *topic, int32(*chanID), out)
	case "process":
		timing, err := track.TimingFor(*trackName, "")
		if err != nil {
			return err
		}
		cfg := processors.Config{Brokers: []string{*brokers}, Group: *group, Lap: lap.Config{Track: timing}, Window: *window, Logger: log}
		if *influxURL != "" {
			cfg.Influx = &influx.Config{URL: *influxURL, Bucket: *bucket}
		}
		return runProcessStage(ctx, cfg, out)
	}
	return fmt.Errorf("%w: --stage %q, want live or process", ErrConfig, *stage)
}

// stageOut writes the stage's lines, whole, from any goroutine.
type stageOut struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (o *stageOut) line(kind string, v any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.w.WriteString(kind)
	if v != nil {
		b, _ := json.Marshal(v)
		o.w.WriteByte(' ')
		o.w.Write(b)
	}
	o.w.WriteByte('\n')
	o.w.Flush()
}

// progressLoop prints p() every stageProgressEvery until ctx ends.
func (o *stageOut) progressLoop(ctx context.Context, p func() stageProgress) {
	t := time.NewTicker(stageProgressEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			o.line("P", p())
		}
	}
}

// liveStage is the live stream subscriber: it reads every partition of
// the frames topic from the start, as the live plugin reads a car's
// partition (sarama, the plugin's client settings), decodes every frame,
// checks each car's sequence numbers, and "streams" each car's rows of
// one channel, batched like the plugin (liveStreamEvery): a row's latency
// is from its sample time to the batch going out.
type liveStage struct {
	chanID  int32
	frames  atomic.Int64
	samples atomic.Int64
	rows    atomic.Int64
	bad     atomic.Int64
	stream  latencyHist
	receipt latencyHist
	fetched latencyHist
	mu      sync.Mutex
	cars    map[string]seqStats
}

func runLiveStage(ctx context.Context, brokers, topic string, chanID int32, out *stageOut) error {
	sc := sarama.NewConfig()
	sc.ClientID = "pitwall-bench-live"
	sc.Metadata.AllowAutoTopicCreation = false
	sc.Consumer.MaxWaitTime = 100 * time.Millisecond // the plugin's
	client, err := sarama.NewClient(strings.Split(brokers, ","), sc)
	if err != nil {
		return fmt.Errorf("bench: live: %w", err)
	}
	defer client.Close()
	parts, err := client.Partitions(topic)
	if err != nil {
		return fmt.Errorf("bench: live: %s: %w", topic, err)
	}
	cons, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return err
	}
	defer cons.Close()
	s := &liveStage{chanID: chanID, cars: map[string]seqStats{}}
	var wg sync.WaitGroup
	for _, p := range parts {
		pc, err := cons.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			return fmt.Errorf("bench: live: %s/%d: %w", topic, p, err)
		}
		defer pc.Close()
		wg.Add(1)
		go func() { defer wg.Done(); s.partition(ctx, pc.Messages()) }()
	}
	out.line("READY", nil)
	go out.progressLoop(ctx, s.progress)
	wg.Wait()
	res := stageResult{stageProgress: s.progress(), Latency: s.stream.json(), Receipt: s.receipt.json(), Fetched: s.fetched.json(), Bad: s.bad.Load()}
	s.mu.Lock()
	res.Cars = s.cars
	s.mu.Unlock()
	out.line("R", res)
	return nil
}

func (s *liveStage) progress() stageProgress {
	return stageProgress{AtNs: time.Now().UnixNano(), Frames: s.frames.Load(), Samples: s.samples.Load(), Rows: s.rows.Load()}
}

// liveCar is one car's rows waiting to be streamed and its sequence.
type liveCar struct {
	seqStats
	seen    bool
	lastOut time.Time
	pending []int64 // sample times of rows not yet sent
}

// partition consumes one partition until ctx ends; its cars' sequence
// figures are merged into s.cars as it goes.
func (s *liveStage) partition(ctx context.Context, msgs <-chan *sarama.ConsumerMessage) {
	codec := telemetry.MustNewCodec()
	cars := map[string]*liveCar{}
	var f telemetry.Frame
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	send := func(c *liveCar, now time.Time) {
		for _, t := range c.pending {
			s.stream.Observe(now.Sub(time.Unix(0, t)))
		}
		s.rows.Add(int64(len(c.pending)))
		c.pending, c.lastOut = c.pending[:0], now
	}
	// flushDue sends every car whose batch is due and returns when the
	// next one is.
	flushDue := func(now time.Time) time.Duration {
		next := time.Duration(-1)
		for _, c := range cars {
			if len(c.pending) == 0 {
				continue
			}
			wait := liveStreamEvery - now.Sub(c.lastOut)
			if wait <= 0 {
				send(c, now)
				continue
			}
			if next < 0 || wait < next {
				next = wait
			}
		}
		return next
	}
	var armedAt time.Time // when the timer fires; zero: not armed
	arm := func(d time.Duration) {
		at := time.Now().Add(d)
		if armedAt.IsZero() || at.Before(armedAt) {
			timer.Reset(d)
			armedAt = at
		}
	}
	// take decodes one record and adds its row to its car's batch.
	take := func(m *sarama.ConsumerMessage) bool {
		if err := codec.DecodeFrame(m.Value, &f); err != nil {
			s.bad.Add(1)
			return false
		}
		now := time.Now()
		s.receipt.Observe(m.Timestamp.Sub(time.Unix(0, f.TimeNs)))
		s.fetched.Observe(now.Sub(time.Unix(0, f.TimeNs)))
		s.frames.Add(1)
		s.samples.Add(int64(len(f.Samples)))
		c := cars[f.Car]
		if c == nil {
			c = &liveCar{}
			cars[f.Car] = c
		}
		c.sequence(f.Seq)
		for _, smp := range f.Samples {
			if smp.ID == s.chanID {
				c.pending = append(c.pending, f.TimeNs)
				break
			}
		}
		return true
	}
	for {
		select {
		case <-ctx.Done():
			s.merge(cars)
			return
		case <-timer.C:
			armedAt = time.Time{}
			if next := flushDue(time.Now()); next >= 0 {
				arm(next)
			}
		case m, ok := <-msgs:
			if !ok {
				s.merge(cars)
				return
			}
			if !take(m) {
				continue
			}
			c := cars[f.Car]
			if time.Since(c.lastOut) < liveStreamEvery {
				arm(liveStreamEvery - time.Since(c.lastOut))
				continue
			}
			for n := len(msgs); n > 0; n-- { // the rest of the burst, delivered already, as the plugin takes it
				m, ok := <-msgs
				if !ok {
					break
				}
				take(m)
			}
			if next := flushDue(time.Now()); next >= 0 {
				arm(next)
			}
		}
	}
}

// sequence accounts for one frame's seq.
func (c *liveCar) sequence(seq int64) {
	switch {
	case !c.seen:
		c.seen, c.First, c.Last, c.Frames = true, seq, seq, 1
	case seq > c.Last:
		c.Gaps += seq - c.Last - 1
		c.Last = seq
		c.Frames++
	default:
		c.Doubled++
	}
}

func (s *liveStage) merge(cars map[string]*liveCar) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, c := range cars {
		s.cars[id] = c.seqStats
	}
}

// processStage runs processors.Run (what `pitwall process` runs) and
// times samples into InfluxDB through Config.Written: when a write moves
// a car's "everything before" from b0 to b1, every sample of the car with
// a sensor time in [b0, b1) was accepted now; one is timed per
// writtenEvery of sensor time. Sensor time is the wall clock the
// simulator was paced to, so now minus it is the latency from the sample.
type processStage struct {
	mu     sync.Mutex
	before map[string]int64
	lat    latencyHist
}

func runProcessStage(ctx context.Context, cfg processors.Config, out *stageOut) error {
	s := &processStage{before: map[string]int64{}}
	cfg.Written = s.written
	out.line("READY", nil)
	go out.progressLoop(ctx, s.progress)
	err := processors.Run(ctx, cfg)
	res := stageResult{stageProgress: s.progress(), Latency: s.lat.json()}
	if err != nil && !errors.Is(err, context.Canceled) {
		res.Err = err.Error()
	}
	out.line("R", res)
	return err
}

func (s *processStage) written(car string, beforeNs int64) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	prev, ok := s.before[car]
	if ok && beforeNs <= prev {
		return
	}
	s.before[car] = beforeNs
	if !ok {
		return // where the car's first write began is not known
	}
	step := int64(writtenEvery)
	for t := (prev + step - 1) / step * step; t < beforeNs; t += step {
		s.lat.Observe(now.Sub(time.Unix(0, t)))
	}
}

func (s *processStage) progress() stageProgress {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := make(map[string]int64, len(s.before))
	for k, v := range s.before {
		b[k] = v
	}
	return stageProgress{AtNs: time.Now().UnixNano(), Before: b}
}

// peakHeapProfiles writes a heap profile to path whenever the heap is
// larger than at the last one, once a second until stop closes.
func peakHeapProfiles(path string, stop <-chan struct{}, log *slog.Logger) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var peak uint64
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapInuse <= peak {
			continue
		}
		peak = ms.HeapInuse
		f, err := os.Create(path)
		if err == nil {
			err = errors.Join(pprof.Lookup("heap").WriteTo(f, 0), f.Close())
		}
		if err != nil {
			log.Warn("bench: heap profile", "err", err)
			return
		}
	}
}
