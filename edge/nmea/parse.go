package nmea

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// MaxSentence bounds a line: NMEA 0183 allows 82 bytes, some receivers'
// proprietary sentences run longer.
const MaxSentence = 256

// Errors of ParseSentence.
var (
	// ErrChecksum: the "*HH" checksum does not match the sentence.
	ErrChecksum = errors.New("nmea: checksum mismatch")
	// ErrMalformed: the line breaks the sentence grammar.
	ErrMalformed = errors.New("nmea: malformed sentence")
	// ErrUnsupported: a well-formed sentence of a type the source does
	// not read (GSV, GSA, GLL, TXT, proprietary).
	ErrUnsupported = errors.New("nmea: sentence type not read")
)

// Kind is the type of a sentence.
type Kind uint8

// The sentence types the source reads.
const (
	RMC Kind = iota + 1 // recommended minimum: time, date, status, position, speed, course
	GGA                 // fix data: time, position, quality, satellites, HDOP, altitude
	VTG                 // course and speed over ground
)

// Sentence is what one RMC, GGA or VTG sentence says. Fields the sentence
// leaves empty are not Has... set.
type Sentence struct {
	Kind   Kind
	Talker string // "GP", "GN", ...

	// TimeMs is the UTC time of day in milliseconds (RMC, GGA), -1 when
	// empty.
	TimeMs int64
	// Date is RMC's date as days since the Unix epoch, -1 when empty.
	Date int64

	HasPos   bool
	Lat, Lon float64 // degrees, south and west negative

	HasSpeed bool
	SpeedKmh float64
	HasTrack bool
	Track    float64 // course over ground, degrees true

	// GGA only.
	HasFix   bool
	Quality  int // 0 invalid, 1 GPS, 2 DGPS, 4 RTK fixed, 5 RTK float, 6 dead reckoning...
	Sats     int
	HasHDOP  bool
	HDOP     float64
	HasAlt   bool
	Altitude float64 // metres above mean sea level
}

// ParseSentence parses one line: "$" talker type "," fields "*" HH, with
// or without its "\r\n". Errors wrap ErrChecksum, ErrMalformed or
// ErrUnsupported.
func ParseSentence(line []byte) (Sentence, error) {
	line = bytes.TrimRight(line, "\r\n")
	if len(line) < 7 || line[0] != '$' {
		return Sentence{}, fmt.Errorf("%w: no $ address", ErrMalformed)
	}
	star := bytes.LastIndexByte(line, '*')
	if star < 0 || star != len(line)-3 {
		return Sentence{}, fmt.Errorf("%w: no *HH checksum at the end", ErrMalformed)
	}
	want, ok := hexByte(line[star+1:])
	if !ok {
		return Sentence{}, fmt.Errorf("%w: checksum %q is not two hex digits", ErrMalformed, line[star+1:])
	}
	var sum byte
	for _, c := range line[1:star] {
		if c < 0x20 || c > 0x7e {
			return Sentence{}, fmt.Errorf("%w: byte %#02x in the sentence", ErrMalformed, c)
		}
		sum ^= c
	}
	if sum != want {
		return Sentence{}, fmt.Errorf("%w: computed %02X, sentence says %02X", ErrChecksum, sum, want)
	}
	fields := bytes.Split(line[1:star], []byte{','})
	addr := fields[0]
	if len(addr) != 5 || addr[0] == 'P' {
		return Sentence{}, fmt.Errorf("%w: %q", ErrUnsupported, addr)
	}
	s := Sentence{Talker: string(addr[:2]), TimeMs: -1, Date: -1}
	var err error
	switch string(addr[2:]) {
	case "RMC":
		s.Kind = RMC
		err = s.rmc(fields[1:])
	case "GGA":
		s.Kind = GGA
		err = s.gga(fields[1:])
	case "VTG":
		s.Kind = VTG
		err = s.vtg(fields[1:])
	default:
		return Sentence{}, fmt.Errorf("%w: %q", ErrUnsupported, addr)
	}
	if err != nil {
		return Sentence{}, fmt.Errorf("%w: %s: %v", ErrMalformed, addr, err)
	}
	return s, nil
}

// rmc: time, status, lat, N/S, lon, E/W, speed kn, course, date, magvar, E/W[, mode[, nav status]].
func (s *Sentence) rmc(f [][]byte) error {
	if len(f) < 9 { // up to the date; magnetic variation and mode are often left out
		return fmt.Errorf("%d fields, want at least 9", len(f))
	}
	var err error
	if s.TimeMs, err = timeOfDay(f[0]); err != nil {
		return err
	}
	if s.Date, err = date(f[8]); err != nil {
		return err
	}
	switch string(f[1]) {
	case "A":
		if s.HasPos, err = s.position(f[2], f[3], f[4], f[5]); err != nil {
			return err
		}
	case "V", "":
	default:
		return fmt.Errorf("status %q", f[1])
	}
	if s.HasSpeed, s.SpeedKmh, err = number(f[6], 0, 10000); err != nil {
		return fmt.Errorf("speed: %v", err)
	}
	s.SpeedKmh *= 1.852
	if s.HasTrack, s.Track, err = number(f[7], 0, 360); err != nil {
		return fmt.Errorf("course: %v", err)
	}
	if !s.HasPos {
		s.HasSpeed, s.HasTrack, s.SpeedKmh, s.Track = false, false, 0, 0 // no fix: no motion either
	}
	return nil
}

// gga: time, lat, N/S, lon, E/W, quality, sats, hdop, alt, M, geoid sep, M, dgps age, dgps station.
func (s *Sentence) gga(f [][]byte) error {
	if len(f) < 9 { // up to the altitude; the geoid and DGPS fields are often left out
		return fmt.Errorf("%d fields, want at least 9", len(f))
	}
	var err error
	if s.TimeMs, err = timeOfDay(f[0]); err != nil {
		return err
	}
	var q, n float64
	if s.HasFix, q, err = number(f[5], 0, 9); err != nil || q != math.Trunc(q) {
		return fmt.Errorf("fix quality %q", f[5])
	}
	s.Quality = int(q)
	var hasSats bool
	if hasSats, n, err = number(f[6], 0, 255); err != nil || n != math.Trunc(n) {
		return fmt.Errorf("satellites %q", f[6])
	}
	if hasSats {
		s.Sats = int(n)
	}
	if s.HasHDOP, s.HDOP, err = number(f[7], 0, 100); err != nil {
		return fmt.Errorf("hdop: %v", err)
	}
	if s.HasAlt, s.Altitude, err = number(f[8], -10000, 100000); err != nil {
		return fmt.Errorf("altitude: %v", err)
	}
	if s.Quality > 0 {
		if s.HasPos, err = s.position(f[1], f[2], f[3], f[4]); err != nil {
			return err
		}
	}
	if !s.HasPos {
		s.HasAlt, s.HasHDOP, s.Altitude, s.HDOP = false, false, 0, 0
	}
	return nil
}

// vtg: course true, T, course magnetic, M, speed kn, N, speed km/h, K[, mode].
func (s *Sentence) vtg(f [][]byte) error {
	if len(f) < 8 {
		return fmt.Errorf("%d fields, want at least 8", len(f))
	}
	var err error
	if s.HasTrack, s.Track, err = number(f[0], 0, 360); err != nil {
		return fmt.Errorf("course: %v", err)
	}
	if s.HasSpeed, s.SpeedKmh, err = number(f[6], 0, 20000); err != nil {
		return fmt.Errorf("speed: %v", err)
	}
	if !s.HasSpeed {
		var kn float64
		if s.HasSpeed, kn, err = number(f[4], 0, 10000); err != nil {
			return fmt.Errorf("speed: %v", err)
		}
		s.SpeedKmh = kn * 1.852
	}
	if len(f) > 8 && string(f[8]) == "N" { // mode N: data not valid
		s.HasSpeed, s.HasTrack = false, false
	}
	return nil
}

// position reads ddmm.mmmm,N,dddmm.mmmm,E; all empty is no position.
func (s *Sentence) position(lat, ns, lon, ew []byte) (bool, error) {
	if len(lat) == 0 && len(ns) == 0 && len(lon) == 0 && len(ew) == 0 {
		return false, nil
	}
	var err error
	if s.Lat, err = degrees(lat, 2, 90); err != nil {
		return false, fmt.Errorf("latitude %q: %v", lat, err)
	}
	if s.Lon, err = degrees(lon, 3, 180); err != nil {
		return false, fmt.Errorf("longitude %q: %v", lon, err)
	}
	switch string(ns) {
	case "N":
	case "S":
		s.Lat = -s.Lat
	default:
		return false, fmt.Errorf("hemisphere %q", ns)
	}
	switch string(ew) {
	case "E":
	case "W":
		s.Lon = -s.Lon
	default:
		return false, fmt.Errorf("hemisphere %q", ew)
	}
	return true, nil
}

// degrees reads d..dmm.mmmm with deg digits of degrees.
func degrees(b []byte, deg int, max float64) (float64, error) {
	dot := bytes.IndexByte(b, '.')
	if dot < 0 {
		dot = len(b)
	}
	if dot != deg+2 || !digits(b[:dot]) || (dot < len(b) && !digits(b[dot+1:])) {
		return 0, errors.New("want " + fmt.Sprint(deg) + " digits of degrees and 2 of minutes")
	}
	d, _ := strconv.Atoi(string(b[:deg]))
	m, err := strconv.ParseFloat(string(b[deg:]), 64)
	if err != nil || m >= 60 {
		return 0, errors.New("minutes out of range")
	}
	v := float64(d) + m/60
	if v > max {
		return 0, errors.New("out of range")
	}
	return v, nil
}

// timeOfDay reads hhmmss[.sss] as milliseconds; empty is -1.
func timeOfDay(b []byte) (int64, error) {
	if len(b) == 0 {
		return -1, nil
	}
	if len(b) < 6 || !digits(b[:6]) || (len(b) > 6 && (b[6] != '.' || !digits(b[7:]) || len(b) > 16)) {
		return 0, fmt.Errorf("time %q", b)
	}
	h, m := int64(b[0]-'0')*10+int64(b[1]-'0'), int64(b[2]-'0')*10+int64(b[3]-'0')
	sec, _ := strconv.ParseFloat(string(b[4:]), 64)
	if h > 23 || m > 59 || sec >= 61 { // 60.x: a leap second
		return 0, fmt.Errorf("time %q", b)
	}
	return (h*3600+m*60)*1000 + int64(math.Round(sec*1000)), nil
}

// date reads ddmmyy as days since the Unix epoch (years 80-99 are 19xx);
// empty is -1.
func date(b []byte) (int64, error) {
	if len(b) == 0 {
		return -1, nil
	}
	if len(b) != 6 || !digits(b) {
		return 0, fmt.Errorf("date %q", b)
	}
	d, m, y := int(b[0]-'0')*10+int(b[1]-'0'), int(b[2]-'0')*10+int(b[3]-'0'), int(b[4]-'0')*10+int(b[5]-'0')
	if d < 1 || d > 31 || m < 1 || m > 12 {
		return 0, fmt.Errorf("date %q", b)
	}
	y += 2000
	if y >= 2080 {
		y -= 100
	}
	return daysFromCivil(y, m, d), nil
}

// daysFromCivil is the days since 1970-01-01 of a proleptic Gregorian
// date (Howard Hinnant's algorithm); a day past the month's end rolls
// over, as time.Date would.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era*146097 + doe - 719468)
}

// number reads an optional decimal within [lo, hi].
func number(b []byte, lo, hi float64) (bool, float64, error) {
	if len(b) == 0 {
		return false, 0, nil
	}
	for _, c := range b {
		if (c < '0' || c > '9') && c != '.' && c != '-' {
			return false, 0, fmt.Errorf("%q is not a number", b)
		}
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil || !(v >= lo && v <= hi) {
		return false, 0, fmt.Errorf("%q is not a number in %v..%v", b, lo, hi)
	}
	return true, v, nil
}

func digits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

func hexByte(b []byte) (byte, bool) {
	var v byte
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		default:
			return 0, false
		}
		v = v<<4 | c
	}
	return v, len(b) == 2
}

// AppendChecksum appends "*HH\r\n" to a sentence that starts with "$":
// what a receiver sends, for the simulator and tests.
func AppendChecksum(b []byte) []byte {
	var sum byte
	for _, c := range b[1:] {
		sum ^= c
	}
	const hex = "0123456789ABCDEF"
	return append(b, '*', hex[sum>>4], hex[sum&15], '\r', '\n')
}
