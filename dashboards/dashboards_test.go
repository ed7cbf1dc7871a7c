package dashboards_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/pitwall/pitwall/dashboards"
	"github.com/pitwall/pitwall/processors/influx/influxtest"
	"github.com/pitwall/pitwall/up"
)

// unsubstituted finds a template variable left in a query ($ in a regex
// such as /^car01$/ is not one).
var unsubstituted = regexp.MustCompile(`\$[A-Za-z_{]`)

var wantTitles = []string{"Lap times", "Live car", "Pipeline", "Track map"}

// TestDashboardsWellFormed holds every dashboard and panel to what Grafana
// needs and to the provisioned datasources.
func TestDashboardsWellFormed(t *testing.T) {
	ds, err := dashboards.Load()
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	uids := map[string]bool{}
	live := 0
	for _, d := range ds {
		titles = append(titles, d.Title)
		if d.UID == "" || uids[d.UID] {
			t.Errorf("%s: uid %q empty or repeated", d.File, d.UID)
		}
		uids[d.UID] = true
		ids := map[int]bool{}
		for _, p := range d.Panels {
			if p.ID == 0 || ids[p.ID] || p.Title == "" || p.Type == "" || len(p.Targets) == 0 {
				t.Errorf("%s: panel %d %q: needs a unique id, a title, a type and targets", d.File, p.ID, p.Title)
			}
			ids[p.ID] = true
			for _, tg := range p.Targets {
				switch tg.Datasource.UID {
				case dashboards.InfluxUID:
					if !tg.RawQuery || !strings.HasPrefix(tg.Query, "SELECT ") || !strings.Contains(tg.Query, "$timeFilter") {
						t.Errorf("%s: panel %q: InfluxQL target %s must be a raw SELECT with $timeFilter: %q", d.File, p.Title, tg.RefID, tg.Query)
					}
				case dashboards.LiveUID:
					live++
					if tg.Datasource.Type != dashboards.LiveType || tg.Car != "$car" || len(tg.Channels) == 0 {
						t.Errorf("%s: panel %q: live target needs type %s, car $car and channels: %+v", d.File, p.Title, dashboards.LiveType, tg)
					}
				default:
					t.Errorf("%s: panel %q: target %s uses datasource %q, not a provisioned one", d.File, p.Title, tg.RefID, tg.Datasource.UID)
				}
			}
		}
	}
	slices.Sort(titles)
	if !slices.Equal(titles, wantTitles) {
		t.Errorf("dashboards %q, want %q", titles, wantTitles)
	}
	if live == 0 {
		t.Error("no panel streams from the Pitwall Live plugin")
	}
}

// TestProvisioning checks the datasource and dashboard provisioning files.
func TestProvisioning(t *testing.T) {
	var dsFile struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name, UID, Type, URL, Database string
			JSONData                       map[string]any `yaml:"jsonData"`
		}
	}
	readYAML(t, "provisioning/datasources/pitwall.yaml", &dsFile)
	got := map[string]string{}
	for _, d := range dsFile.Datasources {
		got[d.UID] = d.Type
		if d.Type == "influxdb" && (d.JSONData["version"] != "InfluxQL" || d.JSONData["dbName"] != "pitwall" || d.URL == "") {
			t.Errorf("influxdb datasource %+v: want InfluxQL on database pitwall", d)
		}
		if d.Type == dashboards.LiveType && d.JSONData["brokers"] == nil {
			t.Errorf("live datasource %+v: no brokers", d)
		}
	}
	if dsFile.APIVersion != 1 || got[dashboards.InfluxUID] != "influxdb" || got[dashboards.LiveUID] != dashboards.LiveType {
		t.Errorf("provisioned datasources %v, want %s (influxdb) and %s (%s)", got, dashboards.InfluxUID, dashboards.LiveUID, dashboards.LiveType)
	}
	var prov struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Type    string
			Options struct{ Path string }
		}
	}
	readYAML(t, "provisioning/dashboards/pitwall.yaml", &prov)
	if prov.APIVersion != 1 || len(prov.Providers) != 1 || prov.Providers[0].Type != "file" || prov.Providers[0].Options.Path == "" {
		t.Errorf("dashboard provider %+v", prov)
	}
}

func readYAML(t *testing.T, name string, v any) {
	t.Helper()
	b, err := dashboards.FS.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// TestQueriesReturnRows fills a real InfluxDB 1.8 through the whole
// pipeline (pitwall up --influx-url, whose lap processor writes the
// pipeline measurement from the edge's metrics) and runs every panel's
// InfluxQL query and every template variable's query, substituted as
// Grafana would, and expects each to return at least one row with a value.
func TestQueriesReturnRows(t *testing.T) {
	srv := influxtest.Start(t)
	err := up.Run(context.Background(), up.Config{Cars: 2, Track: "brands-indy", Speed: -1, Laps: 1,
		InfluxURL: srv.URL, InfluxBucket: srv.Database, Stdout: io.Discard, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := dashboards.Load()
	if err != nil {
		t.Fatal(err)
	}
	// pitwall up stamps frames with the wall clock at its start and runs
	// faster than real time, so the data reaches into the future.
	const timeFilter = "time > now() - 1h AND time < now() + 2h"
	vars := map[string]string{"car": "car01"}
	n := 0
	for _, d := range ds {
		for _, v := range d.Templating.List {
			if v.Type == "query" {
				if rowsIn(t, srv, v.Query) == 0 {
					t.Errorf("%s: variable %s: no rows for %q", d.Title, v.Name, v.Query)
				}
			}
		}
		for _, p := range d.Panels {
			for _, tg := range p.Targets {
				if tg.Datasource.UID != dashboards.InfluxUID {
					continue
				}
				n++
				q := dashboards.Expand(tg.Query, timeFilter, "1s", vars)
				if unsubstituted.MatchString(q) {
					t.Errorf("%s / %s: unsubstituted variable in %q", d.Title, p.Title, q)
				}
				if rowsIn(t, srv, q) == 0 {
					t.Errorf("%s / %s: no rows with a value for %q", d.Title, p.Title, q)
				}
			}
		}
	}
	if n < 15 {
		t.Errorf("only %d InfluxQL queries checked", n)
	}
}

// rowsIn runs q and counts the rows holding at least one non-null value
// besides time.
func rowsIn(t *testing.T, srv *influxtest.Server, q string) int {
	t.Helper()
	b, err := srv.Query(q)
	if err != nil {
		t.Errorf("%v", err)
		return 0
	}
	var resp struct {
		Results []struct {
			Series []struct {
				Columns []string
				Values  [][]any
			}
		}
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		t.Fatalf("%q: %v", q, err)
	}
	n := 0
	for _, r := range resp.Results {
		for _, s := range r.Series {
			for _, row := range s.Values {
				for i, v := range row {
					if v != nil && (i >= len(s.Columns) || s.Columns[i] != "time") {
						n++
						break
					}
				}
			}
		}
	}
	return n
}
