package dashboards_test

import (
	"context"
	"encoding/json"
	"os"
	"path"
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
// pipeline wired to the right addresses, and Grafana built from the
// Dockerfile's grafana stage (the plugin inside it), with provisioning
// and dashboards mounted from files that exist and nothing mounted from a
// build output such as dist/, which a fresh clone does not have.
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
	if g.Build == nil || g.Build.Target != "grafana" || g.Image == "" || strings.HasPrefix(g.Image, "grafana/") {
		t.Errorf("grafana: build %+v image %q: want the Dockerfile's grafana stage, which builds the plugin", g.Build, g.Image)
	}
	stages := dockerStages(t, filepath.Join(root, "Dockerfile"))
	for n, s := range p.Services {
		if s.Build != nil && stages[s.Build.Target] == nil {
			t.Errorf("%s: build target %q is not a stage of the Dockerfile", n, s.Build.Target)
		}
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			if rel, err := filepath.Rel(root, v.Source); err != nil || rel == "dist" || strings.HasPrefix(rel, "dist"+string(filepath.Separator)) {
				t.Errorf("%s: %s mounted from the build output %s", n, v.Target, v.Source)
			} else if strings.Contains(v.Target, "/plugins") {
				t.Errorf("%s: %s mounted over the plugins the image built", n, v.Target)
			} else if _, err := os.Stat(v.Source); err != nil {
				t.Errorf("%s: %s mounted from %v", n, v.Target, err)
			}
		}
	}
	mounts := map[string]string{}
	for _, v := range g.Volumes {
		if v.Type == types.VolumeTypeBind {
			mounts[v.Target] = v.Source
		}
	}
	for target, src := range map[string]string{
		"/etc/grafana/provisioning":           filepath.Join(root, "dashboards/provisioning"),
		"/var/lib/grafana/dashboards/pitwall": filepath.Join(root, "dashboards/json"),
	} {
		if mounts[target] != src {
			t.Errorf("grafana: %s mounted from %q, want %q", target, mounts[target], src)
		}
	}
	// What Grafana reads must exist.
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

// TestDockerfileGrafana reads the grafana stage as docker would build it
// (docker cannot run here): the Pitwall Live plugin's Go backend and
// TypeScript frontend are built in stages of their own and copied, with
// plugin.json, into the plugins directory Grafana is pointed at, outside
// its data volume; every file taken from the build context exists and is
// not dropped by .dockerignore.
func TestDockerfileGrafana(t *testing.T) {
	stages := dockerStages(t, "../Dockerfile")
	g := stages["grafana"]
	if g == nil || !strings.HasPrefix(g.from, "grafana/grafana-oss:") {
		t.Fatalf("no grafana stage from grafana/grafana-oss: %+v", g)
	}
	var plugins string
	for _, in := range g.instr {
		if in[0] == "ENV" {
			for _, kv := range in[1:] {
				if v, ok := strings.CutPrefix(kv, "GF_PATHS_PLUGINS="); ok {
					plugins = v
				}
			}
		}
	}
	if plugins == "" || strings.HasPrefix(plugins, "/var/lib/grafana/") {
		t.Errorf("GF_PATHS_PLUGINS %q: want a directory outside the /var/lib/grafana volume", plugins)
	}
	dest := path.Join(plugins, dashboards.LiveType)
	var pj struct{ Executable string }
	if b, err := os.ReadFile("plugin/plugin.json"); err != nil || json.Unmarshal(b, &pj) != nil || pj.Executable == "" {
		t.Fatalf("plugin.json: %v", err)
	}
	var backend, frontend bool
	copied := map[string]bool{}
	for _, c := range copies(g) {
		if c.dst != dest && !strings.HasPrefix(c.dst, dest+"/") {
			t.Errorf("grafana: COPY to %s, outside %s", c.dst, dest)
		}
		if c.from == "" {
			for _, src := range c.srcs {
				copied[src] = true
			}
			continue
		}
		st := stages[c.from]
		if st == nil {
			t.Errorf("grafana: COPY --from=%s: no such stage", c.from)
			continue
		}
		run := st.runs()
		switch {
		case strings.Contains(run, "go build") && strings.Contains(run, "./dashboards/plugin/cmd/pitwall-live") &&
			strings.Contains(run, "/"+pj.Executable+"_linux_$(go env GOARCH)"):
			backend = true
		case strings.HasPrefix(st.from, "node:") && strings.Contains(run, "npm ci") && strings.Contains(run, "npm run build") &&
			len(c.srcs) == 1 && strings.HasSuffix(path.Clean(c.srcs[0]), "/dashboards/plugin/dist"):
			frontend = true
		}
	}
	if !backend || !frontend {
		t.Errorf("grafana: plugin backend built and copied %v, frontend (npm ci, npm run build, dist/) %v", backend, frontend)
	}
	for _, f := range []string{"dashboards/plugin/plugin.json", "dashboards/plugin/src/img/logo.svg"} {
		if !copied[f] {
			t.Errorf("grafana: %s not copied into the plugin", f)
		}
	}

	ignored := dockerIgnored(t)
	if !ignored("dashboards/plugin/node_modules") {
		t.Error(".dockerignore keeps dashboards/plugin/node_modules in the build context")
	}
	for name, st := range stages {
		for _, c := range copies(st) {
			if c.from != "" {
				continue
			}
			for _, src := range c.srcs {
				if _, err := os.Stat(filepath.Join("..", src)); err != nil {
					t.Errorf("stage %s: COPY %s: %v", name, src, err)
				} else if src != "." && ignored(src) {
					t.Errorf("stage %s: COPY %s, which .dockerignore drops", name, src)
				}
			}
		}
	}
}

// dockerStage is one FROM of a Dockerfile: its base image and its
// instructions, each split into words with the keyword upper-cased.
type dockerStage struct {
	from  string
	instr [][]string
}

// runs joins the stage's RUN commands.
func (s *dockerStage) runs() string {
	var b strings.Builder
	for _, in := range s.instr {
		if in[0] == "RUN" {
			b.WriteString(strings.Join(in[1:], " ") + "\n")
		}
	}
	return b.String()
}

type dockerCopy struct {
	from string   // --from stage; "" for the build context
	srcs []string // relative to the context or the stage's root
	dst  string
}

func copies(s *dockerStage) []dockerCopy {
	var out []dockerCopy
	for _, in := range s.instr {
		if in[0] != "COPY" {
			continue
		}
		var c dockerCopy
		args := in[1:]
		for len(args) > 0 && strings.HasPrefix(args[0], "--") {
			if v, ok := strings.CutPrefix(args[0], "--from="); ok {
				c.from = v
			}
			args = args[1:]
		}
		if len(args) < 2 {
			continue
		}
		c.srcs, c.dst = args[:len(args)-1], path.Clean(args[len(args)-1])
		for i, s := range c.srcs {
			c.srcs[i] = strings.TrimPrefix(path.Clean(s), "./")
		}
		out = append(out, c)
	}
	return out
}

// dockerStages reads a Dockerfile's named stages; enough of the syntax for
// Pitwall's (line continuations, comments, FROM image AS name).
func dockerStages(t *testing.T, name string) map[string]*dockerStage {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	stages := map[string]*dockerStage{}
	var cur *dockerStage
	for _, line := range strings.Split(strings.ReplaceAll(string(b), "\\\n", " "), "\n") {
		w := strings.Fields(line)
		if len(w) == 0 || strings.HasPrefix(w[0], "#") {
			continue
		}
		w[0] = strings.ToUpper(w[0])
		if w[0] == "FROM" && len(w) >= 2 {
			cur = &dockerStage{from: w[1]}
			if len(w) == 4 && strings.EqualFold(w[2], "AS") {
				stages[w[3]] = cur
			}
			continue
		}
		if cur != nil {
			cur.instr = append(cur.instr, w)
		}
	}
	return stages
}

// dockerIgnored reports whether .dockerignore drops a path from the build
// context; it knows plain path patterns, which is all Pitwall's uses.
func dockerIgnored(t *testing.T) func(string) bool {
	t.Helper()
	b, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	var pats []string
	for _, line := range strings.Split(string(b), "\n") {
		if p := strings.TrimSpace(line); p != "" && !strings.HasPrefix(p, "#") {
			pats = append(pats, strings.Trim(path.Clean(p), "/"))
		}
	}
	return func(p string) bool {
		for _, pat := range pats {
			if p == pat || strings.HasPrefix(p, pat+"/") {
				return true
			}
		}
		return false
	}
}
