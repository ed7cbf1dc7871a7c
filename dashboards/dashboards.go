package dashboards

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// FS holds the provisioning files and the dashboards, as laid out on disk.
//
//go:embed json/*.json provisioning/datasources/*.yaml provisioning/dashboards/*.yaml provisioning/alerting/*.yaml
var FS embed.FS

// Datasource uids the dashboards refer to.
const (
	// InfluxUID is the provisioned InfluxDB (InfluxQL) datasource.
	InfluxUID = "pitwall-influxdb"
	// LiveUID is the provisioned Pitwall Live plugin datasource.
	LiveUID = "pitwall-live"
	// LiveType is the plugin's id (dashboards/plugin/plugin.json).
	LiveType = "pitwall-live-datasource"
)

// ErrDashboard reports a dashboard file that is not what Grafana needs.
var ErrDashboard = errors.New("dashboards: bad dashboard")

// Dashboard is the part of a Grafana dashboard's JSON the tests check.
type Dashboard struct {
	File       string     `json:"-"`
	UID        string     `json:"uid"`
	Title      string     `json:"title"`
	Panels     []Panel    `json:"panels"`
	Templating Templating `json:"templating"`
}

// Templating is the dashboard's template variables.
type Templating struct {
	List []Variable `json:"list"`
}

// Variable is one template variable.
type Variable struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	Query      string `json:"query"`
	Datasource Ref    `json:"datasource"`
}

// Ref names a datasource.
type Ref struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// Panel is one panel.
type Panel struct {
	ID         int      `json:"id"`
	Title      string   `json:"title"`
	Type       string   `json:"type"`
	Datasource Ref      `json:"datasource"`
	Targets    []Target `json:"targets"`
}

// Target is one query of a panel: InfluxQL (Query) for InfluxDB; for
// the Pitwall Live plugin its kind, the car, and channels (kind frames)
// or fields (kind live).
type Target struct {
	RefID      string   `json:"refId"`
	Datasource Ref      `json:"datasource"`
	RawQuery   bool     `json:"rawQuery"`
	Query      string   `json:"query"`
	Kind       string   `json:"kind"`
	Car        string   `json:"car"`
	Channels   []string `json:"channels"`
	Fields     []string `json:"fields"`
	Stream     bool     `json:"stream"`
}

// Load reads every dashboard in json/.
func Load() ([]Dashboard, error) {
	files, err := fs.Glob(FS, "json/*.json")
	if err != nil {
		return nil, err
	}
	var out []Dashboard
	for _, f := range files {
		b, err := FS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var d Dashboard
		if err := json.Unmarshal(b, &d); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrDashboard, f, err)
		}
		d.File = path.Base(f)
		out = append(out, d)
	}
	return out, nil
}

// Expand substitutes Grafana's template variables in an InfluxQL query as
// Grafana does: $timeFilter becomes timeFilter, $__interval becomes
// interval, and $name (or ${name}) each variable's value.
func Expand(query, timeFilter, interval string, vars map[string]string) string {
	r := []string{"$timeFilter", timeFilter, "$__interval", interval}
	for k, v := range vars {
		r = append(r, "${"+k+"}", v, "$"+k, v)
	}
	return strings.NewReplacer(r...).Replace(query)
}
