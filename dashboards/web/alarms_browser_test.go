package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pitwall/pitwall/dashboards/web"
	"github.com/pitwall/pitwall/processors/alarm"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/up"
)

// Alarms in a real browser, from `pitwall up --alarms
// dashboards/alarms.example.yaml --fault car02:overheat@lap1` at 8× real
// time with a stop every third lap: the page lists the armed rules, then car02's
// water and oil alarms in the banner with its driver and the rule's
// message, its tower row marked critical with a badge (car01's never),
// and once the stop has fixed the engine and it has cooled, the banner
// and the marks go.
func TestAlarmsInBrowser(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	rules, err := alarm.Load("../alarms.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	drivers := web.Drivers{"car02": {Number: "33", Name: "Max Verstappen", Team: "Red Bull", Colour: "#1e41ff"}}
	openUp(t, ctx, up.Config{Cars: 2, Track: "brands-indy", Speed: 8, PitEvery: 3, Rates: lowRates, Alarms: rules,
		Faults: []simulator.Fault{{Car: "car02", Kind: simulator.FaultOverheat, Lap: 1}}, Drivers: drivers})
	waitJS(t, ctx, "two cars on the tower", `document.querySelectorAll("#tower tbody tr").length === 2`, 2*time.Minute)
	if got := eval[string](t, ctx, `document.querySelector("#alarm-rules").innerText`); !strings.Contains(got, "water_hot") || !strings.Contains(got, "fuel_low") {
		t.Errorf("armed rules %q", got)
	}
	waitJS(t, ctx, "car02's water alarm in the banner", `document.querySelector('#alarms li.critical[data-car="car02"][data-rule="water_hot"]') !== null`, 2*time.Minute)
	waitJS(t, ctx, "car02's row marked critical", `document.querySelector('tr[data-car="car02"].alarm.critical td.driver .alarm-badge.critical') !== null`, 10*time.Second)
	banner := eval[string](t, ctx, `document.querySelector('#alarms li[data-rule="water_hot"]').innerText`)
	if !strings.Contains(banner, "#33 Max Verstappen") || !strings.Contains(banner, "Water temperature over 110 °C") || !strings.Contains(banner, "water_temp > 110 degC for 2s") {
		t.Errorf("banner line %q", banner)
	}
	if got := eval[string](t, ctx, `getComputedStyle(document.querySelector('#alarms li.critical .what')).color`); got != "rgb(255, 77, 77)" {
		t.Errorf("critical alarm drawn in %q, want red", got)
	}
	waitJS(t, ctx, "car02's oil pressure alarm too", `document.querySelector('#alarms li[data-car="car02"][data-rule="oil_pressure_low"]') !== null`, time.Minute)
	if eval[bool](t, ctx, `document.querySelector('tr[data-car="car01"].alarm, #alarms li[data-car="car01"]') !== null`) {
		t.Error("the healthy car01 is marked")
	}
	checkLayout(t, ctx)
	screenshot(t, ctx, "pitwall-alarms")
	if eval[bool](t, ctx, `document.querySelector("#alarms").classList.contains("hidden")`) {
		t.Error("the alarm banner is hidden with alarms raised")
	}
	// The stop at the end of lap 3 fixes the engine; the water cools
	// under 108 degC (the deadband) within a lap.
	waitJS(t, ctx, "the alarms cleared", `document.querySelector("#alarms").classList.contains("hidden") && document.querySelector("tr.alarm, .alarm-badge") === null && window.pitwall.alarms.length === 0`, 3*time.Minute)
	if n := eval[float64](t, ctx, `document.querySelectorAll("#tower tbody tr").length`); n != 2 {
		t.Errorf("%v rows after the alarms cleared", n)
	}
}
