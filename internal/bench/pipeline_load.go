package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

// wire is how the load reaches the pipeline: --in serial, mqtt or kafka.
type wire interface {
	// catalog announces a car's channels, before its frames.
	catalog(cat *telemetry.ChannelCatalog) error
	// frame sends one frame (f is reused once it returns).
	frame(f *telemetry.Frame) error
	// flush pushes out what one pacing step produced.
	flush() error
	// close releases the wire (after the pipeline drained).
	close() error
}

// load drives the simulator in real time into a wire and counts what it
// offered: the sensor time of a sample is the wall clock it was due at.
type load struct {
	sim   *simulator.Sim
	wire  wire
	start time.Time // wall clock = sensor time of tick 0
	ticks int64     // ticks stepped

	samples atomic.Int64
	frames  atomic.Int64
	lagMax  atomic.Int64 // ns the simulator ran behind the wall clock, at most
	blocked atomic.Int64 // ns the wire held the simulator back (backpressure)
	// made is sample time → the frame handed to the wire: the load's own
	// lateness, which every latency from sample time includes.
	made latencyHist

	mu   sync.Mutex
	cars map[string]*offeredCar
}

// offeredCar is what one car offered, for the sequence check and for
// turning a processor's "everything before T" into samples.
type offeredCar struct {
	frames  int64
	lastSeq int64
	lastNs  int64
	times   []int64 // sensor time of each frame
	cum     []int64 // samples offered up to and including that frame
}

func newLoad(sim *simulator.Sim, w wire, start time.Time) *load {
	return &load{sim: sim, wire: w, start: start, cars: map[string]*offeredCar{}}
}

// announce sends every car's catalog.
func (l *load) announce() error {
	for i := range l.sim.Cars() {
		if err := l.wire.catalog(l.sim.Catalog(i)); err != nil {
			return err
		}
	}
	return nil
}

// maxStepTicks bounds the ticks stepped between two flushes when the
// simulator runs late, so a late step's lines stay small.
const maxStepTicks = 10

// run offers the load until d of sensor time has gone, pacing each tick
// to the wall clock. A wire that blocks (backpressure) makes it run late:
// lagMax says by how much, blocked how long the wire held it.
func (l *load) run(ctx context.Context, d time.Duration) error {
	end := int64(d / time.Millisecond)
	for l.ticks < end && ctx.Err() == nil {
		due := min(int64(time.Since(l.start)/time.Millisecond)+1, end, l.ticks+maxStepTicks)
		if due <= l.ticks {
			sleepCtx(ctx, time.Until(l.start.Add(time.Duration(l.ticks)*time.Millisecond)))
			continue
		}
		if lag := time.Since(l.start.Add(time.Duration(l.ticks) * time.Millisecond)); int64(lag) > l.lagMax.Load() {
			l.lagMax.Store(int64(lag))
		}
		for ; l.ticks < due; l.ticks++ {
			if _, err := l.sim.Step(l.emit); err != nil {
				return fmt.Errorf("bench: load: %w", err)
			}
		}
		t0 := time.Now()
		if err := l.wire.flush(); err != nil {
			return fmt.Errorf("bench: load: %w", err)
		}
		l.blocked.Add(int64(time.Since(t0)))
	}
	return nil
}

func (l *load) emit(f *telemetry.Frame) error {
	l.made.Observe(time.Since(time.Unix(0, f.TimeNs)))
	n := int64(len(f.Samples))
	l.mu.Lock()
	c := l.cars[f.Car]
	if c == nil {
		c = &offeredCar{}
		l.cars[f.Car] = c
	}
	prev := int64(0)
	if len(c.cum) > 0 {
		prev = c.cum[len(c.cum)-1]
	}
	c.frames++
	c.lastSeq, c.lastNs = f.Seq, f.TimeNs
	c.times = append(c.times, f.TimeNs)
	c.cum = append(c.cum, prev+n)
	l.mu.Unlock()
	l.frames.Add(1)
	l.samples.Add(n)
	return l.wire.frame(f)
}

// samplesBefore is how many samples the cars offered with a sensor time
// before each car's time in before.
func (l *load) samplesBefore(before map[string]int64) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var total int64
	for car, t := range before {
		c := l.cars[car]
		if c == nil {
			continue
		}
		if i := sort.Search(len(c.times), func(i int) bool { return c.times[i] >= t }); i > 0 {
			total += c.cum[i-1]
		}
	}
	return total
}

// offered returns a copy of what each car offered (frames, last seq and
// sensor time).
func (l *load) offered() map[string]offeredCar {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]offeredCar, len(l.cars))
	for id, c := range l.cars {
		out[id] = offeredCar{frames: c.frames, lastSeq: c.lastSeq, lastNs: c.lastNs}
	}
	return out
}

// serialWire writes the serial line format, one pty per car, as a car's
// logger would. One writer goroutine takes each pacing step's lines of
// every car and writes them without waiting (a wake-up a step, not one
// per car: on a 2-core machine each wake-up costs as much as the write);
// a car whose pty is full gets the rest written by its own goroutine,
// which waits for room, so one slow port holds back only its car until
// its queue is full.
type serialWire struct {
	ptys  map[string]*simulator.PTY
	cars  map[string]*serialCar
	steps chan []serialLines // a step's lines, to the writer
	buf   map[string][]byte
	cats  []*telemetry.ChannelCatalog
	next  int64 // sensor time of the next catalog announcement
	wg    sync.WaitGroup
	err   atomic.Pointer[error]
}

// serialCar is one car's port and its slow path: what the writer could
// not write without waiting, in order.
type serialCar struct {
	pty     *simulator.PTY
	slow    chan []byte
	pending atomic.Int64 // buffers queued on slow or being written from it
	free    chan []byte  // written buffers, for the load to reuse
}

// serialLines is one car's lines of one step.
type serialLines struct {
	car *serialCar
	b   []byte
}

// serialAnnounceEvery is how often (sensor time) the catalogs are sent
// again, as the simulator's serial output does.
const serialAnnounceEvery = int64(5 * time.Second)

func newSerialWire(cars []string) (*serialWire, error) {
	w := &serialWire{ptys: map[string]*simulator.PTY{}, cars: map[string]*serialCar{}, buf: map[string][]byte{}}
	for _, car := range cars {
		p, err := simulator.OpenPTY()
		if err != nil {
			w.closePTYs()
			return nil, err
		}
		w.ptys[car] = p
	}
	return w, nil
}

// paths returns each car's port path.
func (w *serialWire) paths() map[string]string {
	out := map[string]string{}
	for car, p := range w.ptys {
		out[car] = p.Name()
	}
	return out
}

// startWriters starts the writer and each car's slow path; call once
// the reader opened the ports.
func (w *serialWire) startWriters() {
	for car, p := range w.ptys {
		c := &serialCar{pty: p, slow: make(chan []byte, 64), free: make(chan []byte, 4)}
		w.cars[car] = c
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			for b := range c.slow {
				if _, err := p.Write(b); err != nil {
					w.fail(fmt.Errorf("pty of %s: %w", car, err))
				}
				c.pending.Add(-1)
			}
		}()
	}
	w.steps = make(chan []serialLines, 64)
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		for step := range w.steps {
			for _, l := range step {
				w.write(l.car, l.b)
			}
		}
		for _, c := range w.cars {
			close(c.slow)
		}
	}()
}

// write writes b to c's pty without waiting, unless earlier lines wait
// on its slow path; what the pty does not take goes there.
func (w *serialWire) write(c *serialCar, b []byte) {
	if c.pending.Load() == 0 {
		n, err := c.pty.TryWrite(b)
		if err != nil {
			w.fail(err)
			return
		}
		if n == len(b) {
			select {
			case c.free <- b[:0]:
			default:
			}
			return
		}
		b = b[n:]
	}
	c.pending.Add(1)
	c.slow <- b
}

func (w *serialWire) fail(err error) { w.err.CompareAndSwap(nil, &err) }

func (w *serialWire) catalog(cat *telemetry.ChannelCatalog) error {
	w.cats = append(w.cats, cat)
	return w.announce(cat)
}

func (w *serialWire) announce(cat *telemetry.ChannelCatalog) error {
	b := w.buf[cat.Car]
	for i, ch := range cat.Channels {
		line := telemetry.ChannelLine{Car: cat.Car, Session: cat.Session, Index: i + 1, Count: len(cat.Channels), Channel: ch}
		var err error
		if b, err = telemetry.AppendChannelLine(b, &line); err != nil {
			return err
		}
	}
	w.buf[cat.Car] = b
	return nil
}

func (w *serialWire) frame(f *telemetry.Frame) error {
	if w.next == 0 {
		w.next = f.TimeNs + serialAnnounceEvery
	} else if f.TimeNs >= w.next {
		w.next += serialAnnounceEvery
		for _, cat := range w.cats {
			if err := w.announce(cat); err != nil {
				return err
			}
		}
	}
	var err error
	w.buf[f.Car], err = telemetry.AppendFrameLine(w.buf[f.Car], f)
	return err
}

func (w *serialWire) flush() error {
	if err := w.err.Load(); err != nil {
		return *err
	}
	var step []serialLines
	for car, b := range w.buf {
		if len(b) == 0 {
			continue
		}
		c := w.cars[car]
		step = append(step, serialLines{car: c, b: b})
		select {
		case w.buf[car] = <-c.free:
		default:
			w.buf[car] = make([]byte, 0, cap(b))
		}
	}
	if len(step) > 0 {
		w.steps <- step
	}
	return nil
}

func (w *serialWire) close() error {
	if w.steps != nil {
		close(w.steps)
	}
	w.wg.Wait()
	w.closePTYs()
	if err := w.err.Load(); err != nil {
		return *err
	}
	return nil
}

func (w *serialWire) closePTYs() {
	for _, p := range w.ptys {
		p.Close()
	}
}

// kafkaWire produces straight into the broker, as the simulator's kafka
// output does (acks=all, key = car id, murmur2 partitioning, no
// compression, 5 ms linger), with franz-go so every acknowledgement is
// timed from the frame's sample time.
type kafkaWire struct {
	cl      *kgo.Client
	codec   *telemetry.Codec
	ack     latencyHist
	acked   atomic.Int64 // samples acknowledged
	ackedFr atomic.Int64
	blocked atomic.Int64 // ns Produce held the simulator
	err     atomic.Pointer[error]
}

func newKafkaWire(brokers string) (*kafkaWire, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers), kgo.ClientID("pitwall-bench-sim"),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(5*time.Millisecond),
		kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.MaxBufferedBytes(32<<20),
		kgo.RecordDeliveryTimeout(time.Minute))
	if err != nil {
		return nil, fmt.Errorf("bench: kafka: %w", err)
	}
	return &kafkaWire{cl: cl, codec: telemetry.MustNewCodec()}, nil
}

func (w *kafkaWire) catalog(cat *telemetry.ChannelCatalog) error {
	v, err := w.codec.AppendCatalog(nil, cat)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return w.cl.ProduceSync(ctx, &kgo.Record{Topic: telemetry.TopicChannels, Key: []byte(cat.Car), Value: v}).FirstErr()
}

func (w *kafkaWire) frame(f *telemetry.Frame) error {
	v, err := w.codec.AppendFrame(make([]byte, 0, telemetry.HeaderLen+32+10*len(f.Samples)), f)
	if err != nil {
		return err
	}
	sampleNs, n := f.TimeNs, int64(len(f.Samples))
	// Produce blocks while 32 MiB wait for the broker: backpressure, which
	// load.run counts from flush; this wait is counted here.
	t0 := time.Now()
	defer func() { w.blocked.Add(int64(time.Since(t0))) }()
	w.cl.Produce(context.Background(), &kgo.Record{Topic: telemetry.TopicFrames, Key: []byte(f.Car), Value: v},
		func(_ *kgo.Record, err error) {
			if err != nil {
				err = fmt.Errorf("produce: %w", err)
				w.err.CompareAndSwap(nil, &err)
				return
			}
			w.ack.Observe(time.Since(time.Unix(0, sampleNs)))
			w.acked.Add(n)
			w.ackedFr.Add(1)
		})
	return nil
}

func (w *kafkaWire) flush() error {
	if err := w.err.Load(); err != nil {
		return *err
	}
	return nil
}

func (w *kafkaWire) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := w.cl.Flush(ctx)
	w.cl.Close()
	if perr := w.err.Load(); perr != nil {
		err = errors.Join(err, *perr)
	}
	return err
}

// mqttWire publishes Avro frames on pitwall/CAR/frames (QoS 0) and each
// catalog, retained, on pitwall/CAR/channels (QoS 1), as the simulator's
// mqtt output does.
type mqttWire struct {
	client  mqtt.Client
	codec   *telemetry.Codec
	pending []mqtt.Token
}

const mqttPrefix = "pitwall"

func newMQTTWire(addr string) (*mqttWire, error) {
	opts := mqtt.NewClientOptions().AddBroker("tcp://" + addr).
		SetClientID(fmt.Sprintf("pitwall-bench-%d", os.Getpid())).SetCleanSession(true).
		SetAutoReconnect(false).SetConnectTimeout(10 * time.Second).SetWriteTimeout(10 * time.Second).SetOrderMatters(true)
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return nil, fmt.Errorf("bench: mqtt connect %s: %v", addr, tok.Error())
	}
	return &mqttWire{client: c, codec: telemetry.MustNewCodec()}, nil
}

func (w *mqttWire) catalog(cat *telemetry.ChannelCatalog) error {
	v, err := w.codec.AppendCatalog(nil, cat)
	if err != nil {
		return err
	}
	return mqttWait(w.client.Publish(mqttPrefix+"/"+cat.Car+"/channels", 1, true, v))
}

func (w *mqttWire) frame(f *telemetry.Frame) error {
	v, err := w.codec.AppendFrame(nil, f)
	if err != nil {
		return err
	}
	w.pending = append(w.pending, w.client.Publish(mqttPrefix+"/"+f.Car+"/frames", 0, false, v))
	return nil
}

// flush waits until this step's publishes are written.
func (w *mqttWire) flush() error {
	for _, t := range w.pending {
		if err := mqttWait(t); err != nil {
			return err
		}
	}
	w.pending = w.pending[:0]
	return nil
}

func (w *mqttWire) close() error {
	err := w.flush()
	w.client.Disconnect(250)
	return err
}

func mqttWait(t mqtt.Token) error {
	if !t.WaitTimeout(30 * time.Second) {
		return errors.New("bench: mqtt publish: no answer in 30s")
	}
	if err := t.Error(); err != nil {
		return fmt.Errorf("bench: mqtt publish: %w", err)
	}
	return nil
}
