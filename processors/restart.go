package processors

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pitwall/pitwall/telemetry"
)

// ErrMetadata reports committed offset metadata that is not ours.
var ErrMetadata = errors.New("processors: bad offset metadata")

// metaPrefix starts the offset metadata this package commits.
const metaPrefix = "pw1"

// maxMetadata keeps the metadata within Kafka's default
// offset.metadata.max.bytes (4096).
const maxMetadata = 4000

// encodeRestarts encodes the per-car restart offsets committed with a
// partition's offset: "pw1 car01=123 car02=456", cars sorted. Cars that do
// not fit are left out: they replay from the committed offset, which is
// never after their own restart offset, so that costs time, not laps.
func encodeRestarts(r map[string]int64) string {
	cars := make([]string, 0, len(r))
	for c := range r {
		cars = append(cars, c)
	}
	sort.Strings(cars)
	var b strings.Builder
	b.WriteString(metaPrefix)
	for _, c := range cars {
		item := " " + c + "=" + strconv.FormatInt(r[c], 10)
		if b.Len()+len(item) > maxMetadata {
			break
		}
		b.WriteString(item)
	}
	return b.String()
}

// decodeRestarts is the inverse of encodeRestarts; the empty string (a
// new group) gives an empty map.
func decodeRestarts(s string) (map[string]int64, error) {
	out := map[string]int64{}
	if s == "" {
		return out, nil
	}
	fields := strings.Split(s, " ")
	if fields[0] != metaPrefix {
		return nil, fmt.Errorf("%w: %.40q", ErrMetadata, s)
	}
	for _, f := range fields[1:] {
		car, off, ok := strings.Cut(f, "=")
		n, err := strconv.ParseInt(off, 10, 64)
		if !ok || err != nil || n < 0 || !telemetry.ValidCar(car) {
			return nil, fmt.Errorf("%w: item %.40q", ErrMetadata, f)
		}
		out[car] = n
	}
	return out, nil
}
