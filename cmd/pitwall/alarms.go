package main

import (
	"flag"
	"strings"

	"github.com/pitwall/pitwall/processors/alarm"
	"github.com/pitwall/pitwall/simulator"
)

// alarmsFlag adds --alarms FILE (the alarm rules, package alarm) to fs;
// the returned function loads them: nil without the flag.
func alarmsFlag(fs *flag.FlagSet, what string) func() (*alarm.Rules, error) {
	path := fs.String("alarms", "", "YAML `FILE` of alarm rules "+what+" (e.g. water_temp above 110 for 2s; see dashboards/alarms.example.yaml)")
	return func() (*alarm.Rules, error) {
		if *path == "" {
			return nil, nil
		}
		return alarm.Load(*path)
	}
}

// faultFlags is the repeatable --fault flag of pitwall sim and up.
type faultFlags []simulator.Fault

func (f *faultFlags) String() string {
	var s []string
	for _, x := range *f {
		s = append(s, x.String())
	}
	return strings.Join(s, ",")
}

// Set takes one fault, or several comma-separated (as PITWALL_FAULT
// gives them).
func (f *faultFlags) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		x, err := simulator.ParseFault(strings.TrimSpace(s))
		if err != nil {
			return err
		}
		*f = append(*f, x)
	}
	return nil
}

// addFaultFlags adds --fault (repeatable) and --fault-truth to fs.
func addFaultFlags(fs *flag.FlagSet) (*faultFlags, *string) {
	var f faultFlags
	fs.Var(&f, "fault", "inject a fault for alarm tests, repeatable: CAR:overheat@lapN (water past 110 degC, oil pressure sagging) or CAR:puncture[-fl|-fr|-rl|-rr]@lapN (a slow puncture); the car's next pit stop fixes it")
	truth := fs.String("fault-truth", "", "write when each --fault began and was fixed to this CSV file")
	return &f, truth
}
