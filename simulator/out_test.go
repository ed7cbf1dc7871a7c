package simulator

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.einride.tech/can"
	"go.einride.tech/can/pkg/dbc"
	"go.einride.tech/can/pkg/descriptor"

	"github.com/pitwall/pitwall/telemetry"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// expected returns the frames (copied) and truth laps of an in-process run
// of cfg, to hold an output's bytes against.
func expected(t *testing.T, cfg Config) ([]telemetry.Frame, []telemetry.Lap) {
	var frames []telemetry.Frame
	s := run(t, cfg, func(f *telemetry.Frame) {
		c := *f
		c.Samples = append([]telemetry.Sample(nil), f.Samples...)
		frames = append(frames, c)
	})
	return frames, s.DrainLaps(nil)
}

// Every line of the serial output parses back through the telemetry
// decoder into exactly the frames and catalogs simulated, and the truth
// CSV holds exactly the simulated laps.
func TestSerialOutputAndTruth(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Track: "brands-indy", Cars: 2, Laps: 1, Seed: 11, Logger: quietLogger(),
		Out: "serial:" + filepath.Join(dir, "out.txt"), Truth: filepath.Join(dir, "truth.csv")}
	if err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	wantFrames, wantLaps := expected(t, cfg)

	f, err := os.Open(filepath.Join(dir, "out.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, telemetry.MaxLineLen)
	var got []telemetry.Frame
	announced := map[string]int{} // car → channel lines seen
	sessions := map[string]string{}
	for sc.Scan() {
		var fr telemetry.Frame
		var ch telemetry.ChannelLine
		kind, err := telemetry.ParseLine(sc.Bytes(), &fr, &ch)
		if err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		switch kind {
		case telemetry.LineFrame:
			if announced[fr.Car] < StandardChannelCount {
				t.Fatalf("frame of %s before its whole catalog", fr.Car)
			}
			fr.Session = sessions[fr.Car]
			got = append(got, fr)
		case telemetry.LineChannel:
			announced[ch.Car]++
			sessions[ch.Car] = ch.Session
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, wantFrames) {
		t.Fatalf("serial output has %d frames, simulation %d (or they differ)", len(got), len(wantFrames))
	}
	// Catalogs are re-announced every 5 s of sensor time.
	if n := announced["car01"] / StandardChannelCount; n < 10 {
		t.Fatalf("catalog announced %d times in a ~50 s run", n)
	}

	rows := readCSV(t, filepath.Join(dir, "truth.csv"))
	if strings.Join(rows[0], ",") != "car,lap,start_ns,end_ns,lap_time_s,s1_s,s2_s,s3_s,pit_lane" {
		t.Fatalf("header %v", rows[0])
	}
	if len(rows)-1 != len(wantLaps) || len(wantLaps) != 2 {
		t.Fatalf("%d truth rows, %d laps simulated", len(rows)-1, len(wantLaps))
	}
	for i, l := range wantLaps {
		r := rows[i+1]
		sum := int64(0)
		for _, col := range r[5:8] {
			sum += parseSeconds(t, col)
		}
		if r[0] != l.Car || r[1] != strconv.Itoa(int(l.Lap)) || r[2] != strconv.FormatInt(l.StartNs, 10) ||
			parseSeconds(t, r[4]) != l.EndNs-l.StartNs || sum != l.EndNs-l.StartNs || r[8] != "false" {
			t.Fatalf("truth row %v for lap %+v", r, l)
		}
	}
}

func readCSV(t *testing.T, path string) [][]string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// parseSeconds reads "S.NNNNNNNNN" exactly, as nanoseconds.
func parseSeconds(t *testing.T, s string) int64 {
	whole, frac, ok := strings.Cut(s, ".")
	if !ok || len(frac) != 9 {
		t.Fatalf("time %q has not nine decimals", s)
	}
	w, err1 := strconv.ParseInt(whole, 10, 64)
	f, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("time %q", s)
	}
	return w*1e9 + f
}

// dbcSignals parses the shipped DBC with einride's parser and builds its
// descriptors independently of the encoder, keyed by CAN id.
func dbcSignals(t *testing.T) map[uint32][]*descriptor.Signal {
	p := dbc.NewParser("pitwall.dbc", DBC)
	if err := p.Parse(); err != nil {
		t.Fatal(err)
	}
	out := map[uint32][]*descriptor.Signal{}
	for _, def := range p.Defs() {
		md, ok := def.(*dbc.MessageDef)
		if !ok {
			continue
		}
		for _, sd := range md.Signals {
			out[md.MessageID.ToCAN()] = append(out[md.MessageID.ToCAN()], &descriptor.Signal{
				Name: string(sd.Name), Start: uint8(sd.StartBit), Length: uint8(sd.Size),
				IsBigEndian: sd.IsBigEndian, IsSigned: sd.IsSigned, Scale: sd.Factor, Offset: sd.Offset,
				Min: sd.Minimum, Max: sd.Maximum, Unit: sd.Unit,
			})
		}
	}
	return out
}

// The DBC maps every standard channel, by name, with the channel's unit,
// range and resolution, so decoding is exact.
func TestDBCMatchesChannels(t *testing.T) {
	chans := map[string]chanDef{}
	for _, c := range standardChannels(25) {
		chans[c.Name] = c
	}
	seen := map[string]bool{}
	for id, sigs := range dbcSignals(t) {
		if id > 0x7FF {
			t.Errorf("message %#x is not a standard 11-bit id", id)
		}
		for _, s := range sigs {
			c, ok := chans[s.Name]
			if !ok {
				t.Errorf("DBC signal %s is no standard channel", s.Name)
				continue
			}
			seen[s.Name] = true
			if s.Unit != c.Unit || s.Min != c.Min || s.Max != c.Max || math.Abs(s.Scale-1/pow10[c.decimals]) > 1e-15 {
				t.Errorf("%s: DBC %s [%v,%v] x%v, channel %s [%v,%v] %d decimals", s.Name, s.Unit, s.Min, s.Max, s.Scale, c.Unit, c.Min, c.Max, c.decimals)
			}
		}
	}
	if len(seen) != len(chans) {
		t.Errorf("DBC carries %d of the %d standard channels", len(seen), len(chans))
	}
}

// slcanFrame is one parsed SLCAN data frame.
type slcanFrame struct {
	id    uint32
	data  can.Data
	ms    int
	stamp bool
}

// parseSLCAN parses "tIIIL<data>[TTTT]" (without the "\r").
func parseSLCAN(t *testing.T, tok string) slcanFrame {
	t.Helper()
	if len(tok) < 5 || tok[0] != 't' {
		t.Fatalf("not a standard data frame: %q", tok)
	}
	id, err1 := strconv.ParseUint(tok[1:4], 16, 32)
	n := int(tok[4] - '0')
	if err1 != nil || n < 0 || n > 8 || (len(tok) != 5+2*n && len(tok) != 9+2*n) {
		t.Fatalf("bad frame %q", tok)
	}
	f := slcanFrame{id: uint32(id)}
	for i := range n {
		b, err := strconv.ParseUint(tok[5+2*i:7+2*i], 16, 8)
		if err != nil {
			t.Fatalf("bad data in %q", tok)
		}
		f.data[i] = byte(b)
	}
	if len(tok) == 9+2*n {
		ms, err := strconv.ParseUint(tok[5+2*n:], 16, 16)
		if err != nil {
			t.Fatalf("bad timestamp in %q", tok)
		}
		f.ms, f.stamp = int(ms), true
	}
	return f
}

// The SLCAN output's frames, decoded with the DBC through einride's
// descriptors, give back the physical values the simulator sampled.
func TestSLCANFramesDecodeWithDBC(t *testing.T) {
	sigs := dbcSignals(t)
	var wire bytes.Buffer
	o := newSLCANOutput(&port{w: &wire}, quietLogger())
	sim, err := New(Config{Track: "monza", Duration: 15 * time.Second, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	cat := sim.Catalog(0)
	if err := o.Catalog(cat); err != nil {
		t.Fatal(err)
	}
	latest := map[string]float64{}
	decoded := 0
	for {
		more, err := sim.Step(func(f *telemetry.Frame) error {
			for _, s := range f.Samples {
				c, _ := cat.ByID(s.ID)
				latest[c.Name] = s.Value
			}
			if err := o.Frame(f); err != nil {
				return err
			}
			if err := o.Flush(); err != nil {
				return err
			}
			for _, tok := range strings.Split(strings.TrimSuffix(wire.String(), "\r"), "\r") {
				if tok == "" {
					continue
				}
				fr := parseSLCAN(t, tok)
				if !fr.stamp || fr.ms != int(f.TimeNs/1e6%60000) {
					t.Fatalf("frame %q at %d ns: timestamp", tok, f.TimeNs)
				}
				for _, s := range sigs[fr.id] {
					want, ok := latest[s.Name]
					if !ok {
						continue // not sampled yet: the message carries 0
					}
					if got := s.UnmarshalPhysical(fr.data); math.Abs(got-want) > s.Scale/2+1e-9 {
						t.Fatalf("%s: CAN %v, sampled %v", s.Name, got, want)
					}
					decoded++
				}
			}
			wire.Reset()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !more {
			break
		}
	}
	if decoded < 10000 {
		t.Fatalf("only %d signal values decoded", decoded)
	}
	if err := o.Catalog(cat); err == nil {
		t.Fatal("a second car's catalog was accepted on one CAN bus")
	}
}

func TestSLCANCommands(t *testing.T) {
	o := &slcanOutput{open: true, stamps: true}
	for _, tc := range []struct{ cmd, reply string }{
		{"V", "V1013\r"}, {"N", "NPW01\r"}, {"F", "F00\r"}, {"S6", "\r"}, {"S9", "\a"},
		{"Z0", "\r"}, {"C", "\r"}, {"O", "\r"}, {"", "\r"}, {"?", "\a"}, {"t1230", "z\r"},
	} {
		if got := o.command([]byte(tc.cmd)); got != tc.reply {
			t.Errorf("%q: reply %q, want %q", tc.cmd, got, tc.reply)
		}
	}
	if !o.open || o.stamps {
		t.Fatalf("after Z0, C, O: open %v stamps %v", o.open, o.stamps)
	}
}

func TestParseTarget(t *testing.T) {
	for in, want := range map[string]Target{
		"serial:-":                      {Scheme: "serial", Path: "-", Baud: 115200},
		"serial:/dev/ttyUSB0?baud=9600": {Scheme: "serial", Path: "/dev/ttyUSB0", Baud: 9600},
		"slcan":                         {Scheme: "slcan", Baud: 115200},
		"mqtt://127.0.0.1:1883/cars":    {Scheme: "mqtt", Addr: "127.0.0.1:1883", Name: "cars"},
		"mqtt://127.0.0.1:1883":         {Scheme: "mqtt", Addr: "127.0.0.1:1883", Name: "pitwall"},
		"mqtt://127.0.0.1:1883/c?qos=1": {Scheme: "mqtt", Addr: "127.0.0.1:1883", Name: "c", QoS: 1},
		"kafka://127.0.0.1:9092/":       {Scheme: "kafka", Addr: "127.0.0.1:9092", Name: telemetry.TopicFrames},
		"mqtts://sim:pw@127.0.0.1:8883/c?ca=/ca.pem&qos=1": {Scheme: "mqtt", TLS: true, Addr: "127.0.0.1:8883", Name: "c", QoS: 1,
			CAFile: "/ca.pem", User: "sim", Password: "pw"},
		"mqtts://127.0.0.1:8883?cert=c.pem&key=k.pem": {Scheme: "mqtt", TLS: true, Addr: "127.0.0.1:8883", Name: "pitwall", CertFile: "c.pem", KeyFile: "k.pem"},
	} {
		got, err := ParseTarget(in)
		if err != nil || got != want {
			t.Errorf("%q: %+v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "tcp://x:1", "kafka://nohost", "serial:x?baud=fast", "mqtt://h/", "mqtt://h:1/c?qos=3", "mqtt://h:1/c?qos=one", "mqtt://h:1/c?retain=1",
		"mqtt://h:1/c?ca=ca.pem", "mqtts://h:1/c?cert=c.pem"} {
		if _, err := ParseTarget(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// A character device that is no terminal is written plainly.
func TestSerialToDevNull(t *testing.T) {
	if err := Run(context.Background(), Config{Out: "serial:/dev/null", Duration: 200 * time.Millisecond, Logger: quietLogger()}); err != nil {
		t.Fatal(err)
	}
}
