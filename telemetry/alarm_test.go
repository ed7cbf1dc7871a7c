package telemetry

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func testAlarm() *Alarm {
	return &Alarm{Car: "car02", Session: "brands-indy-1", Rule: "water_hot", Channel: "water_temp", Severity: SeverityCritical,
		Message: "Water temperature over 110 °C", Condition: "water_temp > 110 degC for 2s", Active: true,
		TimeNs: 1_700_000_002_000_000_000, SinceNs: 1_700_000_000_000_000_000, Value: 110.4}
}

func TestAlarmRoundTrip(t *testing.T) {
	c := MustNewCodec()
	for _, a := range []*Alarm{testAlarm(), {Car: "car01", Rule: "r", Channel: "c", Severity: SeverityInfo}} {
		b, err := c.AppendAlarm(nil, a)
		if err != nil {
			t.Fatal(err)
		}
		if name, err := c.Identify(b); err != nil || name != NameAlarm {
			t.Fatalf("Identify = %q, %v", name, err)
		}
		var got Alarm
		if err := c.DecodeAlarm(b, &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(&got, a) {
			t.Fatalf("got %+v, want %+v", got, *a)
		}
		var l Live
		if err := c.DecodeLive(b, &l); !errors.Is(err, ErrWrongSchema) {
			t.Fatalf("decoding an Alarm as a Live record: %v, want ErrWrongSchema", err)
		}
	}
}

func TestAlarmInvalid(t *testing.T) {
	c := MustNewCodec()
	for name, mod := range map[string]func(*Alarm){
		"bad car":        func(a *Alarm) { a.Car = "car 1" },
		"bad rule":       func(a *Alarm) { a.Rule = "water hot" },
		"no channel":     func(a *Alarm) { a.Channel = "" },
		"bad severity":   func(a *Alarm) { a.Severity = "panic" },
		"long message":   func(a *Alarm) { a.Message = strings.Repeat("x", MaxAlarmText+1) },
		"since after":    func(a *Alarm) { a.SinceNs = a.TimeNs + 1 },
		"negative time":  func(a *Alarm) { a.TimeNs, a.SinceNs = -1, -1 },
		"nan value":      func(a *Alarm) { a.Value = math.NaN() },
		"infinite value": func(a *Alarm) { a.Value = math.Inf(-1) },
	} {
		a := testAlarm()
		mod(a)
		if _, err := c.AppendAlarm(nil, a); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: AppendAlarm = %v, want ErrInvalid", name, err)
		}
	}
}

func FuzzDecodeAlarm(f *testing.F) {
	c := MustNewCodec()
	b, _ := c.AppendAlarm(nil, testAlarm())
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		var a Alarm
		if err := c.DecodeAlarm(data, &a); err == nil {
			if err := a.Validate(); err != nil {
				t.Fatalf("decoded an invalid record: %v", err)
			}
		}
	})
}
