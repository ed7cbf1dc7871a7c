package simulator

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/pitwall/pitwall/telemetry"
	"github.com/pitwall/pitwall/track"
)

// Sim is a seeded simulation of cars on a track. Step advances it by one
// tick (1 ms of sensor time) and hands over the frames due at that tick.
// A Sim is not safe for concurrent use.
type Sim struct {
	cfg     Config
	track   *track.Track
	chans   []chanDef
	due     [][]int32 // channel indexes due at each tick of a second
	perSec  int       // samples per car per second, all channels
	cars    []*car
	tick    int64 // ticks done; the next Step simulates tick
	startNs int64
	endTick int64 // the tick Duration ends at; -1: none
	laps    []telemetry.Lap
	// faultEvents are the faults begun or fixed since the last
	// DrainFaults.
	faultEvents []FaultEvent
	samples     int64
	done        bool
}

// parkAfter is how long a car keeps running after its last lap, so the
// final start/finish crossing lies between two GPS fixes.
const parkAfter = 2 * TickHz

// StandardChannelCount is the number of channels in the standard set.
var StandardChannelCount = len(standardChannels(25))

// New builds a simulation from cfg (see Config for defaults).
func New(cfg Config) (*Sim, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	tr, err := track.Lookup(cfg.Track)
	if err != nil {
		return nil, err
	}
	chans, err := buildChannels(cfg.Channels, cfg.GPSRateHz, cfg.AuxRateHz, cfg.Rates)
	if err != nil {
		return nil, err
	}
	s := &Sim{cfg: cfg, track: tr, chans: chans, due: schedule(chans), startNs: cfg.Start.UnixNano(), endTick: -1}
	for _, d := range s.due {
		s.perSec += len(d)
	}
	if cfg.Duration > 0 {
		s.endTick = int64(cfg.Duration / (time.Second / TickHz))
	}
	if err := checkFaults(cfg.Faults, cfg.Cars); err != nil {
		return nil, err
	}
	for i := range cfg.Cars {
		s.cars = append(s.cars, newCar(s, i))
	}
	return s, nil
}

// Config returns the configuration with defaults filled in.
func (s *Sim) Config() Config { return s.cfg }

// Track returns the track the cars run on.
func (s *Sim) Track() *track.Track { return s.track }

// Cars returns the car ids, in the order frames of one tick come out.
func (s *Sim) Cars() []string {
	ids := make([]string, len(s.cars))
	for i, c := range s.cars {
		ids[i] = c.id
	}
	return ids
}

// Catalog returns car i's channel catalog.
func (s *Sim) Catalog(i int) *telemetry.ChannelCatalog {
	cat := &telemetry.ChannelCatalog{Car: s.cars[i].id, Session: s.cfg.Session, TimeNs: s.startNs}
	for _, c := range s.chans {
		cat.Channels = append(cat.Channels, c.Channel)
	}
	return cat
}

// TimeNs returns the sensor time of the last tick simulated.
func (s *Sim) TimeNs() int64 { return s.tickNs(s.tick - 1) }

// Samples returns how many samples the simulation has emitted.
func (s *Sim) Samples() int64 { return s.samples }

// Done reports whether the simulation has ended (Laps or Duration).
func (s *Sim) Done() bool { return s.done }

// DrainFaults appends the fault events (Config.Faults) since the last
// call, in the order they happened, and forgets them.
func (s *Sim) DrainFaults(dst []FaultEvent) []FaultEvent {
	dst = append(dst, s.faultEvents...)
	s.faultEvents = s.faultEvents[:0]
	return dst
}

// DrainLaps appends the laps completed since the last call, in the order
// they ended, and forgets them.
func (s *Sim) DrainLaps(dst []telemetry.Lap) []telemetry.Lap {
	dst = append(dst, s.laps...)
	s.laps = s.laps[:0]
	return dst
}

func (s *Sim) tickNs(tick int64) int64 { return s.startNs + tick*int64(time.Second/TickHz) }

// Step simulates one tick of every car and calls emit with each car's
// frame, if it has samples due, in car order. The frame is reused after
// emit returns. Step returns false once the simulation is done.
func (s *Sim) Step(emit func(*telemetry.Frame) error) (bool, error) {
	if s.done {
		return false, nil
	}
	due := s.due[s.tick%TickHz]
	running := false
	for _, c := range s.cars {
		if c.parked {
			continue
		}
		running = true
		if s.tick > 0 {
			c.advance(s)
		}
		if len(due) == 0 {
			continue
		}
		f := c.sample(s, due)
		if len(f.Samples) == 0 {
			continue
		}
		s.samples += int64(len(f.Samples))
		if err := emit(f); err != nil {
			return false, err
		}
		f.Seq++
	}
	s.tick++
	if !running || (s.endTick >= 0 && s.tick > s.endTick) {
		s.done = true
	}
	return !s.done, nil
}

// car is one simulated car: its driver, motion, systems and sensors.
type car struct {
	id    string
	index int
	rng   *rand.Rand
	drv   driver
	prof  []float64 // speed profile of the current lap
	grip  float64   // this lap's grip factor
	power float64   // this lap's power factor

	s, v      float64 // distance from start/finish (m), speed (m/s)
	crossings int     // start/finish crossings so far; lap n starts at the n-th
	lap       telemetry.Lap
	sectorNs  []int64 // sector line crossings of the current lap
	doneTick  int64   // tick of the last lap's end; -1 while running
	parked    bool

	pit      pitState
	pitUntil int64 // tick the pit stop ends
	limiter  bool

	aFilt, kappa, throttle, brake float64
	gear                          int
	rpm, fuel, oilT, waterT, load float64
	tyreT, brakeT                 [4]float64

	frame        telemetry.Frame
	dropUntil    []int64 // per channel: dropped out until this tick
	gpsDropUntil int64
	nextDropout  int64 // tick of the next dropout
	glitchIn     int64 // samples until the next glitch
	gpsTick      int64 // tick gpsLat/gpsLon were computed for
	gpsLat       float64
	gpsLon       float64

	faults    []*carFault // Config.Faults of this car
	oilFactor float64     // of healthy oil pressure (1: healthy)
	pressLoss [4]float64  // bar lost by a punctured tyre
}

type pitState uint8

const (
	pitNone     pitState = iota
	pitPlanned           // will enter the pit lane at the end of this lap
	pitEntering          // in the pit lane, before the box
	pitStopped           // at the box
	pitLeaving           // in the pit lane, after the box, before start/finish
	pitExiting           // in the pit lane, after start/finish
)

const ambient = 24.0 // degC

func newCar(s *Sim, i int) *car {
	c := &car{
		id: CarID(i, s.cfg.Cars), index: i,
		rng:  rand.New(rand.NewPCG(s.cfg.Seed, uint64(i)+1)),
		prof: make([]float64, len(s.track.Kappa)),
		// A grid slot behind the start/finish line, standing.
		s:        s.track.Length - 10 - 8*float64(i),
		doneTick: -1, gpsTick: -1,
		fuel: gtCar.FuelFull, oilT: 80, waterT: 75, gear: 1, rpm: gtCar.Idle,
		tyreT:  [4]float64{60, 60, 60, 60}, // off the tyre warmers
		brakeT: [4]float64{ambient + 80, ambient + 80, ambient + 60, ambient + 60},
	}
	c.s = math.Mod(c.s+s.track.Length*10, s.track.Length)
	c.oilFactor = 1
	for _, f := range s.cfg.Faults {
		if f.Car == c.id {
			c.faults = append(c.faults, &carFault{Fault: f})
		}
	}
	c.drv = newDriver(c.rng)
	c.newLapFactors(s)
	c.frame = telemetry.Frame{Car: c.id, Session: s.cfg.Session, Samples: make([]telemetry.Sample, 0, len(s.chans))}
	c.dropUntil = make([]int64, len(s.chans))
	c.nextDropout = c.drawDropout(s, 0)
	c.glitchIn = c.drawGlitch(s)
	return c
}

func (c *car) newLapFactors(s *Sim) {
	c.grip, c.power = c.drv.lapFactors(c.rng)
	if on, _ := c.faulty(FaultPuncture); on {
		c.grip *= punctureGrip
	}
	speedProfile(c.prof, s.track, &gtCar, c.grip, c.power)
}

func (c *car) drawDropout(s *Sim, now int64) int64 {
	if s.cfg.DropoutsPerHour < 0 {
		return math.MaxInt64
	}
	return now + 1 + int64(c.rng.ExpFloat64()*3600*TickHz/s.cfg.DropoutsPerHour)
}

func (c *car) drawGlitch(s *Sim) int64 {
	if s.cfg.GlitchesPerHour < 0 {
		return math.MaxInt64
	}
	return 1 + int64(c.rng.ExpFloat64()*float64(s.perSec)*3600/s.cfg.GlitchesPerHour)
}
