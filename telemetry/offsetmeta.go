package telemetry

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// ErrOffsetMeta reports committed offset metadata that is not the lap
// processor's.
var ErrOffsetMeta = errors.New("telemetry: offset metadata is not Pitwall's")

// OffsetMeta is what the lap processor (package processors) commits as
// the metadata of its offset for a partition of TopicFrames, and what
// `pitwall groups describe` reads back. The committed offset itself is
// where a restarted processor must resume: the start of the oldest lap
// still open among the partition's cars, so it trails what has been
// processed by up to a lap of records. OffsetMeta says how far processing
// really got, and where each car resumes.
//
// Encoded as "pw1 @POSITION CAR=OFFSET CAR=OFFSET...", cars sorted, at
// most MaxOffsetMeta bytes (Kafka's default offset.metadata.max.bytes is
// 4096): cars that do not fit are left out, and replay from the committed
// offset, which is never after their own, so that costs time, not laps.
// "@POSITION" is absent in metadata written before it was added.
type OffsetMeta struct {
	// Position is the offset after the last record processed, with its
	// laps on TopicLaps and its points in InfluxDB; -1 when unknown.
	Position int64
	// Restarts is each car's restart offset: the first record a
	// restarted processor must read for that car.
	Restarts map[string]int64
}

// MaxOffsetMeta bounds an encoded OffsetMeta, within Kafka's default
// offset.metadata.max.bytes (4096).
const MaxOffsetMeta = 4000

const offsetMetaPrefix = "pw1"

// Encode returns m as committed metadata.
func (m OffsetMeta) Encode() string {
	cars := make([]string, 0, len(m.Restarts))
	for c := range m.Restarts {
		cars = append(cars, c)
	}
	sort.Strings(cars)
	var b strings.Builder
	b.WriteString(offsetMetaPrefix)
	if m.Position >= 0 {
		b.WriteString(" @" + strconv.FormatInt(m.Position, 10))
	}
	for _, c := range cars {
		item := " " + c + "=" + strconv.FormatInt(m.Restarts[c], 10)
		if b.Len()+len(item) > MaxOffsetMeta {
			break
		}
		b.WriteString(item)
	}
	return b.String()
}

// ParseOffsetMeta is the inverse of Encode. The empty string (nothing
// committed with metadata yet) gives Position -1 and no cars; anything
// else that is not Encode's output is an error wrapping ErrOffsetMeta.
func ParseOffsetMeta(s string) (OffsetMeta, error) {
	m := OffsetMeta{Position: -1, Restarts: map[string]int64{}}
	if s == "" {
		return m, nil
	}
	fields := strings.Split(s, " ")
	if fields[0] != offsetMetaPrefix {
		return OffsetMeta{}, fmt.Errorf("%w: %.40q", ErrOffsetMeta, s)
	}
	items := fields[1:]
	if len(items) > 0 && strings.HasPrefix(items[0], "@") {
		n, err := strconv.ParseInt(items[0][1:], 10, 64)
		if err != nil || n < 0 {
			return OffsetMeta{}, fmt.Errorf("%w: position %.40q", ErrOffsetMeta, items[0])
		}
		m.Position, items = n, items[1:]
	}
	for _, f := range items {
		car, off, ok := strings.Cut(f, "=")
		n, err := strconv.ParseInt(off, 10, 64)
		if !ok || err != nil || n < 0 || !ValidCar(car) {
			return OffsetMeta{}, fmt.Errorf("%w: item %.40q", ErrOffsetMeta, f)
		}
		if _, dup := m.Restarts[car]; dup {
			return OffsetMeta{}, fmt.Errorf("%w: car %q twice", ErrOffsetMeta, car)
		}
		m.Restarts[car] = n
	}
	return m, nil
}
