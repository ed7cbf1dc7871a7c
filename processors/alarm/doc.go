// Package alarm is the pit wall's alarms: rules read from a file
// (`--alarms FILE` on pitwall up, process and web) and evaluated on every
// car's frames as the lap processor reads them. It is pure: no I/O, no
// clock (sensor time only), no network client.
//
// # The rules file (YAML)
//
//	rules:
//	  - name: water_hot              # a channel name: [A-Za-z0-9_.]
//	    channel: water_temp          # a channel, or a pattern (tyre_temp_*)
//	    above: 110                   # in the channel's own unit (degC)
//	    for: 2s                      # held this long before it is raised
//	    severity: critical           # info, warning (default) or critical
//	    message: Water temperature over 110 °C
//	  - name: oil_pressure_low
//	    channel: oil_press
//	    below: 1.5                   # bar
//	    when: {channel: rpm, above: 3000}
//	    for: 1s
//	  - name: tyre_temp_window
//	    channel: tyre_temp_*_mid     # one alarm per matching channel
//	    outside: [50, 115]
//	    for: 5s
//	  - name: fuel_low
//	    fuel_laps: 2                 # fuel for fewer than 2 laps
//
// A rule has exactly one of above, below, outside [low, high] or
// fuel_laps. when guards it with another channel (above or below a
// value): the condition holds only while the guard does. for (default 0)
// is how long the condition must hold, in sensor time, before the alarm
// is raised; a sample that breaks it starts the wait again, so a single
// glitching sample never raises a held rule.
//
// Hysteresis: a raised alarm clears only once its condition has not held
// for clear_after (default: the rule's for, at least 1s), and deadband
// (default 0, in the channel's unit) moves the limits towards the safe
// side while it is raised (above 110 with deadband 2 clears below 108).
// So a value hovering at a limit raises at most one alarm per
// for + clear_after, never one per sample.
//
// fuel_laps reads the fuel channel (channel, default fuel_level) and the
// car's start/finish crossings (Car.Crossing): fuel per lap is the mean
// of the laps since the last refuel (the fuel at a crossing higher than at
// the one before), and the alarm holds while fuel left / fuel per lap is
// below fuel_laps. It needs two crossings after a refuel to know the
// fuel per lap; until then it stays quiet.
//
// A bad file gives one error naming the file, the line and the rule; a
// rule naming a channel a car does not have raises nothing for that car
// (Car.Unmatched lists them, for a warning).
//
// # Evaluation
//
//	Rules ──NewCar(catalog)──▶ Car ──Frame(f)──▶ []telemetry.Alarm (raised / cleared)
//	                              └─Crossing(ns)  (fuel per lap)
//
// One Car per car and session, fed the car's frames in order (the lap
// processor keeps one per car in the partition that owns it). Events
// carry sensor times: the same frames give the same events.
package alarm
