package web

import (
	"testing"

	"github.com/pitwall/pitwall/telemetry"
)

// The raised alarms: a raise shows, the same raise read again (a
// processor's re-read after a restart) changes nothing, a clear older
// than the raise is ignored, a clear removes it; rows carry their car's
// most severe alarm, and the list is most severe first.
func TestAlarmsSet(t *testing.T) {
	as := NewAlarms()
	water := telemetry.Alarm{Car: "car02", Rule: "water_hot", Channel: "water_temp", Severity: telemetry.SeverityCritical, Active: true, SinceNs: 10, TimeNs: 20}
	fuel := telemetry.Alarm{Car: "car02", Rule: "fuel_low", Channel: "fuel_level", Severity: telemetry.SeverityWarning, Active: true, SinceNs: 5, TimeNs: 5}
	tyre := telemetry.Alarm{Car: "car03", Rule: "tyre", Channel: "tyre_press_rr", Severity: telemetry.SeverityWarning, Active: true, SinceNs: 1, TimeNs: 4}
	for _, a := range []telemetry.Alarm{fuel, water, tyre} {
		if !as.Add(&a) {
			t.Fatalf("raising %s changed nothing", a.Rule)
		}
	}
	if as.Add(&water) {
		t.Error("the same raise read again changed the set")
	}
	act := as.Active()
	if len(act) != 3 || act[0].Rule != "water_hot" || act[1].Rule != "tyre" || act[2].Rule != "fuel_low" {
		t.Errorf("Active = %+v", act)
	}
	rows := []Row{{Car: "car01"}, {Car: "car02"}, {Car: "car03"}}
	as.Mark(rows)
	if rows[0].Alarm != "" || rows[1].Alarm != telemetry.SeverityCritical || rows[2].Alarm != telemetry.SeverityWarning {
		t.Errorf("rows marked %q %q %q", rows[0].Alarm, rows[1].Alarm, rows[2].Alarm)
	}
	stale := water
	stale.Active, stale.SinceNs, stale.TimeNs = false, 1, 15 // cleared before this raise
	if as.Add(&stale) || len(as.Active()) != 3 {
		t.Error("a clear older than the raise removed it")
	}
	clear := water
	clear.Active, clear.SinceNs, clear.TimeNs = false, 20, 40
	if !as.Add(&clear) || len(as.Active()) != 2 {
		t.Error("the clear did not remove the alarm")
	}
	if as.Add(&clear) {
		t.Error("a clear of an alarm not raised changed the set")
	}
	as.Mark(rows)
	if rows[1].Alarm != telemetry.SeverityWarning {
		t.Errorf("car02 marked %q after its critical alarm cleared, want its warning", rows[1].Alarm)
	}
	// car02's next session: its uncleared fuel warning of the last one
	// goes; car03's stays.
	next := water
	next.Session, next.SinceNs, next.TimeNs = "s2", 100, 102
	if !as.Add(&next) {
		t.Fatal("a new session's raise changed nothing")
	}
	act = as.Active()
	if len(act) != 2 || act[0].Session != "s2" || act[1].Car != "car03" {
		t.Errorf("after car02's new session: %+v", act)
	}
	// A live record of car03 in a newer session drops its old warning;
	// one of car02's own session changes nothing.
	if as.Session("car02", "s2", 200) || !as.Session("car03", "s2", 200) || len(as.Active()) != 1 {
		t.Errorf("after live records of the new session: %+v", as.Active())
	}
}
