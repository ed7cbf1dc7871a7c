package processors_test

import (
	"context"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/processors/lap"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

// readLive reads every record on telemetry.live, by car, in time order.
func readLive(t *testing.T, addr string) map[string][]telemetry.Live {
	t.Helper()
	codec := telemetry.MustNewCodec()
	client, err := sarama.NewClient([]string{addr}, sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	out := map[string][]telemetry.Live{}
	for _, m := range readRecords(t, client, telemetry.TopicLive) {
		var l telemetry.Live
		if err := codec.DecodeLive(m.Value, &l); err != nil {
			t.Fatalf("live record %d/%d: %v", m.Partition, m.Offset, err)
		}
		if string(m.Key) != l.Car {
			t.Fatalf("live record keyed %q for car %s", m.Key, l.Car)
		}
		out[l.Car] = append(out[l.Car], l)
	}
	for _, ls := range out {
		sort.SliceStable(ls, func(i, j int) bool { return ls[i].TimeNs < ls[j].TimeNs })
	}
	return out
}

// The processor's telemetry.live records, held to the simulator's truth:
// at least 10 a second of sensor time per car, the lap in progress and
// its start as the truth has them, sectors in order, and the live delta
// at the end of each lap equal to the lap's time minus the car's best
// valid lap before it (±0.1 s: the last record is up to a tenth of a
// second before the line).
func TestLiveRecords(t *testing.T) {
	t.Parallel() // own broker
	b := brokertest.Start(t)
	// No pit stops: every lap after the first is compared with a best.
	truthPath := filepath.Join(t.TempDir(), "truth.csv")
	err := simulator.Run(context.Background(), simulator.Config{
		Track: testTrack, Cars: testCars, Laps: testLaps, PitEvery: -1, Seed: 8, GPSRateHz: 10, Rates: testRates,
		DropoutsPerHour: -1, GPSNoise: -1, Out: "kafka://" + b.Addr + "/" + telemetry.TopicFrames, Truth: truthPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	truth := readTruth(t, truthPath)
	cfg := config(t, b.Addr, "live", nil)
	// Replayed at full speed on a busy machine, the processor may outrun
	// the live producer: wait for it rather than drop, so every record
	// is there to check.
	cfg.LiveWait = time.Minute
	startProcessor(t, cfg)
	laps := waitLaps(t, b.Addr, "live", len(truth))
	checkTruth(t, laps, truth)
	valid := map[string]map[int32]bool{}
	for _, l := range laps {
		if valid[l.Car] == nil {
			valid[l.Car] = map[int32]bool{}
		}
		for _, m := range l.Metrics {
			if m.Name == lap.MValid {
				valid[l.Car][l.Lap] = m.Value == 1
			}
		}
	}
	// The processor publishes live records as it goes: once every lap is
	// out, the records up to the last crossing are too (acks=1, flushed
	// within milliseconds); wait for the last lap's end to be covered.
	var live map[string][]telemetry.Live
	deadline := time.Now().Add(time.Minute)
	for {
		live = readLive(t, b.Addr)
		covered := len(live) == testCars
		for _, w := range truth {
			ls := live[w.Car]
			covered = covered && len(ls) > 0 && ls[len(ls)-1].TimeNs >= w.EndNs
		}
		if covered || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	byCar := map[string][]telemetry.Lap{}
	for _, w := range truth {
		byCar[w.Car] = append(byCar[w.Car], w)
	}
	const margin = int64(5 * time.Millisecond)
	for car, tl := range byCar {
		ls := live[car]
		if len(ls) == 0 {
			t.Fatalf("%s: no live records", car)
		}
		for i := 1; i < len(ls); i++ {
			if gap := time.Duration(ls[i].TimeNs - ls[i-1].TimeNs); gap > 150*time.Millisecond {
				t.Errorf("%s: %v of sensor time between live records at %d", car, gap, ls[i].TimeNs)
			}
		}
		best := time.Duration(0)
		checked := 0
		for _, w := range tl {
			var last *telemetry.Live
			sector := int32(1)
			for i := range ls {
				l := &ls[i]
				if l.TimeNs < w.StartNs+margin || l.TimeNs >= w.EndNs-margin {
					continue
				}
				if l.Lap != w.Lap || abs(l.LapStartNs-w.StartNs) > margin {
					t.Fatalf("%s at %d: live lap %d from %d, truth lap %d from %d", car, l.TimeNs, l.Lap, l.LapStartNs, w.Lap, w.StartNs)
				}
				if l.Sector < sector || l.Sector > 3 {
					t.Fatalf("%s lap %d at %d: sector %d after %d", car, w.Lap, l.TimeNs, l.Sector, sector)
				}
				sector = l.Sector
				if l.X == 0 || l.Y == 0 {
					t.Fatalf("%s lap %d at %d: no position", car, w.Lap, l.TimeNs)
				}
				last = l
			}
			if last == nil {
				t.Fatalf("%s lap %d: no live record", car, w.Lap)
			}
			if sector != 3 {
				t.Errorf("%s lap %d: ended in sector %d", car, w.Lap, sector)
			}
			switch {
			case best == 0 && last.DeltaBestS != nil:
				t.Errorf("%s lap %d: live delta %v before any best lap", car, w.Lap, *last.DeltaBestS)
			case best > 0 && last.DeltaBestS == nil:
				t.Errorf("%s lap %d: no live delta, best lap %v", car, w.Lap, best)
			case best > 0:
				want := (w.LapTime() - best).Seconds()
				got := *last.DeltaBestS
				t.Logf("%s lap %d: live delta %.3f s %v before the line, final %.3f s", car, w.Lap, got, time.Duration(w.EndNs-last.TimeNs), want)
				if d := got - want; d > 0.1 || d < -0.1 {
					t.Errorf("%s lap %d: live delta %.3f s just before the line, lap minus best is %.3f s", car, w.Lap, got, want)
				}
				checked++
			}
			if valid[car][w.Lap] && (best == 0 || w.LapTime() < best) {
				best = w.LapTime()
			}
		}
		driving := 0
		for _, l := range ls {
			if l.Gear > 0 && l.Throttle > 0 && l.RPM > 0 {
				driving++
			}
		}
		if driving < len(ls)/2 {
			t.Errorf("%s: %d of %d live records carry a gear, throttle and rpm", car, driving, len(ls))
		}
		if checked == 0 {
			t.Errorf("%s: no lap had a live delta to check", car)
		}
	}
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// The live delta to the session's best lap (Live.DeltaSessionS), held to
// the simulator's truth: three cars at 20× real time into a running
// processor; just before each line the delta is the lap's time minus a
// valid lap of the session (any car's) that had ended, ±0.1 s, and that
// lap is at least as fast as the session's best of 20 s of sensor time
// (1 s of the run) before: the processor learns the laps from
// telemetry.laps and their traces from telemetry.live, as they come.
func TestLiveSessionDelta(t *testing.T) {
	t.Parallel() // own broker
	b := brokertest.Start(t)
	cfg := config(t, b.Addr, "live-session", nil)
	startProcessor(t, cfg)
	truthPath := filepath.Join(t.TempDir(), "truth.csv")
	err := simulator.Run(context.Background(), simulator.Config{
		Track: testTrack, Cars: testCars, Laps: testLaps, PitEvery: -1, Seed: 5, GPSRateHz: 10, Rates: testRates, Speed: 20,
		DropoutsPerHour: -1, GPSNoise: -1, Out: "kafka://" + b.Addr + "/" + telemetry.TopicFrames, Truth: truthPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	truth := readTruth(t, truthPath)
	laps := waitLaps(t, b.Addr, "live-session", len(truth))
	checkTruth(t, laps, truth)
	valid := map[[2]any]bool{}
	for _, l := range laps {
		for _, m := range l.Metrics {
			if m.Name == lap.MValid {
				valid[[2]any{l.Car, l.Lap}] = m.Value == 1
			}
		}
	}
	var live map[string][]telemetry.Live
	deadline := time.Now().Add(time.Minute)
	for {
		live = readLive(t, b.Addr)
		covered := len(live) == testCars
		for _, w := range truth {
			ls := live[w.Car]
			covered = covered && len(ls) > 0 && ls[len(ls)-1].TimeNs >= w.EndNs-int64(200*time.Millisecond)
		}
		if covered || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// bestBefore is the session's best valid lap time over the laps that
	// ended before ns; 0 before one.
	bestBefore := func(ns int64) time.Duration {
		var best time.Duration
		for _, w := range truth {
			if w.EndNs < ns && valid[[2]any{w.Car, w.Lap}] && (best == 0 || w.LapTime() < best) {
				best = w.LapTime()
			}
		}
		return best
	}
	const lag = int64(20 * time.Second) // sensor time: 1 s of the run at 20×
	checked := 0
	for _, w := range truth {
		var last *telemetry.Live
		for i := range live[w.Car] {
			l := &live[w.Car][i]
			if l.Lap == w.Lap && l.TimeNs < w.EndNs {
				last = l
			}
		}
		if last == nil {
			t.Fatalf("%s lap %d: no live record", w.Car, w.Lap)
		}
		known, exists := bestBefore(last.TimeNs-lag), bestBefore(last.TimeNs)
		switch {
		case exists == 0 && last.DeltaSessionS != nil:
			t.Errorf("%s lap %d: session delta %.3f before any lap ended", w.Car, w.Lap, *last.DeltaSessionS)
		case known == 0:
			continue // the processor may not have read the first lap yet
		case last.DeltaSessionS == nil:
			t.Errorf("%s lap %d: no session delta %v before the line; the session's best was %v", w.Car, w.Lap,
				time.Duration(w.EndNs-last.TimeNs), known)
		default:
			got := *last.DeltaSessionS
			var ref *telemetry.Lap
			for i := range truth {
				l := &truth[i]
				d := got - (w.LapTime() - l.LapTime()).Seconds()
				if l.EndNs < last.TimeNs && valid[[2]any{l.Car, l.Lap}] && l.LapTime() <= known && d <= 0.1 && d >= -0.1 {
					ref = l
				}
			}
			if ref == nil {
				t.Errorf("%s lap %d (%v): session delta %.3f s %v before the line; the session's best was %v (%v 20 s before), want lap minus that ±0.1 s",
					w.Car, w.Lap, w.LapTime(), got, time.Duration(w.EndNs-last.TimeNs), exists, known)
				continue
			}
			t.Logf("%s lap %d: session delta %.3f s, lap %v against %s lap %d %v", w.Car, w.Lap, got, w.LapTime(), ref.Car, ref.Lap, ref.LapTime())
			checked++
		}
	}
	if checked < testCars {
		t.Errorf("%d laps had a session delta to check, want at least %d", checked, testCars)
	}
}
