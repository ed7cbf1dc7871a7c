package processors_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/processors"
	"github.com/pitwall/pitwall/processors/alarm"
	"github.com/pitwall/pitwall/processors/influx/influxtest"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

func rule(rs *alarm.Rules, name string) alarm.Rule {
	for _, r := range rs.Rules {
		if r.Name == name {
			return r
		}
	}
	return alarm.Rule{}
}

// readAlarms reads every record on telemetry.alarms, in time order.
func readAlarms(t *testing.T, addr string) []telemetry.Alarm {
	t.Helper()
	codec := telemetry.MustNewCodec()
	client, err := sarama.NewClient([]string{addr}, sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	var out []telemetry.Alarm
	for _, m := range readRecords(t, client, telemetry.TopicAlarms) {
		var a telemetry.Alarm
		if err := codec.DecodeAlarm(m.Value, &a); err != nil {
			t.Fatalf("alarm record %d/%d: %v", m.Partition, m.Offset, err)
		}
		if string(m.Key) != a.Car || !processors.FromGroup(m, "alarms") {
			t.Fatalf("alarm record keyed %q for car %s, headers %v", m.Key, a.Car, m.Headers)
		}
		out = append(out, a)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].TimeNs < out[j].TimeNs })
	return out
}

// faultTruth reads the simulator's fault truth: car → event → time.
func faultTruth(t *testing.T, path string) map[string]map[string]int64 {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]int64{}
	for _, r := range rows[1:] {
		if out[r[0]] == nil {
			out[r[0]] = map[string]int64{}
		}
		out[r[0]][r[4]], _ = strconv.ParseInt(r[5], 10, 64)
	}
	return out
}

func alarmString(a telemetry.Alarm, from int64) string {
	state := "cleared"
	if a.Active {
		state = "raised"
	}
	return fmt.Sprintf("%s %s/%s %s at %+.1fs (since %+.1fs) value %.2f", a.Car, a.Rule, a.Channel, state,
		float64(a.TimeNs-from)/1e9, float64(a.SinceNs-from)/1e9, a.Value)
}

// The example rules file on a race with an overheating engine (car02)
// and a slow puncture (car03, rear right), simulated with the usual
// glitches and dropouts, through the broker and the lap processor: each
// fault raises its alarms once, after the truth's begin and within the
// rule's hold time of the condition starting, and they clear after the
// pit stop fixes it; the healthy car01 raises nothing. The same events
// are in InfluxDB.
func TestAlarmsOnFaults(t *testing.T) {
	t.Parallel() // own broker and influxd
	b := brokertest.Start(t)
	srv := influxtest.Start(t)
	rules, err := alarm.Load("../dashboards/alarms.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	truthPath, faultPath := filepath.Join(dir, "truth.csv"), filepath.Join(dir, "faults.csv")
	err = simulator.Run(context.Background(), simulator.Config{
		Track: testTrack, Cars: testCars, Laps: 2, PitEvery: 1, Seed: 21, GPSRateHz: 10, Rates: testRates,
		Out: "kafka://" + b.Addr + "/" + telemetry.TopicFrames, Truth: truthPath, FaultTruth: faultPath,
		Faults: []simulator.Fault{{Car: "car02", Kind: simulator.FaultOverheat, Lap: 1}, {Car: "car03", Kind: simulator.FaultPuncture, Lap: 1, Wheel: 3}},
	})
	if err != nil {
		t.Fatal(err)
	}
	truth, faults := readTruth(t, truthPath), faultTruth(t, faultPath)
	cfg := config(t, b.Addr, "alarms", srv)
	cfg.Alarms = rules
	startProcessor(t, cfg)
	waitLaps(t, b.Addr, "alarms", len(truth))
	// Every frame up to the last lap's end is processed once its lap is
	// out; the clears come within a lap of the stop: wait for them.
	want := map[string]bool{"car02/water_hot/water_temp": true, "car02/oil_pressure_low/oil_press": true,
		"car03/tyre_pressure_low/tyre_press_rr": true}
	var got []telemetry.Alarm
	deadline := time.Now().Add(time.Minute)
	for {
		got = readAlarms(t, b.Addr)
		cleared := 0
		for _, a := range got {
			if !a.Active && want[a.Car+"/"+a.Rule+"/"+a.Channel] {
				cleared++
			}
		}
		if cleared >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, a := range got {
		t.Log(alarmString(a, faults[a.Car]["begin"]))
	}
	byKey := map[string][]telemetry.Alarm{}
	for _, a := range got {
		k := a.Car + "/" + a.Rule + "/" + a.Channel
		byKey[k] = append(byKey[k], a)
		if !want[k] {
			t.Errorf("unexpected alarm %s", alarmString(a, faults[a.Car]["begin"]))
		}
	}
	holds := map[string]time.Duration{}
	for _, r := range rules.Rules {
		holds[r.Name] = r.For
	}
	for k := range want {
		evs := byKey[k]
		if len(evs) != 2 || !evs[0].Active || evs[1].Active {
			t.Errorf("%s: want one raise then one clear, got %d events", k, len(evs))
			continue
		}
		raise, clear := evs[0], evs[1]
		begin, fixed := faults[raise.Car]["begin"], faults[raise.Car]["fixed"]
		hold := int64(holds[raise.Rule])
		// Raised once the condition held for the rule's hold time, to
		// within one sample (oil pressure 20 Hz, water and tyre pressure
		// 2 Hz), and the condition began after the fault did.
		if raise.SinceNs < begin || raise.TimeNs-raise.SinceNs < hold || raise.TimeNs-raise.SinceNs > hold+int64(500*time.Millisecond) {
			t.Errorf("%s: raised at %s, after the fault began %s and its condition held %v", k, alarmString(raise, begin),
				time.Unix(0, begin).UTC(), time.Duration(raise.TimeNs-raise.SinceNs))
		}
		// Cleared after the stop fixed it; a guarded rule (oil pressure
		// above 3000 rpm) already on the way into the pit lane, whose
		// speed limit keeps the revs under its guard.
		earliest := fixed
		if r := rule(rules, raise.Rule); r.When != nil {
			earliest = fixed - int64(60*time.Second)
		}
		if clear.TimeNs < earliest || clear.SinceNs != raise.TimeNs || clear.TimeNs > fixed+int64(90*time.Second) {
			t.Errorf("%s: %s, fixed at %+.1fs", k, alarmString(clear, begin), float64(fixed-begin)/1e9)
		}
	}
	// InfluxDB: the alarms measurement has both cars' alarms, raised
	// (with a point a second while raised) and cleared, and none of car01.
	var series []influxSeries
	for range 50 {
		series = querySeries(t, srv, `SELECT count("active"), max("active"), min("active") FROM "alarms" GROUP BY "car", "rule", "channel"`)
		if len(series) >= len(want) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	seen := map[string]bool{}
	for _, s := range series {
		k := s.Tags["car"] + "/" + s.Tags["rule"] + "/" + s.Tags["channel"]
		seen[k] = true
		v := s.Values[0]
		if !want[k] || v[1].(float64) < 3 || v[2].(float64) != 1 || v[3].(float64) != 0 {
			t.Errorf("InfluxDB alarms of %s: count, max, min %v", k, v[1:])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("InfluxDB has alarms of %v, want %v", seen, want)
	}
	if strings.Contains(fmt.Sprint(seen), "car01") {
		t.Error("the healthy car01 has alarms in InfluxDB")
	}
}
