package nmea

import (
	"errors"
	"math"
	"testing"
)

// Sentences as receivers print them: the NMEA 0183 example everyone
// quotes, and the examples of u-blox's protocol specification (their
// checksums as published).
func TestParseSentence(t *testing.T) {
	day := func(y, m, d int) int64 { return daysFromCivil(y, m, d) }
	for _, tc := range []struct {
		line string
		want Sentence
	}{
		{"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A\r\n", Sentence{Kind: RMC, Talker: "GP",
			TimeMs: (12*3600 + 35*60 + 19) * 1000, Date: day(1994, 3, 23), HasPos: true, Lat: 48 + 7.038/60, Lon: 11 + 31.0/60,
			HasSpeed: true, SpeedKmh: 22.4 * 1.852, HasTrack: true, Track: 84.4}},
		{"$GPRMC,083559.00,A,4717.11437,N,00833.91522,E,0.004,77.52,091202,,,A*57", Sentence{Kind: RMC, Talker: "GP",
			TimeMs: (8*3600 + 35*60 + 59) * 1000, Date: day(2002, 12, 9), HasPos: true, Lat: 47 + 17.11437/60, Lon: 8 + 33.91522/60,
			HasSpeed: true, SpeedKmh: 0.004 * 1.852, HasTrack: true, Track: 77.52}},
		{"$GNRMC,083559.00,A,4717.11437,N,00833.91522,E,0.004,77.52,091202,,,A*49", Sentence{Kind: RMC, Talker: "GN",
			TimeMs: (8*3600 + 35*60 + 59) * 1000, Date: day(2002, 12, 9), HasPos: true, Lat: 47 + 17.11437/60, Lon: 8 + 33.91522/60,
			HasSpeed: true, SpeedKmh: 0.004 * 1.852, HasTrack: true, Track: 77.52}},
		{"$GPGGA,092725.00,4717.11399,N,00833.91590,E,1,08,1.01,499.6,M,48.0,M,,*5B", Sentence{Kind: GGA, Talker: "GP",
			TimeMs: (9*3600 + 27*60 + 25) * 1000, Date: -1, HasPos: true, Lat: 47 + 17.11399/60, Lon: 8 + 33.91590/60,
			HasFix: true, Quality: 1, Sats: 8, HasHDOP: true, HDOP: 1.01, HasAlt: true, Altitude: 499.6}},
		{"$GPVTG,77.52,T,,M,0.004,N,0.008,K,A*06", Sentence{Kind: VTG, Talker: "GP", TimeMs: -1, Date: -1,
			HasSpeed: true, SpeedKmh: 0.008, HasTrack: true, Track: 77.52}},
		// No fix: a time, no position, no motion.
		{"$GPRMC,235947.000,V,,,,,,,,,,N*43", Sentence{Kind: RMC, Talker: "GP", TimeMs: (23*3600 + 59*60 + 47) * 1000, Date: -1}},
		{"$GNGGA,235947.000,,,,,0,00,99.99,,,,,,*46", Sentence{Kind: GGA, Talker: "GN", TimeMs: (23*3600 + 59*60 + 47) * 1000, Date: -1,
			HasFix: true}},
		// Trailing fields left out, as some receivers do.
		{string(AppendChecksum([]byte("$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394"))), Sentence{Kind: RMC, Talker: "GP",
			TimeMs: (12*3600 + 35*60 + 19) * 1000, Date: day(1994, 3, 23), HasPos: true, Lat: 48 + 7.038/60, Lon: 11 + 31.0/60,
			HasSpeed: true, SpeedKmh: 22.4 * 1.852, HasTrack: true, Track: 84.4}},
		{string(AppendChecksum([]byte("$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4"))), Sentence{Kind: GGA, Talker: "GP",
			TimeMs: (12*3600 + 35*60 + 19) * 1000, Date: -1, HasPos: true, Lat: 48 + 7.038/60, Lon: 11 + 31.0/60,
			HasFix: true, Quality: 1, Sats: 8, HasHDOP: true, HDOP: 0.9, HasAlt: true, Altitude: 545.4}},
		// South and west, milliseconds.
		{"$GPRMC,235959.960,A,3352.12800,S,15112.55800,W,10.000,180.00,311226,,,A*60", Sentence{Kind: RMC, Talker: "GP",
			TimeMs: (23*3600+59*60+59)*1000 + 960, Date: day(2026, 12, 31), HasPos: true, Lat: -(33 + 52.128/60), Lon: -(151 + 12.558/60),
			HasSpeed: true, SpeedKmh: 18.52, HasTrack: true, Track: 180}},
	} {
		got, err := ParseSentence([]byte(tc.line))
		if err != nil {
			t.Fatalf("%q: %v", tc.line, err)
		}
		if !near(got, tc.want) {
			t.Fatalf("%q:\n got %+v\nwant %+v", tc.line, got, tc.want)
		}
	}
}

func near(a, b Sentence) bool {
	close := func(x, y float64) bool { return math.Abs(x-y) < 1e-9 }
	return a.Kind == b.Kind && a.Talker == b.Talker && a.TimeMs == b.TimeMs && a.Date == b.Date &&
		a.HasPos == b.HasPos && close(a.Lat, b.Lat) && close(a.Lon, b.Lon) &&
		a.HasSpeed == b.HasSpeed && close(a.SpeedKmh, b.SpeedKmh) && a.HasTrack == b.HasTrack && close(a.Track, b.Track) &&
		a.HasFix == b.HasFix && a.Quality == b.Quality && a.Sats == b.Sats && a.HasHDOP == b.HasHDOP && close(a.HDOP, b.HDOP) &&
		a.HasAlt == b.HasAlt && close(a.Altitude, b.Altitude)
}

func TestParseSentenceErrors(t *testing.T) {
	for _, tc := range []struct {
		line string
		want error
	}{
		{"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6B", ErrChecksum},
		{"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W", ErrMalformed},    // no checksum
		{"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6", ErrMalformed},  // one digit
		{"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*ZZ", ErrMalformed}, // not hex
		{"GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A", ErrMalformed},  // no $
		{"$GPGSV,3,1,11,03,03,111,00,04,15,270,00,06,01,010,00,13,06,292,00*74", ErrUnsupported},
		{"$PUBX,00*33", ErrUnsupported},
		{string(AppendChecksum([]byte("$GPGGA,123521,9907.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"))), ErrMalformed}, // latitude 99
		{string(AppendChecksum([]byte("$GPGGA,123521,4807.038,X,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"))), ErrMalformed}, // hemisphere
		{string(AppendChecksum([]byte("$GPGGA,126021,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"))), ErrMalformed}, // minute 60
		{string(AppendChecksum([]byte("$GPGGA,123521,4807.038,N,01131.000,E,1,08"))), ErrMalformed},                      // fields missing
		{string(AppendChecksum([]byte("$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4"))), ErrMalformed},             // no date field
		{string(AppendChecksum([]byte("$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,320394,,,A"))), ErrMalformed},  // day 32
		{string(AppendChecksum([]byte("$GPRMC,123519,A,4807.038,N,01131.000,E,fast,084.4,230394,,,A"))), ErrMalformed},
		{string(AppendChecksum([]byte("$GPRMC,123519,Q,4807.038,N,01131.000,E,022.4,084.4,230394,,,A"))), ErrMalformed}, // status
	} {
		if _, err := ParseSentence([]byte(tc.line)); !errors.Is(err, tc.want) {
			t.Errorf("%q: %v, want %v", tc.line, err, tc.want)
		}
	}
}

// FuzzParseSentence: no panic; what parses is within the ranges the
// catalog states.
func FuzzParseSentence(f *testing.F) {
	for _, s := range []string{
		"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A",
		"$GPGGA,092725.00,4717.11399,N,00833.91590,E,1,08,1.01,499.6,M,48.0,M,,*5B",
		"$GPVTG,77.52,T,,M,0.004,N,0.008,K,A*06", "$GPRMC,235947.000,V,,,,,,,,,,N*43", "$*00", "$GPRMC*", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSentence(b)
		if err != nil {
			return
		}
		if s.HasPos && !(math.Abs(s.Lat) <= 90 && math.Abs(s.Lon) <= 180) || s.TimeMs >= 86_401_000 ||
			s.HasSpeed && !(s.SpeedKmh >= 0 && s.SpeedKmh <= 20000) || s.HasTrack && !(s.Track >= 0 && s.Track <= 360) {
			t.Fatalf("%q parsed out of range: %+v", b, s)
		}
	})
}
