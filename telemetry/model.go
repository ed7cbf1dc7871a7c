package telemetry

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Limits every producer and decoder of telemetry agrees on.
const (
	// MaxCarLen is the longest car id, in bytes.
	MaxCarLen = 64
	// MaxSessionLen is the longest session id, in bytes.
	MaxSessionLen = 128
	// MaxNameLen is the longest channel or metric name, in bytes.
	MaxNameLen = 64
	// MaxUnitLen is the longest channel unit, in bytes.
	MaxUnitLen = 16
	// MaxSamples is the most samples one Frame may carry.
	MaxSamples = 8192
	// MaxChannels is the most channels one ChannelCatalog may carry.
	MaxChannels = 8192
	// MaxSectors is the most sectors a Lap may have.
	MaxSectors = 64
	// MaxMetrics is the most metrics a Lap may carry.
	MaxMetrics = 1024
)

// ErrInvalid is wrapped by every error that reports a value breaking the
// model's rules (Frame.Validate and friends), whatever its encoding.
var ErrInvalid = errors.New("telemetry: invalid value")

// Sample is one channel's value in a Frame.
type Sample struct {
	// ID is the channel id from the car's ChannelCatalog (>= 0).
	ID int32 `avro:"id"`
	// Value is the physical value in the channel's unit; always finite.
	Value float64 `avro:"value"`
}

// Frame is every sample one car's logger took at one sensor time. Channels
// are sparse: only those due at that instant are present.
type Frame struct {
	// Car is the car id, also the Kafka record key (see ValidCar).
	Car string `avro:"car"`
	// Session is the session id (see ValidSession); may be empty.
	Session string `avro:"session"`
	// Seq counts the car's frames, +1 per frame, so readers see gaps and
	// duplicates. Never negative.
	Seq int64 `avro:"seq"`
	// TimeNs is the sensor time in nanoseconds since the Unix epoch.
	TimeNs int64 `avro:"time_ns"`
	// Samples are in strictly ascending ID order (see SortSamples).
	Samples []Sample `avro:"samples"`
}

// Time returns the sensor time.
func (f *Frame) Time() time.Time { return time.Unix(0, f.TimeNs).UTC() }

// Value returns the value of channel id, if the frame carries it.
func (f *Frame) Value(id int32) (float64, bool) {
	i, ok := slices.BinarySearchFunc(f.Samples, id, func(s Sample, id int32) int {
		return int(s.ID) - int(id)
	})
	if !ok {
		return 0, false
	}
	return f.Samples[i].Value, true
}

// SortSamples puts the samples in ascending id order and, where an id
// appears more than once, keeps the last of them. Producers whose sources do
// not emit channels in order call it before encoding.
func (f *Frame) SortSamples() {
	slices.SortStableFunc(f.Samples, func(a, b Sample) int { return int(a.ID) - int(b.ID) })
	out := f.Samples[:0]
	for _, s := range f.Samples {
		if n := len(out); n > 0 && out[n-1].ID == s.ID {
			out[n-1] = s
			continue
		}
		out = append(out, s)
	}
	f.Samples = out
}

// Validate reports whether f keeps the model's rules: a valid car and
// session id, seq and time not negative, at most MaxSamples samples in
// strictly ascending id order with finite values.
func (f *Frame) Validate() error {
	if err := validIDs(f.Car, f.Session); err != nil {
		return err
	}
	if f.Seq < 0 || f.TimeNs < 0 {
		return fmt.Errorf("%w: frame seq %d or time %d is negative", ErrInvalid, f.Seq, f.TimeNs)
	}
	if len(f.Samples) > MaxSamples {
		return fmt.Errorf("%w: frame has %d samples, more than %d", ErrInvalid, len(f.Samples), MaxSamples)
	}
	prev := int32(-1)
	for _, s := range f.Samples {
		if s.ID <= prev {
			return fmt.Errorf("%w: sample id %d after %d (ids must ascend)", ErrInvalid, s.ID, prev)
		}
		if math.IsNaN(s.Value) || math.IsInf(s.Value, 0) {
			return fmt.Errorf("%w: channel %d value is not finite", ErrInvalid, s.ID)
		}
		prev = s.ID
	}
	return nil
}

// Channel describes one channel of a car.
type Channel struct {
	// ID is what Frames carry instead of the name (>= 0).
	ID int32 `avro:"id"`
	// Name is an identifier (see ValidName), e.g. speed, gps_lat.
	Name string `avro:"name"`
	// Unit is printable ASCII without ',', '*' or '$' (see ValidUnit), e.g.
	// km/h, degC, bar; may be empty.
	Unit string `avro:"unit"`
	// RateHz is the nominal sample rate (> 0).
	RateHz float64 `avro:"rate_hz"`
	// Min and Max bound the physically plausible values (Min <= Max).
	Min float64 `avro:"min"`
	Max float64 `avro:"max"`
}

// Validate reports whether c keeps the model's rules.
func (c *Channel) Validate() error {
	switch {
	case c.ID < 0:
		return fmt.Errorf("%w: channel id %d is negative", ErrInvalid, c.ID)
	case !ValidName(c.Name):
		return fmt.Errorf("%w: channel %d name %q", ErrInvalid, c.ID, c.Name)
	case !ValidUnit(c.Unit):
		return fmt.Errorf("%w: channel %s unit %q", ErrInvalid, c.Name, c.Unit)
	case !finite(c.RateHz) || c.RateHz <= 0:
		return fmt.Errorf("%w: channel %s rate %v", ErrInvalid, c.Name, c.RateHz)
	case !finite(c.Min) || !finite(c.Max) || c.Min > c.Max:
		return fmt.Errorf("%w: channel %s range [%v, %v]", ErrInvalid, c.Name, c.Min, c.Max)
	}
	return nil
}

// ChannelCatalog is one car's channels: what each id in its Frames means.
type ChannelCatalog struct {
	// Car is the car id, also the Kafka record key.
	Car string `avro:"car"`
	// Session is the session id; may be empty.
	Session string `avro:"session"`
	// TimeNs is when the catalog took effect (sensor time, ns since epoch).
	TimeNs int64 `avro:"time_ns"`
	// Channels are in strictly ascending ID order with unique names.
	Channels []Channel `avro:"channels"`
}

// Validate reports whether c keeps the model's rules.
func (c *ChannelCatalog) Validate() error {
	if err := validIDs(c.Car, c.Session); err != nil {
		return err
	}
	if c.TimeNs < 0 {
		return fmt.Errorf("%w: catalog time %d is negative", ErrInvalid, c.TimeNs)
	}
	if len(c.Channels) > MaxChannels {
		return fmt.Errorf("%w: catalog has %d channels, more than %d", ErrInvalid, len(c.Channels), MaxChannels)
	}
	names := make(map[string]struct{}, len(c.Channels))
	prev := int32(-1)
	for i := range c.Channels {
		ch := &c.Channels[i]
		if err := ch.Validate(); err != nil {
			return err
		}
		if ch.ID <= prev {
			return fmt.Errorf("%w: channel id %d after %d (ids must ascend)", ErrInvalid, ch.ID, prev)
		}
		if _, dup := names[ch.Name]; dup {
			return fmt.Errorf("%w: channel name %q used twice", ErrInvalid, ch.Name)
		}
		names[ch.Name] = struct{}{}
		prev = ch.ID
	}
	return nil
}

// ByName returns the channel called name.
func (c *ChannelCatalog) ByName(name string) (Channel, bool) {
	for _, ch := range c.Channels {
		if ch.Name == name {
			return ch, true
		}
	}
	return Channel{}, false
}

// ByID returns the channel with the given id.
func (c *ChannelCatalog) ByID(id int32) (Channel, bool) {
	i, ok := slices.BinarySearchFunc(c.Channels, id, func(ch Channel, id int32) int {
		return int(ch.ID) - int(id)
	})
	if !ok {
		return Channel{}, false
	}
	return c.Channels[i], true
}

// Metric is one named per-lap figure.
type Metric struct {
	Name  string  `avro:"name"`
	Value float64 `avro:"value"`
}

// Lap is one completed lap of one car, from one start/finish crossing to the
// next.
type Lap struct {
	// Car is the car id, also the Kafka record key.
	Car string `avro:"car"`
	// Session is the session id; may be empty.
	Session string `avro:"session"`
	// Lap is 1 for the lap that starts at the car's first crossing.
	Lap int32 `avro:"lap"`
	// StartNs and EndNs are the crossings that start and end the lap.
	StartNs int64 `avro:"start_ns"`
	EndNs   int64 `avro:"end_ns"`
	// SectorsNs are the sector times; they sum to EndNs - StartNs.
	SectorsNs []int64 `avro:"sectors_ns"`
	// PitLane is true when the car drove through the pit lane in this lap.
	PitLane bool `avro:"pit_lane"`
	// Metrics are per-lap figures (top speed, fuel used, ...).
	Metrics []Metric `avro:"metrics"`
	// DeviceNs is the lap time the source device itself measured (its lap
	// markers, channel ChanDeviceLap), nil where the frames carried none.
	DeviceNs *int64 `avro:"device_ns"`
}

// LapTime returns EndNs - StartNs.
func (l *Lap) LapTime() time.Duration { return time.Duration(l.EndNs - l.StartNs) }

// Validate reports whether l keeps the model's rules.
func (l *Lap) Validate() error {
	if err := validIDs(l.Car, l.Session); err != nil {
		return err
	}
	if l.Lap < 1 || l.StartNs < 0 || l.EndNs <= l.StartNs {
		return fmt.Errorf("%w: lap %d from %d to %d", ErrInvalid, l.Lap, l.StartNs, l.EndNs)
	}
	if len(l.SectorsNs) > MaxSectors || len(l.Metrics) > MaxMetrics {
		return fmt.Errorf("%w: lap has %d sectors and %d metrics", ErrInvalid, len(l.SectorsNs), len(l.Metrics))
	}
	if len(l.SectorsNs) > 0 {
		var sum int64
		for _, s := range l.SectorsNs {
			if s <= 0 {
				return fmt.Errorf("%w: lap %d sector time %d", ErrInvalid, l.Lap, s)
			}
			sum += s
		}
		if sum != l.EndNs-l.StartNs {
			return fmt.Errorf("%w: lap %d sectors sum to %d, lap time is %d", ErrInvalid, l.Lap, sum, l.EndNs-l.StartNs)
		}
	}
	for _, m := range l.Metrics {
		if !ValidName(m.Name) || !finite(m.Value) {
			return fmt.Errorf("%w: lap %d metric %q = %v", ErrInvalid, l.Lap, m.Name, m.Value)
		}
	}
	if l.DeviceNs != nil && *l.DeviceNs <= 0 {
		return fmt.Errorf("%w: lap %d device lap time %d", ErrInvalid, l.Lap, *l.DeviceNs)
	}
	return nil
}

// ValidCar reports whether s is a valid car id: 1 to MaxCarLen bytes of
// A-Z, a-z, 0-9, '.', '_', '-'.
func ValidCar(s string) bool {
	return len(s) > 0 && len(s) <= MaxCarLen && allBytes(s, isIDByte)
}

// ValidSession reports whether s is a valid session id: up to MaxSessionLen
// bytes of the car id bytes and ':'.
func ValidSession(s string) bool {
	return len(s) <= MaxSessionLen && allBytes(s, func(c byte) bool { return isIDByte(c) || c == ':' })
}

// ValidName reports whether s is a valid channel or metric name: 1 to
// MaxNameLen bytes of A-Z, a-z, 0-9, '_', '.'.
func ValidName(s string) bool {
	return len(s) > 0 && len(s) <= MaxNameLen && allBytes(s, func(c byte) bool { return isIDByte(c) && c != '-' })
}

// ValidUnit reports whether s is a valid unit: up to MaxUnitLen bytes of
// printable ASCII other than space, ',', '*' and '$'.
func ValidUnit(s string) bool {
	return len(s) <= MaxUnitLen && allBytes(s, func(c byte) bool {
		return c > ' ' && c < 0x7f && c != ',' && c != '*' && c != '$'
	})
}

func validIDs(car, session string) error {
	if !ValidCar(car) {
		return fmt.Errorf("%w: car id %q", ErrInvalid, car)
	}
	if !ValidSession(session) {
		return fmt.Errorf("%w: session id %q", ErrInvalid, session)
	}
	return nil
}

func isIDByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

func allBytes(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Live is where one car is in its lap in progress, as the lap processor
// sees it: published on TopicLive at least 10 times a second of sensor
// time, so every live view (the timing page, the Grafana plugin) shows
// the same numbers.
type Live struct {
	// Car is the car id, also the Kafka record key.
	Car string `avro:"car"`
	// Session is the session id; may be empty.
	Session string `avro:"session"`
	// TimeNs is the sensor time of the newest frame the record reflects.
	TimeNs int64 `avro:"time_ns"`
	// Lap is the number of the lap in progress; 0 before the car's first
	// start/finish crossing.
	Lap int32 `avro:"lap"`
	// LapStartNs is the crossing that started the lap in progress; 0
	// before the first.
	LapStartNs int64 `avro:"lap_start_ns"`
	// Sector is the sector in progress, from 1; 0 before the first
	// crossing.
	Sector int32 `avro:"sector"`
	// DistanceM is how far the car has gone since the crossing, metres.
	DistanceM float64 `avro:"distance_m"`
	// DeltaBestS is the live delta to the car's best lap at the same
	// distance, seconds (negative: faster); nil before a best lap.
	DeltaBestS *float64 `avro:"delta_best_s"`
	// Speed is km/h; 0 when unknown.
	Speed float64 `avro:"speed"`
	// Throttle (%), Brake (front line pressure, bar), Gear and RPM are
	// the newest values of those channels; 0 when unknown.
	Throttle float64 `avro:"throttle"`
	Brake    float64 `avro:"brake"`
	Gear     int32   `avro:"gear"`
	RPM      float64 `avro:"rpm"`
	// X and Y are longitude and latitude (degrees), or pos_x and pos_z
	// (metres) when Planar.
	X      float64 `avro:"x"`
	Y      float64 `avro:"y"`
	Planar bool    `avro:"planar"`
	// InPit is true while the car is in the pit lane (limiter on).
	InPit bool `avro:"in_pit"`
	// DeltaSessionS is the live delta to the session's best lap (any
	// car's) at the same distance, seconds; nil before one.
	DeltaSessionS *float64 `avro:"delta_session_s"`
}

// Validate reports whether l keeps the model's rules.
func (l *Live) Validate() error {
	if err := validIDs(l.Car, l.Session); err != nil {
		return err
	}
	if l.TimeNs < 0 || l.Lap < 0 || l.LapStartNs < 0 || l.Sector < 0 || l.Sector > MaxSectors {
		return fmt.Errorf("%w: live record time %d lap %d start %d sector %d", ErrInvalid, l.TimeNs, l.Lap, l.LapStartNs, l.Sector)
	}
	if !finite(l.DistanceM) || !finite(l.Speed) || !finite(l.X) || !finite(l.Y) || (l.DeltaBestS != nil && !finite(*l.DeltaBestS)) ||
		(l.DeltaSessionS != nil && !finite(*l.DeltaSessionS)) ||
		!finite(l.Throttle) || !finite(l.Brake) || !finite(l.RPM) {
		return fmt.Errorf("%w: live record of %s has a value that is not finite", ErrInvalid, l.Car)
	}
	return nil
}

// Alarm severities.
const (
	SeverityInfo     = "info"
	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)

// MaxAlarmText is the longest message or condition an Alarm carries.
const MaxAlarmText = 256

// Alarm is an alarm rule raised or cleared for one car (TopicAlarms). Car,
// Rule, Channel and SinceNs name one alarm.
type Alarm struct {
	Car     string `avro:"car"`
	Session string `avro:"session"`
	// Rule is the rule's name; Channel the channel it matched.
	Rule    string `avro:"rule"`
	Channel string `avro:"channel"`
	// Severity is SeverityInfo, SeverityWarning or SeverityCritical.
	Severity string `avro:"severity"`
	// Message is the rule's message; Condition the rule in words.
	Message   string `avro:"message"`
	Condition string `avro:"condition"`
	// Active is true when raised, false when cleared.
	Active bool `avro:"active"`
	// TimeNs is the sensor time it was raised or cleared at; SinceNs
	// when its condition began (raised) or when it was raised (cleared).
	TimeNs  int64 `avro:"time_ns"`
	SinceNs int64 `avro:"since_ns"`
	// Value is the channel's value at TimeNs (fuel rules: laps left).
	Value float64 `avro:"value"`
}

// Validate reports whether a keeps the model's rules.
func (a *Alarm) Validate() error {
	if err := validIDs(a.Car, a.Session); err != nil {
		return err
	}
	if !ValidName(a.Rule) || !ValidName(a.Channel) {
		return fmt.Errorf("%w: alarm rule %q channel %q", ErrInvalid, a.Rule, a.Channel)
	}
	switch a.Severity {
	case SeverityInfo, SeverityWarning, SeverityCritical:
	default:
		return fmt.Errorf("%w: alarm severity %q", ErrInvalid, a.Severity)
	}
	if len(a.Message) > MaxAlarmText || len(a.Condition) > MaxAlarmText {
		return fmt.Errorf("%w: alarm message or condition longer than %d bytes", ErrInvalid, MaxAlarmText)
	}
	if a.TimeNs < 0 || a.SinceNs < 0 || a.SinceNs > a.TimeNs || !finite(a.Value) {
		return fmt.Errorf("%w: alarm of %s at %d since %d value %v", ErrInvalid, a.Car, a.TimeNs, a.SinceNs, a.Value)
	}
	return nil
}
