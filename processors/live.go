package processors

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/internal/topicread"
	"github.com/pitwall/pitwall/processors/lap"
	"github.com/pitwall/pitwall/telemetry"
	"github.com/pitwall/pitwall/telemetry/partitioner"
)

// DefaultLiveEvery is the sensor time between two telemetry.live records
// of one car: 10 a second.
const DefaultLiveEvery = 100 * time.Millisecond

// liveRole is what a channel means to a live record.
type liveRole uint8

const (
	liveNone liveRole = iota
	liveX             // gps_lon or pos_x
	liveY             // gps_lat or pos_z
	liveSpeed
	liveGPSSpeed
	livePit
	liveThrottle
	liveBrake
	liveGear
	liveRPM
)

// liveCar is what one car's live records need beyond its detector: the
// newest value of each channel they carry (frames are sparse).
type liveCar struct {
	// roles holds the role of each channel id below its length; far the
	// roles of ids beyond maxDenseRole (nil when none is). A slice, not a
	// map: every sample of every frame is looked up (a map was 4% of a
	// processor's CPU under the pipeline's load, issue 17).
	roles    []liveRole
	far      map[int32]liveRole
	x, y     float64
	speed    float64
	gpsSpeed float64
	hasSpeed bool // the car has a speed channel: gps_speed is the fallback
	pit      bool
	throttle float64
	brake    float64
	gear     float64
	rpm      float64
	lastNs   int64
}

func newLiveCar(cat *telemetry.ChannelCatalog, planar bool) *liveCar {
	lc := &liveCar{lastNs: -1 << 62}
	names := map[string]liveRole{telemetry.ChanGPSLon: liveX, telemetry.ChanGPSLat: liveY,
		telemetry.ChanSpeed: liveSpeed, telemetry.ChanGPSSpeed: liveGPSSpeed, telemetry.ChanPitLimiter: livePit,
		telemetry.ChanThrottle: liveThrottle, telemetry.ChanBrakeFront: liveBrake, telemetry.ChanGear: liveGear, telemetry.ChanRPM: liveRPM}
	if planar {
		delete(names, telemetry.ChanGPSLon)
		delete(names, telemetry.ChanGPSLat)
		names[telemetry.ChanPosX], names[telemetry.ChanPosZ] = liveX, liveY
	}
	for _, ch := range cat.Channels {
		if r, ok := names[ch.Name]; ok {
			lc.setRole(ch.ID, r)
			lc.hasSpeed = lc.hasSpeed || r == liveSpeed
		}
	}
	return lc
}

// maxDenseRole bounds the ids kept in liveCar.roles, so a catalog with a
// huge channel id costs a map entry, not a huge slice.
const maxDenseRole = 1 << 16

func (lc *liveCar) setRole(id int32, r liveRole) {
	if id < 0 || id >= maxDenseRole {
		if lc.far == nil {
			lc.far = map[int32]liveRole{}
		}
		lc.far[id] = r
		return
	}
	if int(id) >= len(lc.roles) {
		lc.roles = append(lc.roles, make([]liveRole, int(id)+1-len(lc.roles))...)
	}
	lc.roles[id] = r
}

func (lc *liveCar) role(id int32) liveRole {
	if uint32(id) < uint32(len(lc.roles)) {
		return lc.roles[id]
	}
	if lc.far != nil {
		return lc.far[id]
	}
	return liveNone
}

func (lc *liveCar) frame(f *telemetry.Frame) {
	for _, s := range f.Samples {
		switch lc.role(s.ID) {
		case liveX:
			lc.x = s.Value
		case liveY:
			lc.y = s.Value
		case liveSpeed:
			lc.speed = s.Value
		case liveGPSSpeed:
			lc.gpsSpeed = s.Value
		case livePit:
			lc.pit = s.Value > 0.5
		case liveThrottle:
			lc.throttle = s.Value
		case liveBrake:
			lc.brake = s.Value
		case liveGear:
			lc.gear = s.Value
		case liveRPM:
			lc.rpm = s.Value
		}
	}
}

// DefaultLiveWait is how long a partition waits for room in the live
// producer before it drops the record and stops waiting (see send).
const DefaultLiveWait = 100 * time.Millisecond

// liveOut produces telemetry.live records: best effort, acks=1. In real
// time the producer always has room; a processor catching up (a replay, a
// restart) may outrun it, and then waits for room, so every record gets
// out. A producer that stays full for Config.LiveWait (the broker is away) has
// its records dropped and counted, without waiting, until it takes one
// again: the live view never holds the laps back for long.
type liveOut struct {
	every    time.Duration
	wait     time.Duration
	client   sarama.Client
	producer sarama.AsyncProducer
	stalled  atomic.Bool
	dropped  atomic.Int64
	failed   atomic.Int64
	done     chan struct{}
	// bests follow the sessions' best laps on a client of their own (a
	// fetch's long poll would queue produce requests behind it), until
	// stopBests; bestsDone closes when they stopped.
	bests     *sessionBests
	stopBests context.CancelFunc
	bestsDone chan struct{}
}

// newLiveOut connects the live producer; nil with every < 0 (no live
// records).
func newLiveOut(ctx context.Context, cfg Config, bad *badInput) (*liveOut, error) {
	if cfg.LiveEvery < 0 {
		return nil, nil
	}
	sc := saramaConfig(cfg, false)
	sc.ClientID = "pitwall-process-live"
	sc.Producer.Partitioner = partitioner.New
	sc.Producer.RequiredAcks = sarama.WaitForLocal
	sc.Producer.Return.Successes = false
	sc.Producer.Return.Errors = true
	sc.Producer.Retry.Max = 0 // a late live record is worth nothing
	sc.Producer.Flush.Frequency = 5 * time.Millisecond
	sc.ChannelBufferSize = 1024
	client, err := sarama.NewClient(cfg.Brokers, sc)
	if err != nil {
		return nil, err
	}
	prod, err := sarama.NewAsyncProducerFromClient(client)
	if err != nil {
		client.Close()
		return nil, err
	}
	rc := saramaConfig(cfg, false)
	rc.ClientID = "pitwall-process-bests"
	rc.Consumer.MaxWaitTime = 100 * time.Millisecond
	reader, err := sarama.NewClient(cfg.Brokers, rc)
	if err != nil {
		prod.Close()
		client.Close()
		return nil, err
	}
	lo := &liveOut{every: cfg.LiveEvery, wait: cfg.LiveWait, client: client, producer: prod, done: make(chan struct{}),
		bests: newSessionBests(cfg.Group), bestsDone: make(chan struct{})}
	go func() {
		defer close(lo.done)
		for perr := range prod.Errors() {
			lo.failed.Add(1)
			bad.report("live produce", perr.Err)
		}
	}()
	bctx, stop := context.WithCancel(ctx)
	lo.stopBests = stop
	go func() {
		defer close(lo.bestsDone)
		defer reader.Close()
		lo.bests.follow(bctx, reader, cfg.Logger, bad)
	}()
	return lo, nil
}

// send queues m, waiting up to LiveWait for room unless the producer
// is stalled.
func (lo *liveOut) send(m *sarama.ProducerMessage) {
	select {
	case lo.producer.Input() <- m:
		lo.stalled.Store(false)
		return
	default:
	}
	if lo.stalled.Load() {
		lo.dropped.Add(1)
		return
	}
	t := time.NewTimer(lo.wait)
	defer t.Stop()
	select {
	case lo.producer.Input() <- m:
	case <-t.C:
		lo.stalled.Store(true)
		lo.dropped.Add(1)
	}
}

func (lo *liveOut) close() {
	lo.stopBests()
	<-lo.bestsDone
	lo.producer.AsyncClose()
	<-lo.done
	lo.client.Close()
}

// live publishes c's lap in progress on telemetry.live once LiveEvery of
// sensor time has passed since its last record.
func (p *partition) live(c *car, f *telemetry.Frame) {
	lo := p.r.live
	if lo == nil || c.live == nil {
		return
	}
	c.live.frame(f)
	if f.TimeNs-c.live.lastNs < int64(lo.every) {
		return
	}
	c.live.lastNs = f.TimeNs
	l := telemetry.Live{Car: f.Car, Session: f.Session, TimeNs: f.TimeNs, Speed: c.live.speed,
		X: c.live.x, Y: c.live.y, Planar: p.r.cfg.Lap.Track.Planar, InPit: c.live.pit,
		Throttle: c.live.throttle, Brake: c.live.brake, Gear: int32(math.Round(c.live.gear)), RPM: c.live.rpm}
	if !c.live.hasSpeed {
		l.Speed = c.live.gpsSpeed
	}
	if pr, ok := c.det.Progress(); ok {
		l.Lap, l.LapStartNs, l.Sector, l.DistanceM = pr.Lap, pr.StartNs, int32(pr.Sector), pr.Distance
		if pr.DeltaOK {
			d := pr.Delta
			l.DeltaBestS = &d
		}
		if pr.Lap > 0 {
			// This car's own trace first: its record of the session's
			// best lap may be the one the delta needs.
			lo.bests.live(&l)
			if d, ok := lo.bests.delta(l.Session, l.DistanceM, float64(l.TimeNs-l.LapStartNs)/1e9); ok {
				l.DeltaSessionS = &d
			}
		}
	}
	v, err := p.r.codec.AppendLive(nil, &l)
	if err != nil {
		p.r.bad.report("live record", err)
		return
	}
	lo.send(&sarama.ProducerMessage{Topic: telemetry.TopicLive, Key: sarama.StringEncoder(f.Car),
		Value: sarama.ByteEncoder(v), Timestamp: time.Unix(0, f.TimeNs)})
}

// sessionHistory is how far back (record time) a processor reads
// telemetry.live when it starts, for the traces of the session's best
// laps driven before it.
const sessionHistory = 2 * time.Hour

// keepLaps is how many of each car's newest lap traces sessionBests
// holds besides the sessions' best laps: a lap's record on
// telemetry.laps comes after its live records, and its trace must still
// be there then.
const keepLaps = 3

// sessionBests knows each session's best valid lap, any car's, and its
// distance → time trace, for the live delta to the session's best
// (telemetry.Live.DeltaSessionS). Cars are spread over partitions and
// processors, so it learns from the topics every processor writes, not
// from this processor's cars: the laps this processor's group timed
// (telemetry.laps, HeaderGroup) and every car's live records
// (telemetry.live), whose distance and lap time at 10 a second are the
// trace. The delta is then in the record, and the page and the Grafana
// plugin show the same number.
type sessionBests struct {
	group string
	mu    sync.Mutex
	best  map[string][]bestLap // session → its fastest valid laps, fastest first
	cars  map[string]*carTraces
}

// bestLap is one of a session's fastest laps.
type bestLap struct {
	car  string
	lap  int32
	time time.Duration
}

// maxBestLaps is how many of its fastest laps a session keeps: when the
// fastest one's trace is not (yet) whole, the next one serves.
const maxBestLaps = 4

// carTraces are one car's lap traces by session and lap.
type carTraces struct {
	laps map[traceKey]*lapTrace
}

type traceKey struct {
	session string
	lap     int32
}

// lapTrace is one lap as its live records drew it: metres from the line
// and seconds since the lap's start, distance increasing.
type lapTrace struct {
	d, t []float32
}

func (lt *lapTrace) add(d, t float64) {
	if n := len(lt.d); n > 0 && float32(d) <= lt.d[n-1] {
		return // a record again (a processor replaying), or standing still
	}
	lt.d, lt.t = append(lt.d, float32(d)), append(lt.t, float32(t))
}

// at returns the lap's seconds at distance d, interpolated; false
// outside the trace.
func (lt *lapTrace) at(d float64) (float64, bool) {
	n := len(lt.d)
	if n < 2 || d < float64(lt.d[0]) || d > float64(lt.d[n-1]) {
		return 0, false
	}
	i, _ := slices.BinarySearch(lt.d, float32(d))
	if i == 0 {
		return float64(lt.t[0]), true
	}
	d0, d1, t0, t1 := float64(lt.d[i-1]), float64(lt.d[i]), float64(lt.t[i-1]), float64(lt.t[i])
	if d1 == d0 {
		return t1, true
	}
	return t0 + (t1-t0)*(d-d0)/(d1-d0), true
}

// whole reports whether the trace covers a lap of lapTime: its last
// point within a second of the line (records come 10 a second).
func (lt *lapTrace) whole(lapTime time.Duration) bool {
	n := len(lt.t)
	return n > 1 && float64(lt.t[n-1]) >= lapTime.Seconds()-1
}

func newSessionBests(group string) *sessionBests {
	return &sessionBests{group: group, best: map[string][]bestLap{}, cars: map[string]*carTraces{}}
}

// lap takes a lap record of telemetry.laps.
func (sb *sessionBests) lap(l *telemetry.Lap) {
	if !liveLapValid(l) || l.EndNs <= l.StartNs {
		return
	}
	b := bestLap{car: l.Car, lap: l.Lap, time: l.LapTime()}
	sb.mu.Lock()
	defer sb.mu.Unlock()
	list := sb.best[l.Session]
	for _, x := range list {
		if x.car == b.car && x.lap == b.lap {
			return // read again
		}
	}
	i, _ := slices.BinarySearchFunc(list, b.time, func(x bestLap, t time.Duration) int { return cmp.Compare(x.time, t) })
	if i >= maxBestLaps {
		return
	}
	list = slices.Insert(list, i, b)
	sb.best[l.Session] = list[:min(len(list), maxBestLaps)]
}

// liveLapValid reads the lap's valid metric; a lap without one counts
// as valid unless it went through the pit lane.
func liveLapValid(l *telemetry.Lap) bool {
	for _, m := range l.Metrics {
		if m.Name == lap.MValid {
			return m.Value == 1
		}
	}
	return !l.PitLane
}

// live takes a record of telemetry.live into its lap's trace.
func (sb *sessionBests) live(l *telemetry.Live) {
	if l.Lap == 0 || l.TimeNs < l.LapStartNs {
		return
	}
	sb.mu.Lock()
	defer sb.mu.Unlock()
	c := sb.cars[l.Car]
	if c == nil {
		c = &carTraces{laps: map[traceKey]*lapTrace{}}
		sb.cars[l.Car] = c
	}
	k := traceKey{l.Session, l.Lap}
	lt := c.laps[k]
	if lt == nil {
		lt = &lapTrace{}
		c.laps[k] = lt
		sb.prune(l.Car, c, l.Session, l.Lap)
	}
	lt.add(l.DistanceM, float64(l.TimeNs-l.LapStartNs)/1e9)
}

// prune drops car's traces older than its keepLaps newest in session,
// and of other sessions, unless a session's best laps need them.
func (sb *sessionBests) prune(car string, c *carTraces, session string, newest int32) {
	for k := range c.laps {
		if k.session == session && k.lap > newest-keepLaps {
			continue
		}
		needed := false
		for _, b := range sb.best[k.session] {
			needed = needed || (b.car == car && b.lap == k.lap)
		}
		if !needed {
			delete(c.laps, k)
		}
	}
}

// delta returns the live delta of a car elapsed seconds into its lap at
// distance d to session's best lap whose trace is whole there.
func (sb *sessionBests) delta(session string, d, elapsed float64) (float64, bool) {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	for _, b := range sb.best[session] {
		c := sb.cars[b.car]
		if c == nil {
			continue
		}
		lt := c.laps[traceKey{session, b.lap}]
		if lt == nil || !lt.whole(b.time) {
			continue
		}
		// Past the trace's end (a wide line): the best lap's time.
		ref := b.time.Seconds()
		if t, ok := lt.at(d); ok {
			ref = t
		} else if d < float64(lt.d[0]) {
			ref = float64(lt.t[0])
		}
		return elapsed - ref, true
	}
	return 0, false
}

// follow reads telemetry.laps (from its start) and telemetry.live (from
// sessionHistory ago) until ctx ends, retrying while the topics do not
// exist yet or the broker is away. One consumer reads every partition
// of both, so one fetch request long-polls them all: a consumer per
// partition queues a long poll each on the connection, and the laps
// reached the processor seconds late.
func (sb *sessionBests) follow(ctx context.Context, client sarama.Client, logger *slog.Logger, bad *badInput) {
	codec := telemetry.MustNewCodec()
	logged := false
	for ctx.Err() == nil {
		err := sb.followOnce(ctx, client, func(m *sarama.ConsumerMessage) {
			switch m.Topic {
			case telemetry.TopicLaps:
				if !sb.fromGroup(m) {
					return
				}
				var l telemetry.Lap
				if err := codec.DecodeLap(m.Value, &l); err != nil {
					bad.report("lap record (session best)", err)
					return
				}
				sb.lap(&l)
			case telemetry.TopicLive:
				var l telemetry.Live
				if err := codec.DecodeLive(m.Value, &l); err != nil {
					bad.report("live record (session best)", err)
					return
				}
				sb.live(&l)
			}
		})
		if err != nil && ctx.Err() == nil && !logged {
			logger.Warn("processors: following the laps for the session's best; retrying", "err", err)
			logged = true
		}
		_ = client.RefreshMetadata(telemetry.TopicLaps, telemetry.TopicLive)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (sb *sessionBests) fromGroup(m *sarama.ConsumerMessage) bool {
	for _, h := range m.Headers {
		if h != nil && string(h.Key) == HeaderGroup {
			return string(h.Value) == sb.group
		}
	}
	return false
}

// followOnce follows both topics with one consumer
// (topicread.FollowPartitions) until ctx ends (nil) or a partition fails:
// the laps from their oldest record, the live records from
// sessionHistory ago.
func (sb *sessionBests) followOnce(ctx context.Context, client sarama.Client, fn func(*sarama.ConsumerMessage)) error {
	var starts []topicread.PartitionStart
	for _, topic := range []string{telemetry.TopicLaps, telemetry.TopicLive} {
		parts, err := client.Partitions(topic)
		if err == nil && len(parts) == 0 {
			err = fmt.Errorf("%s has no partitions", topic)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", topic, err)
		}
		for _, p := range parts {
			from := sarama.OffsetOldest
			if topic == telemetry.TopicLive {
				off, err := client.GetOffset(topic, p, time.Now().Add(-sessionHistory).UnixMilli())
				if err != nil {
					return fmt.Errorf("%s/%d: %w", topic, p, err)
				}
				from = off
				if off < 0 { // nothing that recent: from the end
					from = sarama.OffsetNewest
				}
			}
			starts = append(starts, topicread.PartitionStart{Topic: topic, Partition: p, Offset: from})
		}
	}
	var mu sync.Mutex // fn is called for one record at a time
	return topicread.FollowPartitions(ctx, client, starts, func(m *sarama.ConsumerMessage) {
		mu.Lock()
		defer mu.Unlock()
		fn(m)
	})
}
