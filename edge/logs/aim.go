package logs

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// aimDates are the forms Race Studio writes the "Date" row in.
var aimDates = []string{"Monday, January 2, 2006", "Monday, 2 January 2006", "2006-01-02", "01/02/2006", "1/2/2006", "02.01.2006"}

// aimTimes are the forms of its "Time" row.
var aimTimes = []string{"3:04 PM", "3:04:05 PM", "15:04:05", "15:04", "3:04PM"}

// readAiM reads AiM Race Studio's CSV export (see doc.go).
func readAiM(r *bufio.Reader, b *builder) error {
	cr := csv.NewReader(r)
	cr.Comma = separator(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	meta := map[string][]string{}
	var names []string
	for names == nil {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: aim: no channel names row (\"Time\",...)", ErrFormat)
		}
		if err != nil {
			return fmt.Errorf("%w: aim: header: %v", ErrFormat, err)
		}
		key := strings.TrimSpace(strings.TrimPrefix(field(rec, 0), "\xef\xbb\xbf"))
		if key == "Time" && len(rec) > 2 {
			names = rec
			break
		}
		if key != "" && meta[key] == nil {
			meta[key] = rec[1:]
		}
	}
	if first := strings.ToLower(strings.Join(meta["Format"], "")); !strings.Contains(first, "aim") {
		b.log.Notes = append(b.log.Notes, "no \"Format\",\"AiM CSV File\" row")
	}
	b.log.Title = strings.TrimSpace(field(meta["Session"], 0))
	b.log.Track = strings.TrimSpace(field(meta["Venue"], 0))
	start := aimStart(b, meta)

	units, err := cr.Read()
	if err != nil {
		return fmt.Errorf("%w: aim: units row: %v", ErrFormat, err)
	}
	var first []string
	if _, err := parseSeconds(field(units, 0)); err == nil {
		first, units = units, nil // no units row
	}
	taken := map[string]bool{}
	cols := make([]column, len(names))
	for i, n := range names {
		switch {
		case i == 0:
			cols[i] = column{kind: colTime}
		case strings.TrimSpace(n) == "":
			cols[i] = column{kind: colSkip}
		default:
			cols[i] = b.valueColumn(n, field(units, i), false, taken)
		}
	}
	last := int64(-1)
	row := func(rec []string, line int) {
		rel, err := parseSeconds(field(rec, 0))
		if err != nil {
			b.bad(BadTime, line, strings.Join(rec, ","), err)
			return
		}
		if b.row(cols, names, rec, line, start+rel, true) {
			last = max(last, rel)
		}
	}
	if first != nil {
		b.log.Rows++
		l, _ := cr.FieldPos(0)
		row(first, l)
	}
	b.eachRow(cr, func(l int) int { return l }, row)
	aimMarkers(b, meta, start, last)
	return nil
}

// aimStart is the recording's start from the Date and Time rows, read as
// UTC; 0 (with a note) when they are missing or unreadable.
func aimStart(b *builder, meta map[string][]string) int64 {
	date := strings.TrimSpace(field(meta["Date"], 0))
	clock := strings.TrimSpace(field(meta["Time"], 0))
	for _, dl := range aimDates {
		d, err := time.Parse(dl, date)
		if err != nil {
			continue
		}
		for _, tl := range aimTimes {
			if t, err := time.Parse(tl, clock); err == nil {
				return d.Add(time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second).UnixNano()
			}
		}
		b.log.Notes = append(b.log.Notes, fmt.Sprintf("AiM Time row %q not understood: the session starts at midnight", clock))
		return d.UnixNano()
	}
	b.log.Notes = append(b.log.Notes, fmt.Sprintf("AiM Date row %q not understood: times are seconds from 1970-01-01", date))
	return 0
}

// aimMarkers turns the Beacon Markers row (the times laps end, from the
// start) into device lap markers; a beacon at the end of the recording
// closes the last segment and is no crossing.
func aimMarkers(b *builder, meta map[string][]string, start, last int64) {
	end := last
	if d := strings.TrimSpace(field(meta["Duration"], 0)); d != "" {
		if ns, err := parseSeconds(d); err == nil {
			end = max(end, ns)
		}
	}
	var beacons []int64
	for _, cell := range meta["Beacon Markers"] {
		for _, f := range strings.Fields(cell) {
			ns, err := parseSeconds(f)
			if err != nil {
				b.bad(BadMarker, 0, cell, fmt.Errorf("beacon marker %v", err))
				continue
			}
			beacons = append(beacons, ns)
		}
	}
	for i, ns := range beacons {
		if i > 0 && ns <= beacons[i-1] {
			b.bad(BadMarker, 0, fmt.Sprint(ns), fmt.Errorf("beacon marker %.3f s is not after the one before", float64(ns)/1e9))
			continue
		}
		if ns >= end-int64(10*time.Millisecond) {
			continue // the end of the recording
		}
		b.markers = append(b.markers, marker{ns: start + ns, lap: float64(len(b.markers) + 1)})
	}
}
