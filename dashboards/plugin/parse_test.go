package plugin

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
	car, chans, err := parsePath(streamPath("car01", []string{"speed", "g_lat"}))
	if err != nil || car != "car01" || strings.Join(chans, ",") != "speed,g_lat" {
		t.Errorf("round trip: %s %v %v", car, chans, err)
	}
	for _, bad := range []string{"", "car", "car/car01", "car/car01/", "lap/car01/speed", "car/c a r/speed", "car/car01/sp eed"} {
		if _, _, err := parsePath(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestParseQuery(t *testing.T) {
	q, err := parseQuery(json.RawMessage(`{"car":"car01","channels":["speed"]}`))
	if err != nil || q.WindowSeconds != 30 || q.Stream {
		t.Errorf("defaults: %+v %v", q, err)
	}
	for _, bad := range []string{`{`, `{"car":"","channels":["speed"]}`, `{"car":"car01"}`, `{"car":"car01","channels":["a b"]}`,
		`{"car":"car01","channels":["speed"],"windowSeconds":-1}`, `{"car":"car01","channels":["speed"],"windowSeconds":601}`} {
		if _, err := parseQuery(json.RawMessage(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	s, err := parseSettings(nil)
	if err != nil || s.Brokers != "127.0.0.1:9092" || s.Topic != "telemetry" || s.ChannelsTopic != "telemetry.channels" {
		t.Errorf("default settings %+v %v", s, err)
	}
	if _, err := parseSettings(json.RawMessage(`[1]`)); err == nil {
		t.Error("bad settings: no error")
	}
}

// TestPluginFiles checks what Grafana loads: plugin.json names this
// backend, with streaming, and the TypeScript frontend (src/, built into
// dist/module.js by webpack; its own tests run under jest) provides the
// editors and declares the query and settings fields this backend reads.
func TestPluginFiles(t *testing.T) {
	b, err := os.ReadFile("plugin.json")
	if err != nil {
		t.Fatal(err)
	}
	var pj struct {
		Type, ID, Executable string
		Backend, Streaming   bool
	}
	if err := json.Unmarshal(b, &pj); err != nil {
		t.Fatal(err)
	}
	if pj.Type != "datasource" || pj.ID != PluginID || !pj.Backend || !pj.Streaming || pj.Executable != "gpx_pitwall_live" {
		t.Errorf("plugin.json %+v", pj)
	}
	src := map[string]string{}
	for _, f := range []string{"module.ts", "datasource.ts", "types.ts"} {
		b, err := os.ReadFile(filepath.Join("src", f))
		if err != nil {
			t.Fatal(err)
		}
		src[f] = string(b)
	}
	for f, wants := range map[string][]string{
		"module.ts":     {"new DataSourcePlugin", "setQueryEditor(QueryEditor)", "setConfigEditor(ConfigEditor)"},
		"datasource.ts": {"extends DataSourceWithBackend", "applyTemplateVariables", "filterQuery"},
	} {
		for _, want := range wants {
			if !strings.Contains(src[f], want) {
				t.Errorf("src/%s lacks %s", f, want)
			}
		}
	}
	for iface, v := range map[string]any{"PitwallQuery": Query{}, "PitwallOptions": Settings{}} {
		i := strings.Index(src["types.ts"], "interface "+iface+" ")
		if i < 0 {
			t.Fatalf("src/types.ts lacks interface %s", iface)
		}
		body, _, _ := strings.Cut(src["types.ts"][i:], "}")
		rt := reflect.TypeOf(v)
		for j := range rt.NumField() {
			tag, _, _ := strings.Cut(rt.Field(j).Tag.Get("json"), ",")
			if !strings.Contains(body, "  "+tag+"?:") {
				t.Errorf("src/types.ts: %s lacks %s, which the backend reads", iface, tag)
			}
		}
	}
}

func FuzzParseQuery(f *testing.F) {
	f.Add(`{"car":"car01","channels":["speed","rpm"],"windowSeconds":30,"stream":true}`)
	f.Add(`{"car":"x","channels":[]}`)
	f.Add(`{"car":1}`)
	f.Fuzz(func(t *testing.T, s string) {
		if q, err := parseQuery(json.RawMessage(s)); err == nil && (len(q.Channels) == 0 || q.WindowSeconds <= 0) {
			t.Errorf("accepted %q as %+v", s, q)
		}
	})
}

func FuzzParsePath(f *testing.F) {
	f.Add("car/car01/speed/rpm")
	f.Add("car//")
	f.Add("car/car01/" + strings.Repeat("a/", 70))
	f.Fuzz(func(t *testing.T, s string) {
		car, chans, err := parsePath(s)
		if err == nil && streamPath(car, chans) != s {
			t.Errorf("%q parsed as %s %v, which is not the same path", s, car, chans)
		}
	})
}
