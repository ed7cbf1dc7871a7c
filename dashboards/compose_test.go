package dashboards_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/pitwall/pitwall/dashboards"
)

// TestComposeFile loads docker-compose.yml with compose-go (the loader
// docker compose itself uses; docker cannot run here) and checks the
// stack: every service, the pitwall image built from the Dockerfile, the
// pipeline wired to the right addresses, and Grafana with provisioning,
// dashboards and the unsigned plugin mounted from files that exist.
func TestComposeFile(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root), cli.WithName("pitwall"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	var names []string
	for n := range p.Services {
		names = append(names, n)
	}
	slices.Sort(names)
	want := []string{"broker", "edge", "grafana", "influxdb", "mosquitto", "process", "sim"}
	if !slices.Equal(names, want) {
		t.Fatalf("services %v, want %v", names, want)
	}
	for _, n := range []string{"broker", "sim", "edge", "process"} {
		s := p.Services[n]
		if s.Build == nil || s.Build.Target != "pitwall" || s.Image != "pitwall:latest" || len(s.Command) == 0 || s.Command[0] != n {
			t.Errorf("%s: build %+v image %q command %v: want the pitwall image running `pitwall %s`", n, s.Build, s.Image, s.Command, n)
		}
	}
	args := func(n string) string { return strings.Join(p.Services[n].Command, " ") }
	for n, wants := range map[string][]string{
		"broker":  {"--listen 0.0.0.0:9092", "--advertise broker:9092", "--data-dir /data"},
		"sim":     {"--out mqtt://mosquitto:1883/pitwall?qos=1", "--start now"},
		"edge":    {"--brokers broker:9092", "--in mqtt://mosquitto:1883/pitwall/+/#", "--spool /spool", "--metrics 0.0.0.0:9464"},
		"process": {"--brokers broker:9092", "--influx-url http://influxdb:8086", "--influx-bucket pitwall", "--edge-metrics edge:9464"},
	} {
		for _, w := range wants {
			if !strings.Contains(args(n), w) {
				t.Errorf("%s: command %q lacks %q", n, args(n), w)
			}
		}
	}
	if img := p.Services["influxdb"].Image; img != "influxdb:1.8.10" {
		t.Errorf("influxdb image %q, want influxdb:1.8.10", img)
	}
	if db := p.Services["influxdb"].Environment["INFLUXDB_DB"]; db == nil || *db != "pitwall" {
		t.Errorf("influxdb does not create database pitwall")
	}
	g := p.Services["grafana"]
	if v := g.Environment["GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS"]; v == nil || *v != dashboards.LiveType {
		t.Errorf("grafana does not allow the unsigned plugin %s", dashboards.LiveType)
	}
	mounts := map[string]string{}
	for _, v := range g.Volumes {
		if v.Type == types.VolumeTypeBind {
			mounts[v.Target] = v.Source
		}
	}
	for target, src := range map[string]string{
		"/etc/grafana/provisioning":                       filepath.Join(root, "dashboards/provisioning"),
		"/var/lib/grafana/dashboards/pitwall":             filepath.Join(root, "dashboards/json"),
		"/var/lib/grafana/plugins/" + dashboards.LiveType: filepath.Join(root, "dist", dashboards.LiveType),
	} {
		if mounts[target] != src {
			t.Errorf("grafana: %s mounted from %q, want %q", target, mounts[target], src)
		}
	}
	// What Grafana reads must exist (the plugin's dist/ is built by make plugin).
	for _, f := range []string{"dashboards/provisioning/datasources/pitwall.yaml", "dashboards/provisioning/dashboards/pitwall.yaml",
		"dashboards/json/live-car.json", "Dockerfile"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Error(err)
		}
	}
	home := g.Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
	if home == nil || !strings.HasPrefix(*home, "/var/lib/grafana/dashboards/pitwall/") {
		t.Errorf("home dashboard %v is not a provisioned one", home)
	} else if _, err := os.Stat(filepath.Join(root, "dashboards/json", filepath.Base(*home))); err != nil {
		t.Errorf("home dashboard: %v", err)
	}
}

// TestDockerfile checks the multi-stage build of a static binary.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{"FROM golang:1.26 AS build", "CGO_ENABLED=0 go build", "./cmd/pitwall", "FROM gcr.io/distroless/static", "AS pitwall", "ENTRYPOINT"} {
		if !strings.Contains(s, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}
