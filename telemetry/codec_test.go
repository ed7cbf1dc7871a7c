package telemetry

import (
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hamba/avro/v2"
)

var update = flag.Bool("update", false, "rewrite golden files")

func testFrame() *Frame {
	return &Frame{
		Car: "car07", Session: "monza-fp1", Seq: 42, TimeNs: 1_704_067_200_123_456_789,
		Samples: []Sample{{1, 287.25}, {2, 11250}, {19, -1.5e-7}, {400, 45.6189123}},
	}
}

func testCatalog() *ChannelCatalog {
	return &ChannelCatalog{
		Car: "car07", Session: "monza-fp1", TimeNs: 1_704_067_200_000_000_000,
		Channels: []Channel{
			{ID: 1, Name: "speed", Unit: "km/h", RateHz: 50, Min: 0, Max: 400},
			{ID: 2, Name: "rpm", Unit: "rpm", RateHz: 50, Min: 0, Max: 15000},
			{ID: 30, Name: "gps_lat", Unit: "deg", RateHz: 25, Min: -90, Max: 90},
		},
	}
}

func testLap() *Lap {
	return &Lap{
		Car: "car07", Session: "monza-fp1", Lap: 3,
		StartNs: 1_000_000_000, EndNs: 82_500_000_000,
		SectorsNs: []int64{27_000_000_000, 28_000_000_000, 26_500_000_000},
		PitLane:   true,
		Metrics:   []Metric{{"top_speed", 341.2}, {"fuel_used", 2.31}},
	}
}

func TestFrameRoundTrip(t *testing.T) {
	c := MustNewCodec()
	want := testFrame()
	b, err := c.AppendFrame(nil, want)
	if err != nil {
		t.Fatal(err)
	}
	var got Frame
	if err := c.DecodeFrame(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&got, want) {
		t.Fatalf("got %+v, want %+v", got, *want)
	}
	if name, err := c.Identify(b); err != nil || name != NameFrame {
		t.Fatalf("Identify = %q, %v", name, err)
	}
}

// The wire bytes of a fixed frame are pinned, so an accidental change of the
// schema (and so of its fingerprint) or of the encoding fails here.
func TestFrameGolden(t *testing.T) {
	c := MustNewCodec()
	b, err := c.AppendFrame(nil, testFrame())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "frame.golden")
	if *update {
		if err := os.WriteFile(path, []byte(hex.EncodeToString(b)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	golden, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(b); got != strings.TrimSpace(string(golden)) {
		t.Fatalf("frame bytes changed:\n got %s\nwant %s", got, golden)
	}
}

// The hand-written frame codec and hamba/avro agree both ways on random
// frames, so the fast path is plain Avro.
func TestFrameCodecMatchesHamba(t *testing.T) {
	c := MustNewCodec()
	schema := c.readers[NameFrame]
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		f := randomFrame(rng, i)
		ours := appendFrameBody(nil, f)
		var viaHamba Frame
		if err := avro.Unmarshal(schema, ours, &viaHamba); err != nil {
			t.Fatal(err)
		}
		if !framesEqual(&viaHamba, f) {
			t.Fatalf("hamba read %+v from our bytes, want %+v", viaHamba, f)
		}
		theirs, err := avro.Marshal(schema, f)
		if err != nil {
			t.Fatal(err)
		}
		var viaOurs Frame
		if err := decodeFrameBody(theirs, &viaOurs); err != nil {
			t.Fatal(err)
		}
		if !framesEqual(&viaOurs, f) {
			t.Fatalf("we read %+v from hamba's bytes, want %+v", viaOurs, f)
		}
	}
}

func randomFrame(rng *rand.Rand, n int) *Frame {
	f := &Frame{Car: "car" + string(rune('a'+n%26)), Session: "s", Seq: rng.Int64(), TimeNs: rng.Int64()}
	id := int32(0)
	for range rng.IntN(300) {
		id += 1 + rng.Int32N(1000)
		f.Samples = append(f.Samples, Sample{ID: id, Value: rng.NormFloat64() * 1e4})
	}
	return f
}

func framesEqual(a, b *Frame) bool {
	if len(a.Samples) == 0 && len(b.Samples) == 0 {
		a2, b2 := *a, *b
		a2.Samples, b2.Samples = nil, nil
		return reflect.DeepEqual(a2, b2)
	}
	return reflect.DeepEqual(a, b)
}

func TestCatalogAndLapRoundTrip(t *testing.T) {
	c := MustNewCodec()
	cat := testCatalog()
	b, err := c.AppendCatalog(nil, cat)
	if err != nil {
		t.Fatal(err)
	}
	var gotCat ChannelCatalog
	if err := c.DecodeCatalog(b, &gotCat); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&gotCat, cat) {
		t.Fatalf("catalog: got %+v, want %+v", gotCat, *cat)
	}
	lap := testLap()
	b, err = c.AppendLap(nil, lap)
	if err != nil {
		t.Fatal(err)
	}
	var gotLap Lap
	if err := c.DecodeLap(b, &gotLap); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&gotLap, lap) {
		t.Fatalf("lap: got %+v, want %+v", gotLap, *lap)
	}
	if err := c.DecodeFrame(b, &Frame{}); !errors.Is(err, ErrWrongSchema) {
		t.Fatalf("decoding a Lap as a Frame: %v, want ErrWrongSchema", err)
	}
}

// frameV2 is what a newer writer with testdata/frame_v2.avsc sends.
type frameV2 struct {
	Car     string     `avro:"car"`
	Session string     `avro:"session"`
	Seq     int64      `avro:"seq"`
	TimeNs  int64      `avro:"time_ns"`
	Samples []sampleV2 `avro:"samples"`
	Source  string     `avro:"source"`
}

type sampleV2 struct {
	ID      int32   `avro:"id"`
	Value   float64 `avro:"value"`
	Quality int32   `avro:"quality"`
}

// An older reader (this package's Frame) reads a newer writer's frames, once
// it has the writer's schema: the new fields are skipped.
func TestOlderReaderReadsNewerFrame(t *testing.T) {
	src, err := os.ReadFile("testdata/frame_v2.avsc")
	if err != nil {
		t.Fatal(err)
	}
	v2, err := parseSchema(string(src))
	if err != nil {
		t.Fatal(err)
	}
	fpV2, err := fingerprint(v2)
	if err != nil {
		t.Fatal(err)
	}
	body, err := avro.Marshal(v2, frameV2{
		Car: "car01", Session: "spa-r1", Seq: 9, TimeNs: 5,
		Samples: []sampleV2{{1, 100.5, 90}, {2, 7000, 100}},
		Source:  "slcan:/dev/ttyACM0",
	})
	if err != nil {
		t.Fatal(err)
	}
	record := append(AppendHeader(nil, fpV2), body...)

	c := MustNewCodec()
	var f Frame
	if err := c.DecodeFrame(record, &f); !errors.Is(err, ErrUnknownSchema) {
		t.Fatalf("before Register: %v, want ErrUnknownSchema", err)
	}
	got, err := c.Register(string(src))
	if err != nil {
		t.Fatal(err)
	}
	if got != fpV2 {
		t.Fatalf("Register returned fingerprint %x, want %x", got, fpV2)
	}
	if err := c.DecodeFrame(record, &f); err != nil {
		t.Fatal(err)
	}
	want := Frame{Car: "car01", Session: "spa-r1", Seq: 9, TimeNs: 5, Samples: []Sample{{1, 100.5}, {2, 7000}}}
	if !reflect.DeepEqual(f, want) {
		t.Fatalf("got %+v, want %+v", f, want)
	}
}

// lapV0 is what an older writer with testdata/lap_v0.avsc sends.
type lapV0 struct {
	Car       string  `avro:"car"`
	Session   string  `avro:"session"`
	Lap       int32   `avro:"lap"`
	StartNs   int64   `avro:"start_ns"`
	EndNs     int64   `avro:"end_ns"`
	SectorsNs []int64 `avro:"sectors_ns"`
}

// A newer reader (this package's Lap, which added pit_lane and metrics with
// defaults) reads an older writer's laps, filling the defaults.
func TestNewerReaderReadsOlderLap(t *testing.T) {
	src, err := os.ReadFile("testdata/lap_v0.avsc")
	if err != nil {
		t.Fatal(err)
	}
	c := MustNewCodec()
	fp, err := c.Register(string(src))
	if err != nil {
		t.Fatal(err)
	}
	v0, _ := parseSchema(string(src))
	body, err := avro.Marshal(v0, lapV0{Car: "car02", Session: "s", Lap: 1, StartNs: 10, EndNs: 40, SectorsNs: []int64{10, 10, 10}})
	if err != nil {
		t.Fatal(err)
	}
	var lap Lap
	if err := c.DecodeLap(append(AppendHeader(nil, fp), body...), &lap); err != nil {
		t.Fatal(err)
	}
	if lap.PitLane || len(lap.Metrics) != 0 || lap.Lap != 1 || lap.LapTime() != 30 {
		t.Fatalf("got %+v", lap)
	}
}

// lapV1 is what every processor before device_ns wrote
// (older/lap_v1.avsc).
type lapV1 struct {
	Car       string   `avro:"car"`
	Session   string   `avro:"session"`
	Lap       int32    `avro:"lap"`
	StartNs   int64    `avro:"start_ns"`
	EndNs     int64    `avro:"end_ns"`
	SectorsNs []int64  `avro:"sectors_ns"`
	PitLane   bool     `avro:"pit_lane"`
	Metrics   []Metric `avro:"metrics"`
}

// Laps already on telemetry.laps, written before Lap gained device_ns,
// decode with a new Codec as they are (no Register), device_ns absent;
// the new field round-trips; and a reader that has only the old schema
// reads the new records once it registers the new one.
func TestLapDeviceNsEvolution(t *testing.T) {
	src, err := older.ReadFile("older/lap_v1.avsc")
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
	// The fingerprint the records in the log carry: older/lap_v1.avsc
	// must never change.
	if fp != 0xd75baa82f3a26060 {
		t.Fatalf("older/lap_v1.avsc fingerprint %016x changed", fp)
	}
	body, err := avro.Marshal(v1, lapV1{Car: "car02", Session: "s", Lap: 4, StartNs: 10, EndNs: 40, SectorsNs: []int64{30},
		PitLane: true, Metrics: []Metric{{"valid", 0}}})
	if err != nil {
		t.Fatal(err)
	}
	c := MustNewCodec()
	var l Lap
	if err := c.DecodeLap(append(AppendHeader(nil, fp), body...), &l); err != nil {
		t.Fatal(err)
	}
	if l.DeviceNs != nil || l.Lap != 4 || !l.PitLane || len(l.Metrics) != 1 || l.LapTime() != 30 {
		t.Fatalf("got %+v", l)
	}

	dev := int64(29)
	l.DeviceNs = &dev
	rec, err := c.AppendLap(nil, &l)
	if err != nil {
		t.Fatal(err)
	}
	var back Lap
	if err := c.DecodeLap(rec, &back); err != nil || back.DeviceNs == nil || *back.DeviceNs != 29 {
		t.Fatalf("round trip: %v %+v", err, back)
	}
	bad := int64(0)
	l.DeviceNs = &bad
	if _, err := c.AppendLap(nil, &l); !errors.Is(err, ErrInvalid) {
		t.Fatalf("device time 0: %v, want ErrInvalid", err)
	}

	// An old reader: its codec knows only v1 as the reader schema.
	var old lapV1
	r, err := avro.NewSchemaCompatibility().Resolve(v1, mustParse(t, LapSchema))
	if err != nil {
		t.Fatal(err)
	}
	if err := avro.Unmarshal(r, rec[HeaderLen:], &old); err != nil || old.Lap != 4 {
		t.Fatalf("old reader: %v %+v", err, old)
	}
}

func mustParse(t *testing.T, src string) avro.Schema {
	t.Helper()
	s, err := parseSchema(src)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRegisterRejectsIncompatible(t *testing.T) {
	c := MustNewCodec()
	for name, src := range map[string]string{
		"not json":       `{`,
		"unknown record": `{"type":"record","name":"Other","namespace":"x","fields":[]}`,
		"not a record":   `"string"`,
		"new field without default": `{"type":"record","name":"Lap","namespace":"pitwall.telemetry","fields":[
			{"name":"car","type":"string"}]}`,
		"changed type": strings.Replace(FrameSchema, `"name": "seq", "type": "long"`, `"name": "seq", "type": "string"`, 1),
	} {
		if _, err := c.Register(src); !errors.Is(err, ErrIncompatible) {
			t.Errorf("%s: %v, want ErrIncompatible", name, err)
		}
	}
}

func TestDecodeRejectsDamage(t *testing.T) {
	c := MustNewCodec()
	frame, _ := c.AppendFrame(nil, testFrame())
	cat, _ := c.AppendCatalog(nil, testCatalog())
	lap, _ := c.AppendLap(nil, testLap())
	decoders := map[string]struct {
		good   []byte
		decode func([]byte) error
	}{
		"frame":   {frame, func(b []byte) error { return c.DecodeFrame(b, &Frame{}) }},
		"catalog": {cat, func(b []byte) error { return c.DecodeCatalog(b, &ChannelCatalog{}) }},
		"lap":     {lap, func(b []byte) error { return c.DecodeLap(b, &Lap{}) }},
	}
	for name, d := range decoders {
		for cut := 0; cut < len(d.good); cut++ {
			if err := d.decode(d.good[:cut]); err == nil {
				t.Errorf("%s truncated to %d bytes decoded", name, cut)
			}
		}
		if err := d.decode(append(bytes.Clone(d.good), 0)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s with a trailing byte: %v, want ErrCorrupt", name, err)
		}
		bad := bytes.Clone(d.good)
		bad[0] = 'x'
		if err := d.decode(bad); !errors.Is(err, ErrNotAvro) {
			t.Errorf("%s without magic: %v", name, err)
		}
		bad = bytes.Clone(d.good)
		bad[5] ^= 1
		if err := d.decode(bad); !errors.Is(err, ErrUnknownSchema) {
			t.Errorf("%s with another fingerprint: %v", name, err)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	c := MustNewCodec()
	for name, mut := range map[string]func(*Frame){
		"empty car":      func(f *Frame) { f.Car = "" },
		"comma in car":   func(f *Frame) { f.Car = "a,b" },
		"negative seq":   func(f *Frame) { f.Seq = -1 },
		"unsorted":       func(f *Frame) { f.Samples[0].ID = 3 },
		"duplicate":      func(f *Frame) { f.Samples[1].ID = 1 },
		"NaN":            func(f *Frame) { f.Samples[2].Value = math.NaN() },
		"negative id":    func(f *Frame) { f.Samples[0].ID = -5 },
		"session spaces": func(f *Frame) { f.Session = "fp 1" },
	} {
		f := testFrame()
		mut(f)
		if _, err := c.AppendFrame(nil, f); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: encode gave %v, want ErrInvalid", name, err)
		}
		// A foreign writer may send it anyway: the decoder refuses it too.
		b := AppendHeader(nil, c.current[NameFrame])
		b = appendFrameBody(b, f)
		if err := c.DecodeFrame(b, &Frame{}); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: decode gave %v, want ErrInvalid", name, err)
		}
	}
	lap := testLap()
	lap.SectorsNs[0]++
	if _, err := c.AppendLap(nil, lap); !errors.Is(err, ErrInvalid) {
		t.Errorf("sectors not summing to the lap time: %v", err)
	}
	cat := testCatalog()
	cat.Channels[1].Name = "speed"
	if _, err := c.AppendCatalog(nil, cat); !errors.Is(err, ErrInvalid) {
		t.Errorf("duplicate channel name: %v", err)
	}
}

func TestDecodeFrameReusesMemory(t *testing.T) {
	c := MustNewCodec()
	b, _ := c.AppendFrame(nil, testFrame())
	var f Frame
	if err := c.DecodeFrame(b, &f); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if err := c.DecodeFrame(b, &f); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("DecodeFrame allocates %v times per frame once warm", allocs)
	}
}

func TestSortSamples(t *testing.T) {
	f := Frame{Samples: []Sample{{5, 1}, {2, 2}, {5, 3}, {1, 4}}}
	f.SortSamples()
	want := []Sample{{1, 4}, {2, 2}, {5, 3}}
	if !reflect.DeepEqual(f.Samples, want) {
		t.Fatalf("got %v, want %v", f.Samples, want)
	}
	if v, ok := f.Value(5); !ok || v != 3 {
		t.Fatalf("Value(5) = %v, %v", v, ok)
	}
	if _, ok := f.Value(3); ok {
		t.Fatal("Value(3) found a sample that is not there")
	}
}

// Fingerprints are the Avro spec's: schema-tests.txt gives "int" as
// 8247732601305521295 and an empty record foo as -4824392279771201922, and
// the single-object header of "int" is C3 01 8F 5C 39 3F 1A D5 75 72.
func TestFingerprintMatchesAvroSpec(t *testing.T) {
	for src, want := range map[string]int64{
		`"int"`: 8247732601305521295,
		`{"fields":[], "type":"record", "name":"foo"}`: -4824392279771201922,
	} {
		s, err := parseSchema(src)
		if err != nil {
			t.Fatal(err)
		}
		fp, err := fingerprint(s)
		if err != nil {
			t.Fatal(err)
		}
		if int64(fp) != want {
			t.Errorf("fingerprint(%s) = %d, want %d", src, int64(fp), want)
		}
		if src == `"int"` {
			if got := hex.EncodeToString(AppendHeader(nil, fp)); got != "c3018f5c393f1ad57572" {
				t.Errorf("header %s", got)
			}
		}
	}
}
