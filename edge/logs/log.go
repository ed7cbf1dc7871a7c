package logs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/pitwall/pitwall/telemetry"
	"github.com/pitwall/pitwall/track"
)

// Format names a recorded-log format.
type Format string

// The formats Read knows; FormatAuto lets Sniff choose.
const (
	FormatAuto        Format = "auto"
	FormatRaceChrono  Format = "racechrono"
	FormatTrackAddict Format = "trackaddict"
	FormatAiM         Format = "aim"
	FormatCSV         Format = "csv"
)

// Formats lists the formats Read knows, FormatAuto first.
var Formats = []Format{FormatAuto, FormatRaceChrono, FormatTrackAddict, FormatAiM, FormatCSV}

var (
	// ErrFormat is wrapped by every error about a file Read cannot
	// understand as a whole (its header, its format).
	ErrFormat = errors.New("logs: unreadable log")
	// ErrConfig is wrapped by errors in Options.
	ErrConfig = errors.New("logs: bad options")
)

// MaxRows bounds the rows Read takes from one file: a day at 100 Hz.
const MaxRows = 100 * 86400

// Options says how to read a log.
type Options struct {
	// Format is the file's format. Default FormatAuto: Sniff decides.
	Format Format
	// Car is the car id on the catalog and every frame. Required.
	Car string
	// Session is the session id. Default: the session title the file
	// names (folded to a valid session id), else empty.
	Session string
	// Map maps Pitwall's column roles (time, lat, lon, x, z, speed,
	// gps_speed, heading, lap) or channel names to a generic CSV's column
	// names: the --map flag's "time=Time,lat=Latitude". Other formats
	// ignore it. Default: columns are found by their names.
	Map map[string]string
}

// BadRows is one kind of unreadable row: how many, and the first.
type BadRows struct {
	// Count is the number of rows of this kind.
	Count int
	// Line is the first such row's line number (1-based).
	Line int
	// Err is the first such row's error.
	Err error
	// Raw is the first such row as read.
	Raw string
}

// Kinds of bad row (the keys of Log.Bad).
const (
	BadTime   = "bad_time"   // the time cell is not a time
	BadValue  = "bad_value"  // a value cell is not a finite number
	BadRow    = "bad_row"    // the CSV row itself is broken (quotes, too few cells)
	BadMarker = "bad_marker" // a lap marker (beacon, lap comment) that is not a time
)

// Log is one recorded session of one car.
type Log struct {
	// Format is the format it was read as.
	Format Format
	// Catalog is the car's channels; every frame's ids are in it.
	Catalog telemetry.ChannelCatalog
	// Frames are the samples, one frame per time, in time order; Seq is
	// the frame's index (0, 1, ...), so a second reading gives the same
	// frames.
	Frames []telemetry.Frame
	// Markers are the device's lap markers (times of device_lap samples).
	Markers []int64
	// Title and Track are what the file says of itself, if anything.
	Title, Track string
	// Rows is how many data rows were read, good and bad.
	Rows int
	// Bad counts the rows skipped, by kind (BadTime, ...).
	Bad map[string]*BadRows
	// Notes are things about the file worth a warning (one line each).
	Notes []string
	// Rejected are the skipped rows themselves, the first MaxRejected,
	// for the dead-letter topic.
	Rejected []Rejected
}

// MaxRejected bounds the skipped rows a Log keeps (Log.Rejected).
const MaxRejected = 10000

// Rejected is one skipped row.
type Rejected struct {
	Kind string // BadTime, ...
	Line int    // 1-based; 0 where unknown
	Raw  string // the row's cells joined by ','; "" for broken CSV
	Err  error
}

// BadCount returns the number of rows skipped.
func (l *Log) BadCount() int {
	n := 0
	for _, b := range l.Bad {
		n += b.Count
	}
	return n
}

// Sniff names the format of a log from its first bytes (4 KiB is
// plenty): RaceChrono's banner, TrackAddict's RaceRender banner or
// GPS_Update column, AiM's "Format","AiM CSV File" row; anything else is
// FormatCSV.
func Sniff(head []byte) Format {
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	sc := bufio.NewScanner(bytes.NewReader(head))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 0; sc.Scan() && n < 40; n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		low := strings.ToLower(line)
		unq := strings.ReplaceAll(low, `"`, "")
		switch {
		case strings.Contains(low, "racechrono") && n < 3:
			return FormatRaceChrono
		case strings.HasPrefix(low, "#") && (strings.Contains(low, "racerender") || strings.Contains(low, "trackaddict")):
			return FormatTrackAddict
		case strings.HasPrefix(unq, "format,aim csv file") || strings.HasPrefix(unq, "format;aim csv file"):
			return FormatAiM
		case !strings.HasPrefix(low, "#") && strings.Contains(unq, "gps_update"):
			return FormatTrackAddict
		}
		if !strings.HasPrefix(low, "#") {
			return FormatCSV // the first line that is not a comment decides
		}
	}
	return FormatCSV
}

// ParseFormat checks a --format value.
func ParseFormat(s string) (Format, error) {
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	if f == "" {
		return FormatAuto, nil
	}
	if slices.Contains(Formats, f) {
		return f, nil
	}
	return "", fmt.Errorf("%w: format %q: want auto, racechrono, trackaddict, aim or csv", ErrConfig, s)
}

// ParseMap reads a --map value: comma-separated ROLE=COLUMN pairs.
func ParseMap(s string) (map[string]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	m := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("%w: --map %q: want ROLE=COLUMN[,ROLE=COLUMN...], e.g. time=Time,lat=Latitude,lon=Longitude", ErrConfig, kv)
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("%w: --map names %s twice", ErrConfig, k)
		}
		m[k] = v
	}
	return m, nil
}

// Read reads a whole log of opts.Format (Sniff's guess for FormatAuto).
func Read(r io.Reader, opts Options) (*Log, error) {
	if !telemetry.ValidCar(opts.Car) {
		return nil, fmt.Errorf("%w: car id %q: 1-%d letters, digits, '.', '_' or '-'", ErrConfig, opts.Car, telemetry.MaxCarLen)
	}
	if !telemetry.ValidSession(opts.Session) {
		return nil, fmt.Errorf("%w: session %q", ErrConfig, opts.Session)
	}
	format := opts.Format
	if format == "" {
		format = FormatAuto
	}
	br := bufio.NewReaderSize(r, 64<<10)
	if format == FormatAuto {
		head, _ := br.Peek(4096)
		format = Sniff(head)
	}
	b := newBuilder(format)
	var err error
	switch format {
	case FormatRaceChrono:
		err = readRaceChrono(br, b)
	case FormatTrackAddict:
		err = readTrackAddict(br, b)
	case FormatAiM:
		err = readAiM(br, b)
	case FormatCSV:
		err = readGeneric(br, b, opts.Map)
	default:
		_, err = ParseFormat(string(format))
	}
	if err != nil {
		return nil, err
	}
	return b.finish(opts)
}

// builder gathers a log's channels, rows and markers while a format's
// reader goes through the file.
type builder struct {
	log     Log
	ids     map[string]int32 // channel name → id
	idx     map[int32]int    // channel id → index in chans + 1
	chans   []chanStats
	rows    []row
	markers []marker
	lastLap string
	lapSeen bool // a row before had a lap cell (empty counts once rows began)
	// lapTimes are the device's own lap times by lap number, where the
	// file gives them (TrackAddict's "# Lap N" comments).
	lapTimes map[int]int64
}

type chanStats struct {
	telemetry.Channel
	n          int
	minV, maxV float64
}

type row struct {
	ns      int64
	samples []telemetry.Sample
}

type marker struct {
	ns  int64
	lap float64
}

func newBuilder(f Format) *builder {
	return &builder{log: Log{Format: f, Bad: map[string]*BadRows{}}, ids: map[string]int32{}, idx: map[int32]int{}}
}

// idSpace bounds channel ids: below 2^20 they take at most 3 bytes in a
// frame (Avro's zigzag varint).
const idSpace = 1 << 20

// stableID is a channel's id from its name (FNV-1a, in idSpace), so every
// log of a car gives a channel the same id whatever other columns it has:
// the lap processor decodes a car's frames with the car's latest catalog,
// and frames imported from an earlier file with other columns must still
// mean the same with it.
func stableID(name string) int32 {
	h := fnv.New32a()
	h.Write([]byte(name))
	return int32(h.Sum32() % idSpace)
}

// channel returns the id of the channel name (folded to a valid name),
// adding it with unit on first use.
func (b *builder) channel(name, unit string) int32 {
	if id, ok := b.ids[name]; ok {
		return id
	}
	id := stableID(name)
	for b.idx[id] != 0 { // taken by another name: the next free id
		id = (id + 1) % idSpace
	}
	b.ids[name] = id
	b.chans = append(b.chans, chanStats{Channel: telemetry.Channel{ID: id, Name: name, Unit: foldUnit(unit)}})
	b.idx[id] = len(b.chans) // index + 1, so 0 means free
	return id
}

// uniqueName folds s to a channel name no column took yet.
func (b *builder) uniqueName(s string, taken map[string]bool) string {
	base := FoldName(s)
	name := base
	for i := 2; taken[name]; i++ {
		suffix := "_" + strconv.Itoa(i)
		name = base[:min(len(base), telemetry.MaxNameLen-len(suffix))] + suffix
	}
	taken[name] = true
	return name
}

// bad counts a skipped row of kind.
func (b *builder) bad(kind string, line int, raw string, err error) {
	if len(b.log.Rejected) < MaxRejected {
		b.log.Rejected = append(b.log.Rejected, Rejected{Kind: kind, Line: line, Raw: raw, Err: err})
	}
	br := b.log.Bad[kind]
	if br == nil {
		if len(raw) > 200 {
			raw = raw[:200] + "..."
		}
		br = &BadRows{Line: line, Err: err, Raw: raw}
		b.log.Bad[kind] = br
	}
	br.Count++
}

// full reports whether the log reached MaxRows (noting it once).
func (b *builder) full() bool {
	if len(b.rows) < MaxRows {
		return false
	}
	if !slices.ContainsFunc(b.log.Notes, func(s string) bool { return strings.HasPrefix(s, "more than") }) {
		b.log.Notes = append(b.log.Notes, fmt.Sprintf("more than %d rows: the rest of the file is not read", MaxRows))
	}
	return true
}

// add records one row's samples at ns.
func (b *builder) add(ns int64, samples []telemetry.Sample) {
	for _, s := range samples {
		c := &b.chans[b.idx[s.ID]-1]
		if c.n == 0 || s.Value < c.minV {
			c.minV = s.Value
		}
		if c.n == 0 || s.Value > c.maxV {
			c.maxV = s.Value
		}
		c.n++
	}
	b.rows = append(b.rows, row{ns: ns, samples: samples})
}

// lapCell follows a lap-counter cell: a row where the counter differs
// from the last one seen (or is the first value after rows without one)
// is a lap marker at that row's time.
func (b *builder) lapCell(ns int64, cell string) {
	cell = strings.TrimSpace(cell)
	if cell == "" {
		b.lapSeen = true
		return
	}
	if b.lapSeen && cell != b.lastLap {
		v, err := strconv.ParseFloat(cell, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			v = float64(len(b.markers) + 1)
		}
		b.markers = append(b.markers, marker{ns: ns, lap: v})
	}
	b.lastLap, b.lapSeen = cell, true
}

// finish sorts the rows into frames, adds the lap markers as device_lap
// samples and builds the catalog.
func (b *builder) finish(opts Options) (*Log, error) {
	if len(b.rows) == 0 {
		if n := b.log.BadCount(); n > 0 {
			return nil, fmt.Errorf("%w: no readable rows (%d bad: %s)", ErrFormat, n, b.log.badSummary())
		}
		return nil, fmt.Errorf("%w: no data rows", ErrFormat)
	}
	if len(b.markers) > 0 {
		// A marker goes in a frame of its own: 1 ns before a row at its
		// very time, so that whoever reads a frame's position before its
		// other samples (the lap detector does) knows the marker by the
		// time that position completes a crossing.
		taken := make(map[int64]bool, len(b.rows))
		for _, r := range b.rows {
			taken[r.ns] = true
		}
		id := b.channel(telemetry.ChanDeviceLap, "")
		for _, m := range b.markers {
			ns := m.ns
			if taken[ns] && !taken[ns-1] && ns > 0 {
				ns--
			}
			b.add(ns, []telemetry.Sample{{ID: id, Value: m.lap}})
			b.log.Markers = append(b.log.Markers, m.ns)
		}
	}
	sort.SliceStable(b.rows, func(i, j int) bool { return b.rows[i].ns < b.rows[j].ns })
	session := opts.Session
	if session == "" {
		session = foldSession(b.log.Title)
	}
	l := &b.log
	for i := 0; i < len(b.rows); {
		f := telemetry.Frame{Car: opts.Car, Session: session, Seq: int64(len(l.Frames)), TimeNs: b.rows[i].ns}
		for ; i < len(b.rows) && b.rows[i].ns == f.TimeNs; i++ {
			f.Samples = append(f.Samples, b.rows[i].samples...)
		}
		f.SortSamples()
		if len(f.Samples) > telemetry.MaxSamples {
			f.Samples = f.Samples[:telemetry.MaxSamples]
		}
		l.Frames = append(l.Frames, f)
	}
	first, last := l.Frames[0].TimeNs, l.Frames[len(l.Frames)-1].TimeNs
	span := float64(last-first) / 1e9
	cat := telemetry.ChannelCatalog{Car: opts.Car, Session: session, TimeNs: first}
	slices.SortFunc(b.chans, func(x, y chanStats) int { return int(x.ID) - int(y.ID) })
	for _, c := range b.chans {
		if c.n == 0 {
			continue // a column never filled
		}
		ch := c.Channel
		ch.RateHz = 1
		if span > 0 && c.n > 1 {
			ch.RateHz = math.Max(float64(c.n-1)/span, 0.001)
		}
		ch.Min, ch.Max = c.minV, c.maxV
		cat.Channels = append(cat.Channels, ch)
	}
	if err := cat.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	l.Catalog = cat
	return l, nil
}

// badSummary is the kinds of bad row, each with its first example.
func (l *Log) badSummary() string {
	kinds := make([]string, 0, len(l.Bad))
	for k := range l.Bad {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var parts []string
	for _, k := range kinds {
		b := l.Bad[k]
		parts = append(parts, fmt.Sprintf("%d %s, first line %d: %v", b.Count, k, b.Line, b.Err))
	}
	return strings.Join(parts, "; ")
}

// BadSummary is one line naming each kind of bad row, its count and its
// first example; "" when every row was read.
func (l *Log) BadSummary() string { return l.badSummary() }

// FoldName turns a column title into a channel name: lower case, runs of
// anything but letters, digits and '.' become one '_', at most
// telemetry.MaxNameLen bytes; "col" when nothing is left.
func FoldName(s string) string {
	var sb strings.Builder
	under := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.':
			if under && sb.Len() > 0 {
				sb.WriteByte('_')
			}
			under = false
			sb.WriteRune(r)
		default:
			under = true
		}
	}
	name := sb.String()
	if len(name) > telemetry.MaxNameLen {
		name = name[:telemetry.MaxNameLen]
	}
	if name == "" {
		return "col"
	}
	return name
}

// foldUnit keeps a unit's printable bytes that telemetry.ValidUnit
// allows, at most MaxUnitLen of them ("°C" becomes "C").
func foldUnit(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s) && sb.Len() < telemetry.MaxUnitLen; i++ {
		c := s[i]
		if c > ' ' && c < 0x7f && c != ',' && c != '*' && c != '$' {
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

// foldSession turns a session title into a session id ("" stays "").
func foldSession(s string) string {
	var sb strings.Builder
	for _, r := range s {
		if sb.Len() >= telemetry.MaxSessionLen {
			break
		}
		switch {
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' || r == ':':
			sb.WriteRune(r)
		case r == ' ' || r == '/':
			sb.WriteByte('_')
		}
	}
	return sb.String()
}

// Fixes returns the log's GPS fixes (frames with gps_lat and gps_lon, or
// pos_x and pos_z when planar) and its lap markers, in the form
// track.Derive takes, so a track file can be derived from a device's
// export (`pitwall track derive`).
func (l *Log) Fixes(planar bool) (fixes []track.Fix, markers []int64) {
	a, b := telemetry.ChanGPSLat, telemetry.ChanGPSLon
	if planar {
		a, b = telemetry.ChanPosX, telemetry.ChanPosZ
	}
	ca, okA := l.Catalog.ByName(a)
	cb, okB := l.Catalog.ByName(b)
	if !okA || !okB {
		return nil, slices.Clone(l.Markers)
	}
	for i := range l.Frames {
		f := &l.Frames[i]
		va, okA := f.Value(ca.ID)
		vb, okB := f.Value(cb.ID)
		if !okA || !okB {
			continue
		}
		fx := track.Fix{TimeNs: f.TimeNs, LatLon: track.LatLon{Lat: va, Lon: vb}}
		if planar {
			fx = track.Fix{TimeNs: f.TimeNs, Point: track.Point{X: va, Z: vb}}
		}
		fixes = append(fixes, fx)
	}
	return fixes, slices.Clone(l.Markers)
}
