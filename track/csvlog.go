package track

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// ReadFixesCSV reads a recorded session as a generic CSV for Derive:
// one row per fix, columns time, lat, lon and optionally a lap marker
// (planar: time, x, z[, lap]). A first row that is not a fix is a
// header naming the columns, in any order: time (or t, timestamp),
// lat (latitude), lon (lng, longitude), x, z, lap (lap_marker, marker,
// lap_number); other columns are ignored. Without a header the columns
// are in that order.
//
// time is seconds (any epoch, fractions allowed) or RFC 3339. The lap
// column is the device's lap counter: a row where it differs from the
// last one seen is a lap marker at that row's time (a row may carry only
// the time and the lap). Empty lines and lines starting with # are
// skipped. Every error wraps ErrInvalid and names the line.
func ReadFixesCSV(r io.Reader, planar bool) (fixes []Fix, markers []int64, err error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	cr.ReuseRecord = true
	cols := []int{0, 1, 2, 3} // time, first coordinate, second, lap
	lastLap, haveLap := "", false
	for row := 0; ; row++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrInvalid, err) // a csv.ParseError names the line
		}
		line, _ := cr.FieldPos(0)
		if row == 0 {
			if len(rec) > 0 {
				rec[0] = strings.TrimPrefix(rec[0], "\ufeff") // a byte-order mark (a file saved on Windows)
			}
			if _, err := parseTime(field(rec, 0)); err != nil {
				if cols, err = header(rec, planar); err != nil {
					return nil, nil, fmt.Errorf("%w: line %d: %v", ErrInvalid, line, err)
				}
				continue
			}
		}
		if len(fixes)+len(markers) >= maxCSVRows {
			return nil, nil, fmt.Errorf("%w: more than %d rows", ErrInvalid, maxCSVRows)
		}
		ns, err := parseTime(field(rec, cols[0]))
		if err != nil {
			return nil, nil, fmt.Errorf("%w: line %d: time: %v", ErrInvalid, line, err)
		}
		if lap := strings.TrimSpace(field(rec, cols[3])); lap != "" {
			if haveLap && lap != lastLap {
				markers = append(markers, ns)
			}
			lastLap, haveLap = lap, true
		}
		a, b := strings.TrimSpace(field(rec, cols[1])), strings.TrimSpace(field(rec, cols[2]))
		if a == "" && b == "" {
			continue // a marker-only row
		}
		fx, err := parseFix(ns, a, b, planar)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: line %d: %v", ErrInvalid, line, err)
		}
		fixes = append(fixes, fx)
	}
	return fixes, markers, nil
}

// maxCSVRows bounds a log ReadFixesCSV reads: a day at 25 Hz.
const maxCSVRows = 25 * 86400

func field(rec []string, i int) string {
	if i < 0 || i >= len(rec) {
		return ""
	}
	return rec[i]
}

// header returns the columns of time, the two coordinates and the lap
// marker (-1: none) named in rec.
func header(rec []string, planar bool) ([]int, error) {
	cols := []int{-1, -1, -1, -1}
	names := [][]string{{"time", "t", "timestamp"}, {"lat", "latitude"}, {"lon", "lng", "longitude"}, {"lap", "lap_marker", "marker", "lap_number"}}
	if planar {
		names[1], names[2] = []string{"x"}, []string{"z"}
	}
	for i, h := range rec {
		h = strings.ToLower(strings.TrimSpace(h))
		for c, ns := range names {
			for _, n := range ns {
				if h == n && cols[c] < 0 {
					cols[c] = i
				}
			}
		}
	}
	if cols[0] < 0 || cols[1] < 0 || cols[2] < 0 {
		want := "time, lat, lon"
		if planar {
			want = "time, x, z"
		}
		return nil, fmt.Errorf("header %q: want columns %s (and optionally lap)", strings.Join(rec, ","), want)
	}
	return cols, nil
}

// parseTime reads seconds (a decimal number) or an RFC 3339 time, as ns.
func parseTime(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if ns, ok := decimalSeconds(s); ok {
		return ns, nil
	}
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		if !(v >= 0 && v < 1e10) { // up to the year 2286, in seconds
			return 0, fmt.Errorf("%q: want seconds from 0 to 1e10", s)
		}
		// Whole and fractional seconds apart, so that a Unix time keeps
		// its microseconds.
		whole, frac := math.Modf(v)
		return int64(whole)*1e9 + int64(math.Round(frac*1e9)), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, fmt.Errorf("%q: want seconds or an RFC 3339 time", s)
	}
	if t.Year() < 1970 || t.Year() > 2200 {
		return 0, fmt.Errorf("%q: out of range", s)
	}
	return t.UnixNano(), nil
}

// decimalSeconds reads digits[.digits] seconds exactly (a float64 keeps
// only about a quarter of a microsecond of a Unix time), up to the year
// 2286 and to the nanosecond; ok is false for any other form.
func decimalSeconds(s string) (int64, bool) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(whole) > 10 || len(frac) > 9 || strings.Trim(whole+frac, "0123456789") != "" {
		return 0, false
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	f := int64(0)
	if frac != "" {
		f, _ = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
	}
	return w*1e9 + f, true
}

func parseFix(ns int64, a, b string, planar bool) (Fix, error) {
	va, errA := strconv.ParseFloat(a, 64)
	vb, errB := strconv.ParseFloat(b, 64)
	if errA != nil || errB != nil {
		return Fix{}, fmt.Errorf("position %q, %q: want two numbers", a, b)
	}
	if planar {
		if !(math.Abs(va) <= maxPlanar && math.Abs(vb) <= maxPlanar) {
			return Fix{}, fmt.Errorf("x %v z %v: want at most %g m from the origin", va, vb, maxPlanar)
		}
		return Fix{TimeNs: ns, Point: Point{X: va, Z: vb}}, nil
	}
	if !(va >= -90 && va <= 90 && vb >= -180 && vb <= 180) {
		return Fix{}, fmt.Errorf("lat %v lon %v is not a position", va, vb)
	}
	return Fix{TimeNs: ns, LatLon: LatLon{Lat: va, Lon: vb}}, nil
}
