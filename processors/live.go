package processors

import (
	"context"
	"math"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

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
	roles    map[int32]liveRole
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
	lc := &liveCar{roles: map[int32]liveRole{}, lastNs: -1 << 62}
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
			lc.roles[ch.ID] = r
			lc.hasSpeed = lc.hasSpeed || r == liveSpeed
		}
	}
	return lc
}

func (lc *liveCar) frame(f *telemetry.Frame) {
	for _, s := range f.Samples {
		switch lc.roles[s.ID] {
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
	lo := &liveOut{every: cfg.LiveEvery, wait: cfg.LiveWait, client: client, producer: prod, done: make(chan struct{})}
	go func() {
		defer close(lo.done)
		for perr := range prod.Errors() {
			lo.failed.Add(1)
			bad.report("live produce", perr.Err)
		}
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
	}
	v, err := p.r.codec.AppendLive(nil, &l)
	if err != nil {
		p.r.bad.report("live record", err)
		return
	}
	lo.send(&sarama.ProducerMessage{Topic: telemetry.TopicLive, Key: sarama.StringEncoder(f.Car),
		Value: sarama.ByteEncoder(v), Timestamp: time.Unix(0, f.TimeNs)})
}
