package dashboards_test

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/pitwall/pitwall/dashboards"
	"github.com/pitwall/pitwall/dashboards/plugin"
	"github.com/pitwall/pitwall/processors/influx/influxtest"
	"github.com/pitwall/pitwall/track"
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
	live, liveKind := 0, 0
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
					switch {
					case tg.Kind == "live":
						liveKind++
						if tg.Datasource.Type != dashboards.LiveType || (tg.Car != "" && tg.Car != "$car") || len(tg.Channels) > 0 || !tg.Stream {
							t.Errorf("%s: panel %q: live-kind target needs type %s, car $car or none (every car), no channels, stream: %+v", d.File, p.Title, dashboards.LiveType, tg)
						}
						for _, f := range tg.Fields {
							if !slices.Contains(plugin.LiveFields, f) {
								t.Errorf("%s: panel %q: live field %q is none of the plugin's %v", d.File, p.Title, f, plugin.LiveFields)
							}
						}
					case tg.Datasource.Type != dashboards.LiveType || tg.Car != "$car" || len(tg.Channels) == 0:
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
	if liveKind == 0 {
		t.Error("no panel streams telemetry.live (the live delta) from the Pitwall Live plugin")
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
	rules, faults := alarmsRun(t) // for checkAlertRules (alerting_test.go)
	// Two laps a car: up stops once every car's laps are on telemetry.laps,
	// and a car's live delta (to its best lap) exists only in its second.
	err := up.Run(context.Background(), up.Config{Cars: 2, Track: "brands-indy", Speed: -1, Laps: 2, Alarms: rules, Faults: faults,
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
	checkAlertRules(t, srv, timeFilter)
	// "Speed along the lap" plots against lap_distance, which restarts at
	// every start/finish crossing: over the lap run it reaches about the
	// circuit's length and no further.
	tr, err := track.Lookup("brands-indy")
	if err != nil {
		t.Fatal(err)
	}
	b, err := srv.Query(`SELECT min("lap_distance"), max("lap_distance") FROM "telemetry" WHERE "car" = 'car01'`)
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Results []struct{ Series []struct{ Values [][]any } }
	}
	if err := json.Unmarshal(b, &resp); err != nil || len(resp.Results) != 1 || len(resp.Results[0].Series) != 1 {
		t.Fatalf("lap_distance: %s %v", b, err)
	}
	row := resp.Results[0].Series[0].Values[0]
	lo, _ := row[1].(float64)
	hi, _ := row[2].(float64)
	if lo < 0 || lo > 0.05*tr.Length || hi < 0.9*tr.Length || hi > 1.1*tr.Length {
		t.Errorf("lap_distance from %v to %v m on a %.0f m lap", row[1], row[2], tr.Length)
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

// rawPanel is a panel with the options the property tests below read.
type rawPanel struct {
	Title   string `json:"title"`
	Type    string `json:"type"`
	Targets []struct {
		Query        string `json:"query"`
		ResultFormat string `json:"resultFormat"`
	} `json:"targets"`
	Options struct {
		View struct {
			ID        string `json:"id"`
			AllLayers *bool  `json:"allLayers"`
			Layer     string `json:"layer"`
		} `json:"view"`
		Basemap geoLayer   `json:"basemap"`
		Layers  []geoLayer `json:"layers"`
		Dims    struct {
			X string `json:"x"`
		} `json:"dims"`
	} `json:"options"`
}

type geoLayer struct {
	Type     string `json:"type"`
	Name     string `json:"name"`
	Location struct {
		Mode      string `json:"mode"`
		Latitude  string `json:"latitude"`
		Longitude string `json:"longitude"`
	} `json:"location"`
	Config json.RawMessage `json:"config"`
}

func rawPanels(t *testing.T) map[string][]rawPanel {
	t.Helper()
	files, err := fs.Glob(dashboards.FS, "json/*.json")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]rawPanel{}
	for _, f := range files {
		b, err := dashboards.FS.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Title  string     `json:"title"`
			Panels []rawPanel `json:"panels"`
		}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[d.Title] = d.Panels
	}
	return out
}

// selects reports whether an InfluxQL query returns column as, e.g.
// `AS "latitude"`.
func selects(q, as string) bool { return strings.Contains(q, `AS "`+as+`"`) }

// TestGeomapsOffline holds every Geomap to what works at a circuit without
// internet: no online tile layer (Grafana's default basemap is CARTO's
// tiles), only layers drawn from the query or from files Grafana itself
// serves (public/), and a layer that draws the track from the GPS points,
// which the view fits (fitting every layer would fit the background).
func TestGeomapsOffline(t *testing.T) {
	offline := map[string]bool{"markers": true, "heatmap": true, "route": true, "geojson": true, "lastPointTracker": true}
	n := 0
	for title, panels := range rawPanels(t) {
		for _, p := range panels {
			if p.Type != "geomap" {
				continue
			}
			n++
			o := p.Options
			track := false
			for _, l := range append([]geoLayer{o.Basemap}, o.Layers...) {
				var cfg struct {
					Src string `json:"src"`
					URL string `json:"url"`
				}
				if len(l.Config) > 0 {
					if err := json.Unmarshal(l.Config, &cfg); err != nil {
						t.Fatalf("%s / %s: layer %q: %v", title, p.Title, l.Name, err)
					}
				}
				if !offline[l.Type] || cfg.URL != "" || (l.Type == "geojson" && !strings.HasPrefix(cfg.Src, "public/")) {
					t.Errorf("%s / %s: layer %q (type %q, %+v) needs the internet", title, p.Title, l.Name, l.Type, cfg)
				}
				loc := l.Location
				if l.Name == o.View.Layer && loc.Mode == "coords" && len(p.Targets) == 1 &&
					selects(p.Targets[0].Query, loc.Latitude) && selects(p.Targets[0].Query, loc.Longitude) &&
					strings.Contains(p.Targets[0].Query, `"gps_lat"`) && strings.Contains(p.Targets[0].Query, `"gps_lon"`) {
					track = true
				}
			}
			if o.View.ID != "fit" || o.View.AllLayers == nil || *o.View.AllLayers || !track {
				t.Errorf("%s / %s: view %+v: want it fitted to the layer drawing gps_lat/gps_lon", title, p.Title, o.View)
			}
		}
	}
	if n == 0 {
		t.Error("no Geomap panel")
	}
}

// TestSpeedAlongTheLap holds "Speed along the lap" to speed plotted against
// the distance along the lap (lap_distance, written by the lap processor),
// not against time; TestQueriesReturnRows runs its query.
func TestSpeedAlongTheLap(t *testing.T) {
	for _, p := range rawPanels(t)["Track map"] {
		if p.Title != "Speed along the lap" {
			continue
		}
		if p.Type != "xychart" || len(p.Targets) != 1 {
			t.Fatalf("type %q with %d targets: want an XY chart of one query", p.Type, len(p.Targets))
		}
		q := p.Targets[0]
		x := p.Options.Dims.X
		if q.ResultFormat != "table" || x == "" || !selects(q.Query, x) || !strings.Contains(q.Query, `("lap_distance") AS "`+x+`"`) ||
			!strings.Contains(q.Query, `("speed") AS "speed"`) {
			t.Errorf("x %q, query %q (%s): want x the lap_distance column beside speed, as a table", x, q.Query, q.ResultFormat)
		}
		return
	}
	t.Error(`no "Speed along the lap" panel on Track map`)
}
