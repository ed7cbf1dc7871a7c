package logs

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"time"
)

// readRaceChrono reads a RaceChrono CSV export, format 3 (see doc.go).
func readRaceChrono(r *bufio.Reader, b *builder) error {
	line := 0
	format := ""
	for {
		s, err := r.ReadString('\n')
		if s == "" && err != nil {
			return fmt.Errorf("%w: racechrono: no header row (timestamp,...) after the preamble", ErrFormat)
		}
		line++
		t := strings.TrimSpace(strings.TrimPrefix(s, "\xef\xbb\xbf"))
		if strings.HasPrefix(strings.ToLower(t), "timestamp,") || strings.HasPrefix(strings.ToLower(t), `"timestamp",`) {
			return raceChronoTable(io.MultiReader(strings.NewReader(strings.TrimPrefix(s, "\xef\xbb\xbf")), r), b, line-1, format)
		}
		k, v, _ := strings.Cut(t, ",")
		v = strings.Trim(strings.TrimSpace(v), `"`)
		switch k {
		case "Format":
			format = v
		case "Session title":
			b.log.Title = v
		case "Track name":
			b.log.Track = v
		}
		if line > 100 {
			return fmt.Errorf("%w: racechrono: no header row (timestamp,...) in the first 100 lines", ErrFormat)
		}
	}
}

// raceChronoTable reads the three header rows and the data; skipped is
// the number of lines before the header.
func raceChronoTable(r io.Reader, b *builder, skipped int, format string) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	names, err := cr.Read()
	if err != nil {
		return fmt.Errorf("%w: racechrono: header row: %v", ErrFormat, err)
	}
	if format != "" && format != "3" {
		b.log.Notes = append(b.log.Notes, fmt.Sprintf("RaceChrono export format %s (read as format 3)", format))
	}
	var units, sources []string
	var first []string // the first data row, if a header row is missing
	for i := 0; i < 2; i++ {
		rec, err := cr.Read()
		if err != nil {
			return fmt.Errorf("%w: racechrono: units and sources rows: %v", ErrFormat, err)
		}
		if _, err := parseSeconds(field(rec, 0)); err == nil && strings.TrimSpace(field(rec, 0)) != "" {
			first = rec
			break
		}
		if i == 0 {
			units = rec
		} else {
			sources = rec
		}
	}
	cols, err := raceChronoColumns(b, names, units, sources)
	if err != nil {
		return err
	}
	elapsed := -1
	for i, n := range names {
		if strings.EqualFold(strings.TrimSpace(n), "elapsed_time") {
			elapsed = i
			break
		}
	}
	physical := func(l int) int { return l + skipped }
	if first != nil {
		b.log.Rows++
		l, _ := cr.FieldPos(0)
		raceChronoRow(b, cols, names, first, physical(l), elapsed)
	}
	b.eachRow(cr, physical, func(rec []string, line int) { raceChronoRow(b, cols, names, rec, line, elapsed) })
	return nil
}

func raceChronoColumns(b *builder, names, units, sources []string) ([]column, error) {
	count := map[string]int{}
	for _, n := range names {
		count[strings.ToLower(strings.TrimSpace(n))]++
	}
	taken := map[string]bool{}
	cols := make([]column, len(names))
	haveTime := false
	for i, n := range names {
		low := strings.ToLower(strings.TrimSpace(n))
		src := strings.ToLower(field(sources, i))
		if _, label, ok := strings.Cut(src, ":"); ok {
			src = strings.TrimSpace(label)
		}
		switch low {
		case "timestamp":
			cols[i], haveTime = column{kind: colTime}, true
			continue
		case "lap_number":
			cols[i] = column{kind: colLap}
			continue
		case "fragment_id", "elapsed_time", "":
			cols[i] = column{kind: colSkip}
			continue
		}
		title := n
		gpsSpeed := src == "gps" || src == ""
		if count[low] > 1 && src != "" && src != "gps" {
			if low == "speed" && (src == "obd" || src == "canbus") {
				gpsSpeed = false
			} else {
				title = n + "_" + src // speed_calc, device_update_rate_acc, ...
			}
		}
		cols[i] = b.valueColumn(title, field(units, i), gpsSpeed, taken)
	}
	if !haveTime {
		return nil, fmt.Errorf("%w: racechrono: no timestamp column in %q", ErrFormat, strings.Join(names, ","))
	}
	return cols, nil
}

func raceChronoRow(b *builder, cols []column, names, rec []string, line, elapsed int) {
	var ns int64
	for i, c := range cols {
		if c.kind != colTime {
			continue
		}
		var err error
		if ns, err = parseSeconds(field(rec, i)); err != nil {
			b.bad(BadTime, line, strings.Join(rec, ","), err)
			return
		}
	}
	b.row(cols, names, rec, line, ns+subMillisecond(field(rec, elapsed)), true)
}

// subMillisecond returns what a RaceChrono row's elapsed_time says of its
// instant below the millisecond, in ns (-500000..500000): timestamp is
// written to the millisecond, but the row RaceChrono writes where it
// timed a crossing has elapsed_time to 10 µs (1153.06491 beside
// timestamp 1767150801.425), and the two differ by whole milliseconds
// (the session's start). So that row, and the device's lap marker on
// it, is at the crossing RaceChrono computed, not up to 0.5 ms off it.
// 0 for any other row, or an elapsed_time that is no time.
func subMillisecond(cell string) int64 {
	e, err := parseSeconds(cell)
	if err != nil {
		return 0
	}
	const ms = int64(time.Millisecond)
	d := e % ms
	if d >= ms/2 {
		d -= ms
	}
	return d
}

func field(rec []string, i int) string {
	if i < 0 || i >= len(rec) {
		return ""
	}
	return rec[i]
}
