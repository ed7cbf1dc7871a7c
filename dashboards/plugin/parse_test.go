package plugin

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pitwall/pitwall/internal/kafkasec"
	"github.com/pitwall/pitwall/internal/testca"
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
	s, err := parseSettings(nil, nil)
	if err != nil || s.Brokers != "127.0.0.1:9092" || s.Topic != "telemetry" || s.ChannelsTopic != "telemetry.channels" {
		t.Errorf("default settings %+v %v", s, err)
	}
	if _, err := parseSettings(json.RawMessage(`[1]`), nil); err == nil {
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
			if tag == "-" {
				continue // Security: its fields are checked below
			}
			if !strings.Contains(body, "  "+tag+"?:") {
				t.Errorf("src/types.ts: %s lacks %s, which the backend reads", iface, tag)
			}
		}
	}
	for _, key := range []string{"tls", "tlsCa", "tlsCert", "tlsKey", "saslMechanism", "saslUser"} {
		if !strings.Contains(src["types.ts"], "  "+key+"?:") {
			t.Errorf("src/types.ts: PitwallOptions lacks %s, which the backend reads", key)
		}
	}
	if !strings.Contains(src["types.ts"], "  "+SecureSASLPassword+"?:") {
		t.Errorf("src/types.ts: PitwallSecureOptions lacks %s", SecureSASLPassword)
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

// TLS and SASL settings: jsonData names the mechanism, user and CA (as
// PEM here), secureJsonData holds the password; a mechanism without a
// password is a settings error that names the secure field.
func TestSecuritySettings(t *testing.T) {
	ca := testca.New(t)
	raw, _ := json.Marshal(map[string]any{"brokers": "127.0.0.1:9093", "tls": true, "tlsCaCert": ca.CertPEM,
		"saslMechanism": "SCRAM-SHA-512", "saslUser": "grafana"})
	s, err := parseSettings(raw, map[string]string{SecureSASLPassword: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	if sec := s.Security; sec.Protocol() != "SASL_SSL" || sec.Mechanism != kafkasec.ScramSHA512 || sec.User != "grafana" || string(sec.Password) != "pw" || sec.CAPEM != ca.CertPEM {
		t.Fatalf("security %+v", sec)
	}
	if _, err := parseSettings(raw, nil); err == nil || !strings.Contains(err.Error(), "secure setting saslPassword") {
		t.Fatalf("no password: %v", err)
	}
	bad, _ := json.Marshal(map[string]any{"tls": true, "tlsCaCert": "junk"})
	if _, err := parseSettings(bad, nil); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Fatalf("junk CA: %v", err)
	}
}
