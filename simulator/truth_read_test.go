package simulator

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/pitwall/pitwall/telemetry"
)

// The truth CSV reads back as the laps written, to the nanosecond.
func TestReadTruthRoundTrip(t *testing.T) {
	laps := []telemetry.Lap{
		{Car: "car01", Lap: 1, StartNs: 1_000_000_000, EndNs: 91_234_567_891, SectorsNs: []int64{30_000_000_001, 30_234_567_890, 30_000_000_000}},
		{Car: "car02", Lap: 7, StartNs: -5, EndNs: 80_000_000_000, SectorsNs: []int64{-1, 2, 79_999_999_999}, PitLane: true},
	}
	var b bytes.Buffer
	if err := WriteTruthHeader(&b, 3); err != nil {
		t.Fatal(err)
	}
	for i := range laps {
		if err := WriteTruthRow(&b, &laps[i]); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadTruth(&b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, laps) {
		t.Errorf("read back\n%+v\nwant\n%+v", got, laps)
	}
}

func TestReadTruthErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "empty"},
		{"car,lap,start_ns,end_ns\n", "no pit_lane column"},
		{"car,lap,start_ns,end_ns,lap_time_s,s1_s,pit_lane\ncar01,x,0,1,0.1,0.1,false\n", "row 2"},
		{"car,lap,start_ns,end_ns,lap_time_s,s1_s,pit_lane\ncar01,1,0,1,0.1,0.1234567891,false\n", "nine decimals"},
	} {
		if _, err := ReadTruth(strings.NewReader(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want an error with %q", c.in, err, c.want)
		}
	}
}
