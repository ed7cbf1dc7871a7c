package simulator

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pitwall/pitwall/telemetry"
)

func TestParseFault(t *testing.T) {
	for in, want := range map[string]Fault{
		"car02:overheat@lap3":    {Car: "car02", Kind: FaultOverheat, Lap: 3},
		"car03:puncture@lap2":    {Car: "car03", Kind: FaultPuncture, Lap: 2},
		"car03:puncture-rr@lap1": {Car: "car03", Kind: FaultPuncture, Lap: 1, Wheel: 3},
	} {
		got, err := ParseFault(in)
		if err != nil || got != want {
			t.Errorf("ParseFault(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "car02", "car02:overheat", "car02:overheat@3", "car02:fire@lap1", "car02:overheat-fl@lap1",
		"car02:puncture-xx@lap1", "car02:overheat@lap0", "car 2:overheat@lap1", "car02:overheat@lap1234567"} {
		if _, err := ParseFault(in); !errors.Is(err, ErrConfig) || strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseFault(%q) = %v, want one ErrConfig line", in, err)
		}
	}
	if _, err := New(Config{Cars: 2, Faults: []Fault{{Car: "car03", Kind: FaultOverheat, Lap: 1}}}); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "no car car03") {
		t.Errorf("a fault of a car not simulated: %v", err)
	}
}

// faultRun is what TestFaults reads off one car's frames.
type faultRun struct {
	maxWater, waterAtEnd float64
	minOilHighRPM        float64           // lowest oil pressure seen above 3000 rpm
	minPress             [4]float64        // lowest pressure of each tyre
	maxTyreMid           [4]float64        // highest middle temperature of each tyre
	over110Ns            int64             // first water sample over 110 degC
	laps                 map[int32]float64 // lap time, s
}

// An overheating engine and a slow puncture change the car's channels as
// a race engineer would see them, from the lap the truth file says they
// began, and the pit stop fixes them; the other cars are untouched, and
// the punctured car is slower than the same car without it.
func TestFaults(t *testing.T) {
	faults := []Fault{{Car: "car02", Kind: FaultOverheat, Lap: 1}, {Car: "car03", Kind: FaultPuncture, Lap: 1, Wheel: 3}}
	cfg := Config{Track: "brands-indy", Cars: 3, Seed: 5, Laps: 4, PitEvery: 2, Quiet: true}
	ran := func(cfg Config) (map[string]*faultRun, []FaultEvent) {
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[int32]string{}
		for _, ch := range s.Catalog(0).Channels {
			ids[ch.ID] = ch.Name
		}
		out := map[string]*faultRun{}
		rpm := map[string]float64{}
		for _, id := range s.Cars() {
			out[id] = &faultRun{minOilHighRPM: 99, minPress: [4]float64{9, 9, 9, 9}, laps: map[int32]float64{}}
		}
		var events []FaultEvent
		for more := true; more; {
			more, err = s.Step(func(f *telemetry.Frame) error {
				r := out[f.Car]
				for _, x := range f.Samples {
					switch name := ids[x.ID]; {
					case name == telemetry.ChanRPM:
						rpm[f.Car] = x.Value
					case name == telemetry.ChanWaterTemp:
						r.maxWater, r.waterAtEnd = max(r.maxWater, x.Value), x.Value
						if x.Value > 110 && r.over110Ns == 0 {
							r.over110Ns = f.TimeNs
						}
					case name == telemetry.ChanOilPress && rpm[f.Car] > 3000:
						r.minOilHighRPM = min(r.minOilHighRPM, x.Value)
					case strings.HasPrefix(name, telemetry.ChanTyreTemp+"_") && strings.HasSuffix(name, "_mid"):
						w := strings.Index("fl fr rl rr", name[len(telemetry.ChanTyreTemp)+1:][:2]) / 3
						r.maxTyreMid[w] = max(r.maxTyreMid[w], x.Value)
					case strings.HasPrefix(name, telemetry.ChanTyrePress+"_"):
						w := strings.Index("fl fr rl rr", name[len(telemetry.ChanTyrePress)+1:]) / 3
						r.minPress[w] = min(r.minPress[w], x.Value)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			events = s.DrainFaults(events)
			for _, l := range s.DrainLaps(nil) {
				out[l.Car].laps[l.Lap] = l.LapTime().Seconds()
			}
		}
		return out, events
	}
	healthy, none := ran(cfg)
	if len(none) != 0 {
		t.Fatalf("fault events without faults: %+v", none)
	}
	cfg.Faults = faults
	got, events := ran(cfg)
	// Each fault begins at the start of lap 1 and is fixed at the first
	// stop, at the end of lap 2.
	if len(events) != 4 || events[0].Event != "begin" || events[1].Event != "begin" || events[2].Event != "fixed" || events[3].Event != "fixed" {
		t.Fatalf("fault events %+v", events)
	}
	begin := map[string]int64{}
	for _, e := range events[:2] {
		begin[e.Car] = e.TimeNs
	}
	// car01 is healthy either way, and identical.
	if a, b := got["car01"], healthy["car01"]; a.maxWater != b.maxWater || a.minOilHighRPM != b.minOilHighRPM || a.minPress != b.minPress || !maps.Equal(a.laps, b.laps) {
		t.Errorf("car01 changed: %+v vs %+v", got["car01"], healthy["car01"])
	}
	for id, r := range healthy {
		if r.maxWater > 100 || r.minOilHighRPM < 2 || min(r.minPress[0], r.minPress[1], r.minPress[2], r.minPress[3]) < 1.4 {
			t.Errorf("healthy %s: water up to %.1f, oil down to %.2f above 3000 rpm, tyres down to %v", id, r.maxWater, r.minOilHighRPM, r.minPress)
		}
	}
	o := got["car02"]
	if o.over110Ns <= begin["car02"] || o.over110Ns > begin["car02"]+30e9 || o.minOilHighRPM >= 1.5 || o.maxWater < 125 {
		t.Errorf("overheat: water over 110 at %+.1f s after the fault began (max %.1f), oil down to %.2f bar above 3000 rpm",
			float64(o.over110Ns-begin["car02"])/1e9, o.maxWater, o.minOilHighRPM)
	}
	if o.waterAtEnd > 105 {
		t.Errorf("overheat fixed at the stop, but the water is still at %.1f two laps later", o.waterAtEnd)
	}
	p := got["car03"]
	t.Logf("overheat: water over 110 degC %.1f s after the fault began, up to %.1f, oil down to %.2f bar above 3000 rpm; puncture: rr down to %.2f bar and up to %.1f degC (%.1f without), lap 1 %.3f s (%.3f s without)",
		float64(o.over110Ns-begin["car02"])/1e9, o.maxWater, o.minOilHighRPM, p.minPress[3], p.maxTyreMid[3], healthy["car03"].maxTyreMid[3], p.laps[1], healthy["car03"].laps[1])
	if p.minPress[3] > 1.3 || p.minPress[0] < 1.4 || p.minPress[1] < 1.4 || p.minPress[2] < 1.4 {
		t.Errorf("puncture of rr: tyres down to %v", p.minPress)
	}
	if hot := p.maxTyreMid[3] - healthy["car03"].maxTyreMid[3]; hot < 5 || hot > 20 {
		t.Errorf("punctured rr up to %.1f degC, %.1f without the puncture: want 5-20 degC hotter", p.maxTyreMid[3], healthy["car03"].maxTyreMid[3])
	}
	if p.laps[1] <= healthy["car03"].laps[1] {
		t.Errorf("punctured lap 1 in %.3f s, the same car without the puncture %.3f s", p.laps[1], healthy["car03"].laps[1])
	}

	// The fault truth file, through Run.
	dir := t.TempDir()
	cfg.Out, cfg.FaultTruth, cfg.Laps = "serial:"+filepath.Join(dir, "out"), filepath.Join(dir, "faults.csv"), 3
	if err := Run(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(cfg.FaultTruth)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	WriteFaultTruthHeader(&want)
	for i := range events {
		WriteFaultTruthRow(&want, &events[i])
	}
	if string(b) != want.String() || !strings.Contains(string(b), "car03,puncture,rr,1,begin,") {
		t.Errorf("fault truth:\n%s\nwant\n%s", b, want.String())
	}
}

// FuzzParseFault: any --fault text is a fault that prints back as itself
// (wheel made explicit), or one ErrConfig line.
func FuzzParseFault(f *testing.F) {
	for _, s := range []string{"car02:overheat@lap3", "car03:puncture@lap2", "car03:puncture-rr@lap1", "car02:overheat@lap0", "x:y@z", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ft, err := ParseFault(s)
		if err != nil {
			if !errors.Is(err, ErrConfig) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		again, err := ParseFault(ft.String())
		if err != nil || again != ft || ft.Lap < 1 || ft.Wheel < 0 || ft.Wheel > 3 {
			t.Fatalf("%q parsed as %+v, printed %q, parsed again %+v, %v", s, ft, ft.String(), again, err)
		}
	})
}
