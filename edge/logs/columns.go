package logs

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/pitwall/pitwall/telemetry"
)

// colKind is what a column of a log carries.
type colKind uint8

const (
	colValue     colKind = iota // a channel's value
	colSkip                     // nothing Pitwall keeps (elapsed time, fragment id, ...)
	colTime                     // the row's time
	colLap                      // the device's lap counter
	colGPSUpdate                // TrackAddict: 1 on rows carrying a new fix
)

// column is one column of a log and how its cells become samples.
type column struct {
	kind  colKind
	id    int32
	scale float64 // value = cell*scale
	gps   bool    // a GPS cell: TrackAddict takes it only on GPS_Update rows
}

// splitUnit splits "Speed (Km/h)" into "speed" and "Km/h"; a trailing
// "*OBD" tag is dropped from the name.
func splitUnit(title string) (base, unit string) {
	t := strings.TrimSpace(title)
	t = strings.TrimSpace(strings.TrimSuffix(strings.TrimSuffix(t, "*OBD"), "*obd"))
	if i := strings.LastIndexByte(t, '('); i > 0 && strings.HasSuffix(t, ")") {
		unit = strings.TrimSpace(t[i+1 : len(t)-1])
		t = strings.TrimSpace(t[:i])
	}
	return strings.ToLower(t), unit
}

// speedScale is the factor from unit to km/h; ok is false for a unit that
// is no speed.
func speedScale(unit string) (float64, bool) {
	switch strings.ToLower(strings.TrimSpace(unit)) {
	case "", "km/h", "kmh", "kph":
		return 1, true
	case "m/s":
		return 3.6, true
	case "mph":
		return 1.609344, true
	case "kn", "kt", "knots", "knot":
		return 1.852, true
	}
	return 0, false
}

// standard maps a column's title (without its unit) onto Pitwall's
// standard channel names: name "" means no standard channel. gpsSpeed
// says what a bare "speed" is (the GPS's, in RaceChrono and TrackAddict,
// where the vehicle's speed comes tagged OBD).
func standard(base string, gpsSpeed bool) (name string, speed, gps bool) {
	switch strings.NewReplacer("_", " ", "-", " ").Replace(base) {
	case "latitude", "lat", "gps latitude", "gps lat":
		return telemetry.ChanGPSLat, false, true
	case "longitude", "lon", "lng", "long", "gps longitude", "gps lon", "gps long":
		return telemetry.ChanGPSLon, false, true
	case "bearing", "heading", "gps heading", "course", "gps bearing":
		return telemetry.ChanGPSHeading, false, true
	case "gps speed":
		return telemetry.ChanGPSSpeed, true, true
	case "speed":
		if gpsSpeed {
			return telemetry.ChanGPSSpeed, true, true
		}
		return telemetry.ChanSpeed, true, false
	case "vehicle speed", "wheel speed", "obd speed":
		return telemetry.ChanSpeed, true, false
	case "rpm", "engine rpm", "engine speed":
		return telemetry.ChanRPM, false, false
	case "throttle", "throttle position", "tps", "throttle pos":
		return telemetry.ChanThrottle, false, false
	case "gear":
		return telemetry.ChanGear, false, false
	case "lateral acc", "gps latacc", "lat acc", "lateral acceleration":
		return telemetry.ChanGLat, false, false
	case "longitudinal acc", "gps lonacc", "lon acc", "inline acc", "longitudinal acceleration":
		return telemetry.ChanGLong, false, false
	case "altitude", "gps altitude", "accuracy", "gps posaccuracy", "satellites", "gps nsat", "fix type":
		return "", false, true
	}
	return "", false, false
}

// valueColumn makes the column of a value: a standard channel where the
// title names one (speed converted to km/h), else a channel named after
// the title. taken holds the names used so far.
func (b *builder) valueColumn(title, unitRow string, gpsSpeed bool, taken map[string]bool) column {
	base, unit := splitUnit(title)
	if unitRow != "" {
		unit = unitRow
	}
	name, isSpeed, gps := standard(base, gpsSpeed)
	scale := 1.0
	if isSpeed {
		s, ok := speedScale(unit)
		if !ok {
			name, isSpeed = "", false // a "speed" in some other unit: keep it as it is
		} else {
			scale, unit = s, "km/h"
		}
	}
	switch name {
	case telemetry.ChanGPSLat, telemetry.ChanGPSLon, telemetry.ChanGPSHeading:
		unit = "deg"
	}
	if name == "" || taken[name] {
		name = b.uniqueName(title, taken)
	} else {
		taken[name] = true
	}
	return column{kind: colValue, id: b.channel(name, unit), scale: scale, gps: gps}
}

// parseValue reads a cell as a finite number (a decimal comma is taken
// as a point).
func parseValue(s string) (float64, error) {
	s = strings.TrimSpace(s)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil && strings.Count(s, ",") == 1 && !strings.Contains(s, ".") {
		v, err = strconv.ParseFloat(strings.Replace(s, ",", ".", 1), 64)
	}
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not finite", s)
	}
	return v, nil
}

// separator is the field separator of a CSV whose first lines r holds:
// ';' or a tab where they outnumber commas (exports made with a decimal
// comma, as AiM's are in much of Europe), else ','.
func separator(r *bufio.Reader) rune {
	head, _ := r.Peek(2048)
	comma, semi, tab := bytes.Count(head, []byte(",")), bytes.Count(head, []byte(";")), bytes.Count(head, []byte("\t"))
	switch {
	case semi > comma && semi >= tab:
		return ';'
	case tab > comma && tab > semi:
		return '\t'
	}
	return ','
}

// parseSeconds reads seconds as nanoseconds: digits[.digits] exactly,
// anything else through a float; negative or beyond the year 2286 is an
// error.
func parseSeconds(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if strings.Count(s, ",") == 1 && !strings.Contains(s, ".") {
		s = strings.Replace(s, ",", ".", 1) // a decimal comma
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole != "" && len(whole) <= 10 && len(frac) <= 9 && strings.Trim(whole+frac, "0123456789") == "" {
		w, _ := strconv.ParseInt(whole, 10, 64)
		f := int64(0)
		if frac != "" {
			f, _ = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
		}
		return w*1e9 + f, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v >= 0 && v < 1e10) {
		return 0, fmt.Errorf("time %q: want seconds from 0 to 1e10", s)
	}
	w, f := math.Modf(v)
	return int64(w)*1e9 + int64(math.Round(f*1e9)), nil
}

// rowSamples turns one row's cells into samples; a cell that is not a
// number makes the row bad (err names its column). Empty cells are
// skipped, as are GPS cells when gpsRow is false.
func rowSamples(cols []column, titles []string, cells []string, gpsRow bool) ([]telemetry.Sample, error) {
	var out []telemetry.Sample
	for i, c := range cols {
		if c.kind != colValue || i >= len(cells) || (c.gps && !gpsRow) {
			continue
		}
		cell := strings.TrimSpace(cells[i])
		if cell == "" {
			continue
		}
		v, err := parseValue(cell)
		if err != nil {
			return nil, fmt.Errorf("column %q: %v", titles[i], err)
		}
		out = append(out, telemetry.Sample{ID: c.id, Value: v * c.scale})
	}
	return out, nil
}

// eachRow hands fn every record cr reads, with its line in the file
// (physical maps the csv reader's line to it), until the end or until b
// is full. A record that cannot be read is a bad row; a line of spaces is
// skipped.
func (b *builder) eachRow(cr *csv.Reader, physical func(int) int, fn func(rec []string, line int)) {
	for !b.full() {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			b.log.Rows++
			var pe *csv.ParseError
			line := 0
			if errors.As(err, &pe) {
				line = physical(pe.Line)
			}
			b.bad(BadRow, line, "", err)
			continue
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		b.log.Rows++
		l, _ := cr.FieldPos(0)
		fn(rec, physical(l))
	}
}

// row adds one row's samples at ns and follows its lap-counter cells; a
// cell that is not a number makes it a bad row (false).
func (b *builder) row(cols []column, names, rec []string, line int, ns int64, gpsRow bool) bool {
	samples, err := rowSamples(cols, names, rec, gpsRow)
	if err != nil {
		b.bad(BadValue, line, strings.Join(rec, ","), err)
		return false
	}
	for i, c := range cols {
		if c.kind == colLap {
			b.lapCell(ns, field(rec, i))
		}
	}
	if len(samples) > 0 {
		b.add(ns, samples)
	}
	return true
}
