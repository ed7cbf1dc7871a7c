package dashboards_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pitwall/pitwall/dashboards"
	"github.com/pitwall/pitwall/processors/alarm"
	"github.com/pitwall/pitwall/processors/influx"
	"github.com/pitwall/pitwall/processors/influx/influxtest"
	"github.com/pitwall/pitwall/simulator"
)

// alertFile mirrors Grafana's alert rule provisioning file (apiVersion 1;
// pkg/services/provisioning/alerting: AlertRuleGroupV1, AlertRuleV1,
// QueryV1), decoded strictly: a key Grafana does not know fails.
type alertFile struct {
	APIVersion int          `yaml:"apiVersion"`
	Groups     []alertGroup `yaml:"groups"`
}

type alertGroup struct {
	OrgID    int         `yaml:"orgId"`
	Name     string      `yaml:"name"`
	Folder   string      `yaml:"folder"`
	Interval string      `yaml:"interval"`
	Rules    []alertRule `yaml:"rules"`
}

type alertRule struct {
	UID          string            `yaml:"uid"`
	Title        string            `yaml:"title"`
	Condition    string            `yaml:"condition"`
	Data         []alertQuery      `yaml:"data"`
	NoDataState  string            `yaml:"noDataState"`
	ExecErrState string            `yaml:"execErrState"`
	For          string            `yaml:"for"`
	Labels       map[string]string `yaml:"labels"`
	Annotations  map[string]string `yaml:"annotations"`
	IsPaused     bool              `yaml:"isPaused"`
}

type alertQuery struct {
	RefID             string `yaml:"refId"`
	RelativeTimeRange struct {
		From int `yaml:"from"`
		To   int `yaml:"to"`
	} `yaml:"relativeTimeRange"`
	DatasourceUID string         `yaml:"datasourceUid"`
	Model         map[string]any `yaml:"model"`
}

var alertUID = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,40}$`)

// alertRules reads every provisioned alert rule file and holds it to what
// Grafana's provisioning needs (the checks of its MapToModel), to the
// provisioned InfluxDB datasource, and to the alarms measurement.
func alertRules(t *testing.T) []alertRule {
	t.Helper()
	files, err := fs.Glob(dashboards.FS, "provisioning/alerting/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no alert rule files: %v", err)
	}
	var out []alertRule
	uids := map[string]bool{}
	for _, f := range files {
		b, err := dashboards.FS.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		dec.KnownFields(true)
		var af alertFile
		if err := dec.Decode(&af); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if af.APIVersion != 1 || len(af.Groups) == 0 {
			t.Fatalf("%s: apiVersion %d, %d groups", f, af.APIVersion, len(af.Groups))
		}
		for _, g := range af.Groups {
			iv, err := time.ParseDuration(g.Interval)
			if g.Name == "" || g.Folder == "" || g.OrgID != 1 || err != nil || iv%(10*time.Second) != 0 || len(g.Rules) == 0 {
				t.Errorf("%s: group %q folder %q org %d interval %q (a multiple of Grafana's 10s base interval): %v", f, g.Name, g.Folder, g.OrgID, g.Interval, err)
			}
			for _, r := range g.Rules {
				checkAlertRule(t, f, r, uids)
				out = append(out, r)
			}
		}
	}
	return out
}

func checkAlertRule(t *testing.T, file string, r alertRule, uids map[string]bool) {
	t.Helper()
	if !alertUID.MatchString(r.UID) || uids[r.UID] || r.Title == "" || strings.Contains(r.Title, "$") {
		t.Errorf("%s: rule %q: uid %q must be unique, 1-40 of [a-zA-Z0-9_-]; a title without $ (provisioning expands it)", file, r.Title, r.UID)
	}
	uids[r.UID] = true
	if _, err := time.ParseDuration(r.For); err != nil {
		t.Errorf("%s: %s: for %q: %v", file, r.UID, r.For, err)
	}
	if !slices.Contains([]string{"NoData", "Alerting", "OK", "KeepLast"}, r.NoDataState) ||
		!slices.Contains([]string{"Error", "Alerting", "OK", "KeepLast"}, r.ExecErrState) {
		t.Errorf("%s: %s: noDataState %q, execErrState %q", file, r.UID, r.NoDataState, r.ExecErrState)
	}
	refs := map[string]alertQuery{}
	for _, q := range r.Data {
		if q.RefID == "" || q.Model["refId"] != q.RefID {
			t.Errorf("%s: %s: query refId %q, model refId %v", file, r.UID, q.RefID, q.Model["refId"])
		}
		refs[q.RefID] = q
	}
	if _, ok := refs[r.Condition]; !ok {
		t.Errorf("%s: %s: condition %q is none of its queries", file, r.UID, r.Condition)
	}
	sev := r.Labels["severity"]
	for _, q := range r.Data {
		switch q.DatasourceUID {
		case dashboards.InfluxUID:
			query, _ := q.Model["query"].(string)
			if q.Model["rawQuery"] != true || !strings.HasPrefix(query, "SELECT ") || !strings.Contains(query, "$timeFilter") ||
				!strings.Contains(query, `FROM "`+influx.MeasurementAlarms+`"`) || !strings.Contains(query, `"severity" = '`+sev+`'`) ||
				q.RelativeTimeRange.From <= q.RelativeTimeRange.To {
				t.Errorf("%s: %s: query %s: want a raw InfluxQL SELECT on %s with $timeFilter for severity %q over a time range: %q",
					file, r.UID, q.RefID, influx.MeasurementAlarms, sev, query)
			}
		case "__expr__":
			e, _ := q.Model["expression"].(string)
			if _, ok := refs[e]; !ok || (q.Model["type"] != "reduce" && q.Model["type"] != "threshold") {
				t.Errorf("%s: %s: expression %s: type %v on %q", file, r.UID, q.RefID, q.Model["type"], e)
			}
		default:
			t.Errorf("%s: %s: query %s uses datasource %q, not the provisioned InfluxDB or an expression", file, r.UID, q.RefID, q.DatasourceUID)
		}
	}
}

// TestAlertRulesWellFormed: the provisioned alert rules load as Grafana's
// provisioning would take them, one per severity the alarms have.
func TestAlertRulesWellFormed(t *testing.T) {
	var sevs []string
	for _, r := range alertRules(t) {
		sevs = append(sevs, r.Labels["severity"])
	}
	slices.Sort(sevs)
	if !slices.Equal(sevs, []string{"critical", "warning"}) {
		t.Errorf("alert rules for severities %v, want critical and warning", sevs)
	}
}

// alarmsRun is what TestQueriesReturnRows' pitwall up run adds for the
// alert rules: the example alarm rules, car02's engine overheating and a
// slow puncture on car01's rear right, both from lap 1 (no stop fixes
// them in the run's two laps).
func alarmsRun(t *testing.T) (*alarm.Rules, []simulator.Fault) {
	rules, err := alarm.Load("alarms.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return rules, []simulator.Fault{{Car: "car02", Kind: simulator.FaultOverheat, Lap: 1}, {Car: "car01", Kind: simulator.FaultPuncture, Lap: 1, Wheel: 3}}
}

// checkAlertRules evaluates every provisioned alert rule as Grafana would
// on the InfluxDB a real run wrote (alarmsRun): query A over its time
// range (the run's data reaches into the future: timeFilter), B the last
// value of each series, C above 0. What fires is exactly the alarms the
// faults raised, each under the rule of its severity.
func checkAlertRules(t *testing.T, srv *influxtest.Server, timeFilter string) {
	t.Helper()
	want := map[string][]string{
		"critical": {"car02/oil_pressure_low/oil_press", "car02/water_hot/water_temp"},
		"warning":  {"car01/tyre_pressure_low/tyre_press_rr"},
	}
	for _, r := range alertRules(t) {
		var query string
		for _, q := range r.Data {
			if q.DatasourceUID == dashboards.InfluxUID {
				query = dashboards.Expand(q.Model["query"].(string), timeFilter, "1s", nil)
			}
		}
		b, err := srv.Query(query)
		if err != nil {
			t.Fatalf("%s: %v", r.UID, err)
		}
		var resp struct {
			Results []struct {
				Error  string
				Series []struct {
					Tags   map[string]string
					Values [][]any
				}
			}
		}
		if err := json.Unmarshal(b, &resp); err != nil || len(resp.Results) != 1 || resp.Results[0].Error != "" {
			t.Fatalf("%s: %q: %v %s", r.UID, query, err, b)
		}
		var firing []string
		for _, s := range resp.Results[0].Series {
			last := s.Values[len(s.Values)-1]
			if v, ok := last[1].(float64); ok && v > 0 {
				firing = append(firing, fmt.Sprintf("%s/%s/%s", s.Tags["car"], s.Tags["rule"], s.Tags["channel"]))
			}
		}
		slices.Sort(firing)
		if sev := r.Labels["severity"]; !slices.Equal(firing, want[sev]) {
			t.Errorf("%s fires for %v, want %v (%q)", r.UID, firing, want[sev], query)
		}
	}
}
