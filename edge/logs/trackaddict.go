package logs

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"strings"
)

// readTrackAddict reads TrackAddict's RaceRender CSV (see doc.go). Comment
// lines may come anywhere; the first other line is the header row.
func readTrackAddict(r *bufio.Reader, b *builder) error {
	lines := &commentFilter{r: r, onComment: func(line int, c string) { trackAddictComment(b, line, c) }}
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
		b.row(cols, names, rec, line, ns, gpsCol < 0 || strings.TrimSpace(field(rec, gpsCol)) == "1")
	})
	return nil
}

// trackAddictComment notes what a comment line says about the session.
func trackAddictComment(b *builder, line int, c string) {
	c = strings.TrimSpace(strings.TrimPrefix(c, "#"))
	k, v, _ := strings.Cut(c, ":")
	switch strings.TrimSpace(k) { // the banner ("RaceRender Data: TrackAddict 4.8 on ...") names the app, not the session
	case "Session", "Session Name":
		b.log.Title = strings.TrimSpace(v)
	case "Track", "Track Name":
		b.log.Track = strings.TrimSpace(v)
	}
	_ = line
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
		t := strings.TrimLeft(strings.TrimPrefix(s, "\xef\xbb\xbf"), " \t")
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
