package logs

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/pitwall/pitwall/telemetry"
)

// readTrackAddict reads TrackAddict's RaceRender CSV (see doc.go). Comment
// lines may come anywhere; the first other line is the header row.
func readTrackAddict(r *bufio.Reader, b *builder) error {
	var pits []pitComment // "# Pit Lane Entry" / "Exit", in file order
	lines := &commentFilter{r: r, onComment: func(line int, c string) {
		if on, ok := pitLaneComment(c); ok {
			pits = append(pits, pitComment{line, on})
		}
		trackAddictComment(b, line, c)
	}}
	cr := csv.NewReader(lines)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	names, err := cr.Read()
	if err != nil {
		return fmt.Errorf("%w: trackaddict: header row: %v", ErrFormat, err)
	}
	taken := map[string]bool{}
	cols := make([]column, len(names))
	timeCol, utcCol, gpsCol := -1, -1, -1
	for i, n := range names {
		switch strings.ToLower(strings.TrimSpace(n)) {
		case "time":
			timeCol, cols[i] = i, column{kind: colSkip}
		case "utc time":
			utcCol, cols[i] = i, column{kind: colSkip}
		case "lap":
			cols[i] = column{kind: colLap}
		case "gps_update":
			gpsCol, cols[i] = i, column{kind: colGPSUpdate}
		case "predicted lap time", "predicted vs best lap", "gps_delay", "obd_update", "":
			cols[i] = column{kind: colSkip}
		default:
			cols[i] = b.valueColumn(n, "", true, taken)
		}
	}
	if utcCol >= 0 {
		timeCol = utcCol
	} else if timeCol >= 0 {
		b.log.Notes = append(b.log.Notes, "no UTC Time column: times are seconds from the start of the recording, from 1970-01-01")
	}
	if timeCol < 0 {
		return fmt.Errorf("%w: trackaddict: no Time or UTC Time column in %q", ErrFormat, strings.Join(names, ","))
	}
	b.eachRow(cr, lines.physical, func(rec []string, line int) {
		ns, err := parseSeconds(field(rec, timeCol))
		if err != nil {
			b.bad(BadTime, line, strings.Join(rec, ","), err)
			return
		}
		// The comment filter reads ahead of the CSV reader, so every
		// comment before this row is known; those after it wait.
		for len(pits) > 0 && pits[0].line < line {
			v := 0.0
			if pits[0].on {
				v = 1
			}
			b.add(ns, []telemetry.Sample{{ID: b.channel(telemetry.ChanPitLimiter, ""), Value: v}})
			pits = pits[1:]
		}
		b.row(cols, names, rec, line, ns, gpsCol < 0 || strings.TrimSpace(field(rec, gpsCol)) == "1")
	})
	b.trackAddictLapTimes()
	return nil
}

// pitComment is a "# Pit Lane Entry" (on) or "# Pit Lane Exit" comment at
// a file line.
type pitComment struct {
	line int
	on   bool
}

// pitLaneComment reads TrackAddict's pit lane comments.
func pitLaneComment(c string) (on, ok bool) {
	switch strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(c), "#"))) {
	case "pit lane entry":
		return true, true
	case "pit lane exit":
		return false, true
	}
	return false, false
}

// trackAddictComment notes what a comment line says about the session:
// its title and track, and the lap times ("# Lap N: H:MM:SS.mmm").
func trackAddictComment(b *builder, line int, c string) {
	c = strings.TrimSpace(strings.TrimPrefix(c, "#"))
	k, v, _ := strings.Cut(c, ":")
	k, v = strings.TrimSpace(k), strings.TrimSpace(v)
	switch k { // the banner ("RaceRender Data: TrackAddict 4.8 on ...") names the app, not the session
	case "Session", "Session Name":
		b.log.Title = v
	case "Track", "Track Name":
		b.log.Track = v
	}
	n, ok := strings.CutPrefix(k, "Lap ")
	if !ok {
		return
	}
	lap, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil || lap < 0 || lap > 1e6 {
		return // some other "Lap ..." comment
	}
	d, err := parseClock(v)
	if err != nil {
		b.bad(BadMarker, line, c, fmt.Errorf("lap time comment %q: want \"Lap N: H:MM:SS.mmm\"", c))
		return
	}
	if b.lapTimes == nil {
		b.lapTimes = map[int]int64{}
	}
	b.lapTimes[lap] = d
}

// maxLapTimeShift bounds how far a TrackAddict lap time may move a lap
// marker from the row where the Lap column changed: the column changes
// at the first fix after the crossing, so by at most a GPS period (1 s
// for a phone, a few with dropouts); further means the comment and the
// column disagree, and the row is kept.
const maxLapTimeShift = 5 * int64(time.Second)

// trackAddictLapTimes places the lap markers by TrackAddict's own lap
// times. TrackAddict changes its Lap column on the first GPS fix after it
// timed a crossing (up to a second late on a phone at 1 Hz) and writes
// the interpolated lap time as "# Lap N: H:MM:SS.mmm" beside that row. A
// run of markers whose laps all have such a time is chained by them
// (marker k+1 = marker k + lap time) and then moved back as a whole until
// no marker is after its row: the gaps between markers are the device's
// own lap times, and every crossing is where it can have been.
func (b *builder) trackAddictLapTimes() {
	placed, most := 0, int64(0)
	for i := 0; i < len(b.markers); {
		j, chained := i+1, []int64{b.markers[i].ns}
		for ; j < len(b.markers); j++ {
			prev, cur := b.markers[j-1], b.markers[j]
			d, ok := b.lapTimes[int(prev.lap)]
			next := chained[len(chained)-1] + d
			if !ok || cur.lap != prev.lap+1 || prev.lap != math.Trunc(prev.lap) || abs64(next-cur.ns) > maxLapTimeShift {
				break
			}
			chained = append(chained, next)
		}
		shift := int64(0)
		for k, c := range chained {
			shift = min(shift, b.markers[i+k].ns-c)
		}
		if len(chained) > 1 {
			placed += len(chained)
		}
		for k, c := range chained {
			most = max(most, b.markers[i+k].ns-(c+shift))
			b.markers[i+k].ns = c + shift
		}
		i = j
	}
	if placed > 0 {
		b.log.Notes = append(b.log.Notes, fmt.Sprintf("%d of %d lap markers placed by TrackAddict's own lap times (\"# Lap N\"), up to %.3f s before the row where its Lap column changed", placed, len(b.markers), float64(most)/1e9))
	}
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// parseClock reads a lap time: [[H:]MM:]SS[.fff].
func parseClock(s string) (int64, error) {
	parts := strings.Split(strings.TrimSpace(s), ":")
	if len(parts) > 3 {
		return 0, fmt.Errorf("lap time %q", s)
	}
	sec, err := parseSeconds(parts[len(parts)-1])
	if err != nil {
		return 0, err
	}
	mult := int64(time.Minute)
	for i := len(parts) - 2; i >= 0; i-- {
		v, err := strconv.ParseUint(strings.TrimSpace(parts[i]), 10, 16)
		if err != nil {
			return 0, fmt.Errorf("lap time %q", s)
		}
		sec += int64(v) * mult
		mult *= 60
	}
	return sec, nil
}

// commentFilter passes a reader's lines on without the comment lines
// (those starting with '#', after a byte-order mark), which it hands to
// onComment; physical maps the line numbers of what it passed back to
// the file's.
type commentFilter struct {
	r         *bufio.Reader
	onComment func(line int, c string)
	buf       []byte
	line      int   // lines read from r
	kept      []int // kept[i] is the file line of passed line i+1
}

func (f *commentFilter) Read(p []byte) (int, error) {
	for len(f.buf) == 0 {
		s, err := f.r.ReadString('\n')
		if s == "" {
			return 0, err
		}
		f.line++
		if f.line == 1 {
			s = strings.TrimPrefix(s, "\xef\xbb\xbf") // a byte-order mark is no part of the first name
		}
		t := strings.TrimLeft(s, " \t")
		if strings.HasPrefix(t, "#") {
			f.onComment(f.line, strings.TrimRight(t, "\r\n"))
			continue
		}
		if len(f.kept) < MaxRows+16 {
			f.kept = append(f.kept, f.line)
		}
		f.buf = []byte(s)
		if !strings.HasSuffix(s, "\n") {
			f.buf = append(f.buf, '\n')
		}
	}
	n := copy(p, f.buf)
	f.buf = f.buf[n:]
	return n, nil
}

// physical returns the file's line number of passed line n.
func (f *commentFilter) physical(n int) int {
	if n >= 1 && n <= len(f.kept) {
		return f.kept[n-1]
	}
	return n
}
