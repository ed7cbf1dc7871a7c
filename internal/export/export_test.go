package export_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/edge/logs"
	"github.com/pitwall/pitwall/internal/export"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

// session simulates two cars for two laps into a broker and reads car02's
// second lap back (the truth's crossings around it).
func session(t *testing.T) (*export.Session, telemetry.Lap) {
	t.Helper()
	b := brokertest.Start(t)
	truthPath := filepath.Join(t.TempDir(), "truth.csv")
	err := simulator.Run(context.Background(), simulator.Config{Track: "brands-indy", Cars: 2, Laps: 2, Seed: 3, GPSRateHz: 10,
		Rates: map[string]int{telemetry.ChanGVert: 50, telemetry.ChanDamper + "_fl": 50, telemetry.ChanDamper + "_fr": 50,
			telemetry.ChanDamper + "_rl": 50, telemetry.ChanDamper + "_rr": 50},
		Out: "kafka://" + b.Addr + "/" + telemetry.TopicFrames, Truth: truthPath})
	if err != nil {
		t.Fatal(err)
	}
	var lap telemetry.Lap
	truth, err := simulator.ReadTruthFile(truthPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range truth {
		if l.Car == "car02" && l.Lap == 2 {
			lap = l
		}
	}
	client, err := sarama.NewClient([]string{b.Addr}, sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	s, err := export.Read(context.Background(), client, "car02", "", lap.StartNs, lap.EndNs)
	if err != nil {
		t.Fatal(err)
	}
	s.Crossings, s.FirstLap, s.Venue = []int64{lap.StartNs, lap.EndNs}, 2, "Brands Hatch Indy"
	for _, f := range s.Frames {
		if f.Car != "car02" || f.TimeNs < lap.StartNs || f.TimeNs > lap.EndNs {
			t.Fatalf("frame of %s at %d outside the lap", f.Car, f.TimeNs)
		}
	}
	return s, lap
}

// A lap exported in RaceChrono's format reads back, through the same
// reader as `pitwall import`, as the same lap: every frame's time, the
// speeds, and the device lap markers at the crossings. Exported as MoTeC
// i2's CSV it has i2's header block, one row per 1/rate s with each
// channel held at its newest value, and the lap's end as beacon marker.
func TestExport(t *testing.T) {
	s, lap := session(t)
	speed, ok := s.Catalog.ByName(telemetry.ChanSpeed)
	if !ok {
		t.Fatal("no speed channel")
	}

	var rc bytes.Buffer
	if err := export.Write(&rc, s, export.FormatRaceChrono, 0); err != nil {
		t.Fatal(err)
	}
	back, err := logs.Read(bytes.NewReader(rc.Bytes()), logs.Options{Car: "car02"})
	if err != nil {
		t.Fatal(err)
	}
	if back.Format != logs.FormatRaceChrono || back.BadCount() != 0 {
		t.Fatalf("read back as %s with %d bad rows: %+v", back.Format, back.BadCount(), back.Bad)
	}
	if len(back.Markers) != 2 || abs(back.Markers[0]-lap.StartNs) > int64(time.Millisecond) || abs(back.Markers[1]-lap.EndNs) > int64(time.Millisecond) {
		t.Errorf("lap markers %v, want the crossings %d and %d", back.Markers, lap.StartNs, lap.EndNs)
	}
	backSpeed, ok := back.Catalog.ByName(telemetry.ChanSpeed)
	if !ok {
		t.Fatalf("no speed channel read back: %+v", back.Catalog.Channels)
	}
	want := map[int64]float64{}
	for _, f := range s.Frames {
		if v, ok := f.Value(speed.ID); ok {
			want[f.TimeNs/1e6] = v
		}
	}
	got := 0
	for _, f := range back.Frames {
		if v, ok := f.Value(backSpeed.ID); ok {
			w, ok := want[f.TimeNs/1e6]
			if !ok || math.Abs(v-w) > 1e-6 {
				t.Fatalf("speed %v at %d read back, exported %v (%v)", v, f.TimeNs, w, ok)
			}
			got++
		}
	}
	if got != len(want) {
		t.Errorf("%d speed samples read back, %d exported", got, len(want))
	}

	var mc bytes.Buffer
	if err := export.Write(&mc, s, export.FormatMoTeC, 50); err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(bytes.NewReader(mc.Bytes()))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll() // blank lines are skipped
	if err != nil {
		t.Fatal(err)
	}
	if rows[0][0] != "Format" || rows[0][1] != "MoTeC CSV File" || rows[8][0] != "Sample Rate" || rows[8][1] != "50" {
		t.Fatalf("header %q / %q", rows[0], rows[8])
	}
	if rows[11][0] != "Beacon Markers" {
		t.Fatalf("row 12 %q", rows[11])
	}
	start := s.Frames[0].TimeNs
	if m, _ := strconv.ParseFloat(rows[11][1], 64); math.Abs(m-float64(lap.EndNs-start)/1e9) > 0.001 {
		t.Errorf("beacon marker %q, the lap ends %.3f s in", rows[11][1], float64(lap.EndNs-start)/1e9)
	}
	names, units := rows[12], rows[13]
	if names[0] != "Time" || units[0] != "s" || len(names) != len(s.Catalog.Channels)+1 {
		t.Fatalf("names %q units %q", names, units)
	}
	col := -1
	for i, n := range names {
		if n == telemetry.ChanSpeed {
			col = i
		}
	}
	if col < 0 || units[col] != speed.Unit {
		t.Fatalf("speed column %d, unit %q", col, units[col])
	}
	data := rows[14:]
	end := max(s.Frames[len(s.Frames)-1].TimeNs, lap.EndNs) // the grid reaches the lap's end
	if n := int((end-start)/int64(20*time.Millisecond)) + 1; len(data) != n {
		t.Errorf("%d rows, want %d (50 Hz over %.3f s)", len(data), n, float64(end-start)/1e9)
	}
	// Each row holds the newest speed sample at or before its time.
	fi := 0
	var held float64
	for i, row := range data {
		at := start + int64(i)*int64(20*time.Millisecond)
		for ; fi < len(s.Frames) && s.Frames[fi].TimeNs <= at; fi++ {
			if v, ok := s.Frames[fi].Value(speed.ID); ok {
				held = v
			}
		}
		if tm, _ := strconv.ParseFloat(row[0], 64); math.Abs(tm-float64(at-start)/1e9) > 0.0005 {
			t.Fatalf("row %d at %q, want %.3f", i, row[0], float64(at-start)/1e9)
		}
		if v, _ := strconv.ParseFloat(row[col], 64); i > 0 && v != held {
			t.Fatalf("row %d: speed %q, the newest sample is %v", i, row[col], held)
		}
	}

	if err := export.Write(&mc, s, "ld", 0); err == nil || !strings.Contains(err.Error(), "motec") {
		t.Errorf("format ld: %v", err)
	}
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
