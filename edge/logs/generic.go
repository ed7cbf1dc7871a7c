package logs

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pitwall/pitwall/telemetry"
)

// role is a column role of a generic CSV.
type role struct {
	role, channel, unit string
	names               []string
}

// roles are the generic CSV's column roles, each with the names a column
// is found by without --map, and the channel it becomes.
var roles = []role{
	{"time", "", "", []string{"time", "t", "timestamp", "utc time", "unix time"}},
	{"lap", "", "", []string{"lap", "lap_number", "lap_marker", "marker", "lap number"}},
	{"lat", telemetry.ChanGPSLat, "deg", []string{"lat", "latitude", "gps_lat"}},
	{"lon", telemetry.ChanGPSLon, "deg", []string{"lon", "lng", "longitude", "gps_lon"}},
	{"x", telemetry.ChanPosX, "m", []string{"x", "pos_x"}},
	{"z", telemetry.ChanPosZ, "m", []string{"z", "pos_z"}},
	{"gps_speed", telemetry.ChanGPSSpeed, "km/h", []string{"gps_speed"}},
	{"speed", telemetry.ChanSpeed, "km/h", []string{"speed"}},
	{"heading", telemetry.ChanGPSHeading, "deg", []string{"heading", "gps_heading", "bearing", "course"}},
}

// readGeneric reads a CSV with a header row, its columns found by name
// or by m (role or channel name → column title).
func readGeneric(r *bufio.Reader, b *builder, m map[string]string) error {
	lines := &commentFilter{r: r, onComment: func(int, string) {}}
	cr := csv.NewReader(lines)
	cr.Comma = separator(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	names, err := cr.Read()
	if err != nil {
		return fmt.Errorf("%w: csv: header row: %v", ErrFormat, err)
	}
	cols, timeCol, err := genericColumns(b, names, m)
	if err != nil {
		return err
	}
	first := true
	b.eachRow(cr, lines.physical, func(rec []string, line int) {
		ns, err := parseTimeCell(field(rec, timeCol))
		if err != nil && first && unitsRow(rec) {
			b.genericUnits(cols, rec)
			b.log.Rows--
			first = false
			return
		}
		first = false
		if err != nil {
			b.bad(BadTime, line, strings.Join(rec, ","), err)
			return
		}
		b.row(cols, names, rec, line, ns, true)
	})
	return nil
}

// unitsRow reports whether rec, the row after the header, is a units row
// ("s,deg,deg,km/h"): no cell is a number.
func unitsRow(rec []string) bool {
	for _, c := range rec {
		if _, err := parseValue(c); err == nil {
			return false
		}
	}
	return true
}

// genericUnits takes the units row: each channel without a unit gets its
// cell, and a speed in another unit than km/h is converted.
func (b *builder) genericUnits(cols []column, units []string) {
	for i := range cols {
		c := &cols[i]
		u := strings.TrimSpace(field(units, i))
		if c.kind != colValue || u == "" {
			continue
		}
		ch := &b.chans[b.idx[c.id]-1]
		switch {
		case ch.Name == telemetry.ChanSpeed || ch.Name == telemetry.ChanGPSSpeed:
			if s, ok := speedScale(u); ok && c.scale == 1 {
				c.scale = s
			}
		case ch.Unit == "":
			ch.Unit = foldUnit(u)
		}
	}
}

// genericColumns assigns every column its role: first those --map names,
// then those found by name, then a channel of its own.
func genericColumns(b *builder, names []string, m map[string]string) ([]column, int, error) {
	cols := make([]column, len(names))
	done := make([]bool, len(names))
	taken := map[string]bool{}
	find := func(title string) int {
		return slices.IndexFunc(names, func(n string) bool { return strings.EqualFold(strings.TrimSpace(n), strings.TrimSpace(title)) })
	}
	timeCol := -1
	assign := func(role, channel, unit string, i int) {
		done[i] = true
		switch role {
		case "time":
			cols[i], timeCol = column{kind: colTime}, i
		case "lap":
			cols[i] = column{kind: colLap}
		default:
			scale := 1.0
			if unit == "km/h" {
				_, u := splitUnit(names[i])
				if s, ok := speedScale(u); ok {
					scale = s
				}
			}
			taken[channel] = true
			cols[i] = column{kind: colValue, id: b.channel(channel, unit), scale: scale}
		}
	}
	for _, key := range sortedKeys(m) {
		i := find(m[key])
		if i < 0 {
			return nil, 0, fmt.Errorf("%w: --map %s=%s: no column %q in the header %q", ErrConfig, key, m[key], m[key], strings.Join(names, ","))
		}
		ri := slices.IndexFunc(roles, func(r role) bool { return r.role == key })
		switch {
		case ri >= 0:
			assign(key, roles[ri].channel, roles[ri].unit, i)
		case telemetry.ValidName(key):
			assign("channel", key, "", i)
		default:
			return nil, 0, fmt.Errorf("%w: --map %s: not a role (time, lat, lon, x, z, speed, gps_speed, heading, lap) or a channel name", ErrConfig, key)
		}
	}
	for _, r := range roles {
		if _, mapped := m[r.role]; mapped {
			continue
		}
		for i, n := range names {
			base, _ := splitUnit(n)
			if !done[i] && slices.Contains(r.names, base) && (r.channel == "" || !taken[r.channel]) && !(r.role == "time" && timeCol >= 0) {
				assign(r.role, r.channel, r.unit, i)
				break
			}
		}
	}
	if timeCol < 0 {
		return nil, 0, fmt.Errorf("%w: csv: no time column in the header %q (name one time, t or timestamp, or give --map time=COLUMN)", ErrFormat, strings.Join(names, ","))
	}
	for i, n := range names {
		if !done[i] {
			cols[i] = b.valueColumn(n, "", false, taken)
		}
	}
	return cols, timeCol, nil
}

// parseTimeCell reads seconds or an RFC 3339 time.
func parseTimeCell(s string) (int64, error) {
	if ns, err := parseSeconds(s); err == nil {
		return ns, nil
	}
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil || t.Year() < 1970 || t.Year() > 2200 {
		return 0, fmt.Errorf("time %q: want seconds or an RFC 3339 time", s)
	}
	return t.UnixNano(), nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
