package telemetry

import (
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/hamba/avro/v2"
)

func testLive() *Live {
	d, ds := -0.312, 0.127
	return &Live{Car: "car07", Session: "monza-fp1", TimeNs: 1_700_000_000_123_000_000, Lap: 4,
		LapStartNs: 1_700_000_000_000_000_000, Sector: 2, DistanceM: 2412.5, DeltaBestS: &d,
		Speed: 287.4, Throttle: 100, Brake: 0.5, Gear: 7, RPM: 11850, X: 9.2811, Y: 45.6186, InPit: false, DeltaSessionS: &ds}
}

// liveV1 is what every processor before delta_session_s wrote
// (older/live_v1.avsc).
type liveV1 struct {
	Car        string   `avro:"car"`
	Session    string   `avro:"session"`
	TimeNs     int64    `avro:"time_ns"`
	Lap        int32    `avro:"lap"`
	LapStartNs int64    `avro:"lap_start_ns"`
	Sector     int32    `avro:"sector"`
	DistanceM  float64  `avro:"distance_m"`
	DeltaBestS *float64 `avro:"delta_best_s"`
	Speed      float64  `avro:"speed"`
	Throttle   float64  `avro:"throttle"`
	Brake      float64  `avro:"brake"`
	Gear       int32    `avro:"gear"`
	RPM        float64  `avro:"rpm"`
	X          float64  `avro:"x"`
	Y          float64  `avro:"y"`
	Planar     bool     `avro:"planar"`
	InPit      bool     `avro:"in_pit"`
}

// Live records already on telemetry.live, written before Live gained
// delta_session_s, decode with a new Codec as they are (no Register),
// the session delta absent; the new field round-trips (TestLiveRoundTrip).
func TestLiveDeltaSessionEvolution(t *testing.T) {
	src, err := older.ReadFile("older/live_v1.avsc")
	if err != nil {
		t.Fatal(err)
	}
	v1, err := parseSchema(string(src))
	if err != nil {
		t.Fatal(err)
	}
	fp, err := fingerprint(v1)
	if err != nil {
		t.Fatal(err)
	}
	if cur, _ := fingerprint(mustParse(t, LiveSchema)); cur == fp {
		t.Fatal("live.avsc and older/live_v1.avsc have one fingerprint")
	}
	d := 0.5
	body, err := avro.Marshal(v1, liveV1{Car: "car03", Session: "s", TimeNs: 99, Lap: 2, LapStartNs: 50, Sector: 1,
		DistanceM: 120, DeltaBestS: &d, Speed: 150, Gear: 3, X: 1, Y: 2})
	if err != nil {
		t.Fatal(err)
	}
	rec := binary.LittleEndian.AppendUint64([]byte{0xC3, 0x01}, fp)
	rec = append(rec, body...)
	var l Live
	if err := MustNewCodec().DecodeLive(rec, &l); err != nil {
		t.Fatalf("a v1 live record: %v", err)
	}
	if l.Car != "car03" || l.TimeNs != 99 || l.DeltaBestS == nil || *l.DeltaBestS != 0.5 || l.DeltaSessionS != nil {
		t.Errorf("decoded %+v", l)
	}
}

func TestLiveRoundTrip(t *testing.T) {
	c := MustNewCodec()
	for _, l := range []*Live{testLive(), {Car: "car01", TimeNs: 5}} {
		b, err := c.AppendLive(nil, l)
		if err != nil {
			t.Fatal(err)
		}
		if name, err := c.Identify(b); err != nil || name != NameLive {
			t.Fatalf("Identify = %q, %v", name, err)
		}
		var got Live
		if err := c.DecodeLive(b, &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(&got, l) {
			t.Fatalf("got %+v, want %+v", got, *l)
		}
		var lap Lap
		if err := c.DecodeLap(b, &lap); !errors.Is(err, ErrWrongSchema) {
			t.Fatalf("decoding a Live record as a Lap: %v, want ErrWrongSchema", err)
		}
	}
}

func TestLiveInvalid(t *testing.T) {
	c := MustNewCodec()
	nan := math.NaN()
	for name, mod := range map[string]func(*Live){
		"bad car":        func(l *Live) { l.Car = "car 1" },
		"negative lap":   func(l *Live) { l.Lap = -1 },
		"sector too big": func(l *Live) { l.Sector = MaxSectors + 1 },
		"nan delta":      func(l *Live) { l.DeltaBestS = &nan },
		"nan sess delta": func(l *Live) { l.DeltaSessionS = &nan },
		"inf speed":      func(l *Live) { l.Speed = math.Inf(1) },
	} {
		l := testLive()
		mod(l)
		if _, err := c.AppendLive(nil, l); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: AppendLive = %v, want ErrInvalid", name, err)
		}
	}
}

func FuzzDecodeLive(f *testing.F) {
	c := MustNewCodec()
	b, _ := c.AppendLive(nil, testLive())
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		var l Live
		if err := c.DecodeLive(data, &l); err == nil {
			if err := l.Validate(); err != nil {
				t.Fatalf("decoded an invalid record: %v", err)
			}
		}
	})
}
