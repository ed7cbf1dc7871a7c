package alarm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pitwall/pitwall/telemetry"
)

// ErrRules is wrapped by every error in a rules file.
var ErrRules = errors.New("alarm: bad rules file")

// Op is what a rule compares.
type Op uint8

// Rule conditions.
const (
	Above    Op = iota + 1 // value > Hi
	Below                  // value < Lo
	Outside                // value < Lo or value > Hi
	FuelLaps               // laps of fuel left < Laps
)

// DefaultFuelChannel is the channel a fuel_laps rule reads unless it
// names one.
const DefaultFuelChannel = telemetry.ChanFuel

// Guard holds a rule only while another channel is above (Above) or
// below (!Above) Value.
type Guard struct {
	Channel string
	Above   bool
	Value   float64
}

// Rule is one rule of a rules file.
type Rule struct {
	// Name names the rule (a channel-like name, unique in the file).
	Name string
	// Channel is the channel, or a path.Match pattern of channels.
	Channel string
	Op      Op
	// Lo and Hi are the limits: Above uses Hi, Below Lo, Outside both.
	Lo, Hi float64
	// Laps is a FuelLaps rule's number of laps.
	Laps float64
	// For is how long the condition holds before the alarm is raised.
	For time.Duration
	// ClearAfter is how long it must not hold before a raised alarm
	// clears. Default max(For, 1s).
	ClearAfter time.Duration
	// Deadband moves the limits to the safe side while raised. Default 0.
	Deadband float64
	// When guards the rule; nil: no guard.
	When *Guard
	// Severity is telemetry.SeverityInfo, Warning (default) or Critical.
	Severity string
	// Message is shown to the engineer. Default: the condition in words.
	Message string
	// Line is the rule's line in the file.
	Line int
}

// Rules are a parsed rules file.
type Rules struct {
	File  string
	Rules []Rule
}

// Load reads and parses a rules file.
func Load(file string) (*Rules, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRules, err)
	}
	return Parse(file, b)
}

// ruleYAML is a rule as written.
type ruleYAML struct {
	Name       string     `yaml:"name"`
	Channel    string     `yaml:"channel"`
	Above      *float64   `yaml:"above"`
	Below      *float64   `yaml:"below"`
	Outside    []float64  `yaml:"outside"`
	FuelLaps   *float64   `yaml:"fuel_laps"`
	For        string     `yaml:"for"`
	ClearAfter string     `yaml:"clear_after"`
	Deadband   float64    `yaml:"deadband"`
	When       *guardYAML `yaml:"when"`
	Severity   string     `yaml:"severity"`
	Message    string     `yaml:"message"`
}

type guardYAML struct {
	Channel string   `yaml:"channel"`
	Above   *float64 `yaml:"above"`
	Below   *float64 `yaml:"below"`
}

// Parse parses the YAML of a rules file (see the package doc); file names
// it in errors.
func Parse(file string, b []byte) (*Rules, error) {
	fail := func(line int, format string, a ...any) error {
		return fmt.Errorf("%w: %s:%d: %s", ErrRules, file, line, fmt.Sprintf(format, a...))
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var doc struct {
		Rules []yaml.Node `yaml:"rules"`
	}
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: %s is empty; want rules: [{name: ..., channel: ..., above: ..., for: 2s}, ...]", ErrRules, file)
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrRules, file, yamlErr(err))
	}
	if len(doc.Rules) == 0 {
		return nil, fmt.Errorf("%w: %s has no rules (want a top-level rules: list)", ErrRules, file)
	}
	rs := &Rules{File: file}
	seen := map[string]int{}
	for i := range doc.Rules {
		n := &doc.Rules[i]
		if n.Kind != yaml.MappingNode {
			return nil, fail(n.Line, "rule %d is not a mapping (name: ..., channel: ..., ...)", i+1)
		}
		if err := knownKeys(n); err != nil {
			return nil, fail(n.Line, "rule %d: %v", i+1, err)
		}
		var ry ruleYAML
		if err := n.Decode(&ry); err != nil {
			return nil, fail(n.Line, "rule %d: %v", i+1, yamlErr(err))
		}
		r, err := ry.compile()
		if err != nil {
			return nil, fail(n.Line, "rule %q: %v", ry.Name, err)
		}
		if prev, dup := seen[r.Name]; dup {
			return nil, fail(n.Line, "rule %q: the name is used by the rule on line %d too", r.Name, prev)
		}
		seen[r.Name] = n.Line
		r.Line = n.Line
		rs.Rules = append(rs.Rules, r)
	}
	return rs, nil
}

// yamlErr shortens yaml.v3's multi-line type errors to one line, in
// the file's words rather than Go's.
func yamlErr(err error) string {
	msg := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "yaml: unmarshal errors:", "")), " ")
	msg = notFoundRE.ReplaceAllString(msg, `unknown key "$1" (the file holds rules: [...])`)
	return strings.ReplaceAll(msg, "into []yaml.Node", "into a list of rules")
}

var notFoundRE = regexp.MustCompile(`field (.*?) not found in type struct \{.*\}`)

var ruleKeys = map[string]bool{"name": true, "channel": true, "above": true, "below": true, "outside": true, "fuel_laps": true,
	"for": true, "clear_after": true, "deadband": true, "when": true, "severity": true, "message": true}

var guardKeys = map[string]bool{"channel": true, "above": true, "below": true}

// knownKeys refuses a key a rule (or its when) does not have: Node.Decode
// does not check them.
func knownKeys(n *yaml.Node) error {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		if !ruleKeys[k] {
			return fmt.Errorf("unknown key %q on line %d (want name, channel, above, below, outside, fuel_laps, for, clear_after, deadband, when, severity, message)", k, n.Content[i].Line)
		}
		if k != "when" || v.Kind != yaml.MappingNode {
			continue
		}
		for j := 0; j+1 < len(v.Content); j += 2 {
			if !guardKeys[v.Content[j].Value] {
				return fmt.Errorf("when: unknown key %q on line %d (want channel, above or below)", v.Content[j].Value, v.Content[j].Line)
			}
		}
	}
	return nil
}

func (ry *ruleYAML) compile() (Rule, error) {
	r := Rule{Name: ry.Name, Channel: ry.Channel, Deadband: ry.Deadband, Severity: ry.Severity, Message: ry.Message}
	if !telemetry.ValidName(r.Name) {
		return r, errors.New("name must be 1-64 characters of A-Z, a-z, 0-9, _ or dot")
	}
	ops := 0
	for _, set := range []bool{ry.Above != nil, ry.Below != nil, ry.Outside != nil, ry.FuelLaps != nil} {
		if set {
			ops++
		}
	}
	if ops != 1 {
		return r, errors.New("give exactly one of above, below, outside [low, high] or fuel_laps")
	}
	switch {
	case ry.Above != nil:
		r.Op, r.Hi = Above, *ry.Above
	case ry.Below != nil:
		r.Op, r.Lo = Below, *ry.Below
	case ry.Outside != nil:
		if len(ry.Outside) != 2 || !(ry.Outside[0] < ry.Outside[1]) {
			return r, fmt.Errorf("outside %v: want [low, high] with low < high", ry.Outside)
		}
		r.Op, r.Lo, r.Hi = Outside, ry.Outside[0], ry.Outside[1]
	default:
		r.Op, r.Laps = FuelLaps, *ry.FuelLaps
		if !(r.Laps > 0) {
			return r, fmt.Errorf("fuel_laps %v: want a number of laps above 0", r.Laps)
		}
		if r.Channel == "" {
			r.Channel = DefaultFuelChannel
		}
	}
	if r.Channel == "" {
		return r, errors.New("no channel (e.g. channel: water_temp)")
	}
	if err := validPattern(r.Channel); err != nil {
		return r, err
	}
	if r.Op == FuelLaps && strings.ContainsAny(r.Channel, "*?[") {
		return r, fmt.Errorf("fuel_laps reads one fuel channel, not a pattern (%q)", r.Channel)
	}
	for _, v := range []float64{r.Lo, r.Hi, r.Laps, r.Deadband} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return r, errors.New("limits must be finite numbers")
		}
	}
	if r.Deadband < 0 {
		return r, fmt.Errorf("deadband %v is negative", r.Deadband)
	}
	if r.Op == Outside && 2*r.Deadband >= r.Hi-r.Lo {
		return r, fmt.Errorf("deadband %v leaves nothing of the window %v..%v", r.Deadband, r.Lo, r.Hi)
	}
	var err error
	if r.For, err = duration("for", ry.For, 0); err != nil {
		return r, err
	}
	if r.ClearAfter, err = duration("clear_after", ry.ClearAfter, max(r.For, time.Second)); err != nil {
		return r, err
	}
	if ry.When != nil {
		if r.When, err = ry.When.compile(); err != nil {
			return r, err
		}
	}
	switch r.Severity {
	case "":
		r.Severity = telemetry.SeverityWarning
	case telemetry.SeverityInfo, telemetry.SeverityWarning, telemetry.SeverityCritical:
	default:
		return r, fmt.Errorf("severity %q: want info, warning or critical", r.Severity)
	}
	if len(r.Message) > telemetry.MaxAlarmText {
		return r, fmt.Errorf("message longer than %d bytes", telemetry.MaxAlarmText)
	}
	return r, nil
}

func (g *guardYAML) compile() (*Guard, error) {
	if !telemetry.ValidName(g.Channel) {
		return nil, fmt.Errorf("when: channel %q: want one channel name (no pattern)", g.Channel)
	}
	if (g.Above == nil) == (g.Below == nil) {
		return nil, errors.New("when: give exactly one of above or below")
	}
	gd := &Guard{Channel: g.Channel, Above: g.Above != nil}
	if g.Above != nil {
		gd.Value = *g.Above
	} else {
		gd.Value = *g.Below
	}
	if math.IsNaN(gd.Value) || math.IsInf(gd.Value, 0) {
		return nil, errors.New("when: the limit must be a finite number")
	}
	return gd, nil
}

// validPattern accepts a channel name, or a path.Match pattern of them.
func validPattern(p string) error {
	bad := len(p) > telemetry.MaxNameLen
	for i := 0; i < len(p) && !bad; i++ {
		c := p[i]
		bad = !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_.*?[]^-", c) >= 0)
	}
	if _, err := path.Match(p, ""); bad || err != nil {
		return fmt.Errorf("channel %q: want a channel name or a pattern such as tyre_temp_*", p)
	}
	return nil
}

func duration(key, s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || d > 24*time.Hour {
		return 0, fmt.Errorf("%s %q: want a duration such as 2s or 500ms", key, s)
	}
	return d, nil
}

// Condition is the rule in words for a channel of unit, e.g.
// "water_temp > 110 degC for 2s".
func (r *Rule) Condition(channel, unit string) string {
	u := ""
	if unit != "" {
		u = " " + unit
	}
	var s string
	switch r.Op {
	case Above:
		s = fmt.Sprintf("%s > %g%s", channel, r.Hi, u)
	case Below:
		s = fmt.Sprintf("%s < %g%s", channel, r.Lo, u)
	case Outside:
		s = fmt.Sprintf("%s outside %g..%g%s", channel, r.Lo, r.Hi, u)
	case FuelLaps:
		s = fmt.Sprintf("%s < %g laps", channel, r.Laps)
	}
	if g := r.When; g != nil {
		op := "<"
		if g.Above {
			op = ">"
		}
		s += fmt.Sprintf(" when %s %s %g", g.Channel, op, g.Value)
	}
	if r.For > 0 {
		s += " for " + r.For.String()
	}
	return s
}
