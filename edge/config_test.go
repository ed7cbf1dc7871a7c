package edge

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseInput(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Input
	}{
		{"serial:/dev/ttyUSB0?baud=115200&car=44", Input{Kind: "serial", Path: "/dev/ttyUSB0", Name: "serial:/dev/ttyUSB0"}},
		{"slcan:/dev/ttyACM0?bitrate=500000&dbc=car.dbc&car=44", Input{Kind: "slcan", Path: "/dev/ttyACM0", Name: "slcan:/dev/ttyACM0"}},
		{"mqtt://127.0.0.1:1883/cars/+/telemetry", Input{Kind: "mqtt", Addr: "127.0.0.1:1883", Filter: "cars/+/telemetry", Name: "mqtt://127.0.0.1:1883/cars/+/telemetry"}},
		{"mqtt://127.0.0.1:1883/pw/+/#?qos=0", Input{Kind: "mqtt", Addr: "127.0.0.1:1883", Filter: "pw/+/#", Name: "mqtt://127.0.0.1:1883/pw/+/#"}},
		{"socketcan:can0?dbc=x.dbc&car=1", Input{Kind: "socketcan", Path: "can0", Name: "socketcan:can0"}},
	} {
		got, err := ParseInput(tc.in)
		if err != nil || got.Kind != tc.want.Kind || got.Path != tc.want.Path || got.Addr != tc.want.Addr || got.Filter != tc.want.Filter || got.Name != tc.want.Name {
			t.Errorf("ParseInput(%q) = %+v, %v", tc.in, got, err)
		}
	}
	if in, _ := ParseInput("slcan:/dev/x?bitrate=250000&dbc=a.dbc&car=44"); in.Params.Get("bitrate") != "250000" || in.Params.Get("car") != "44" {
		t.Errorf("params: %v", in.Params)
	}
	for _, bad := range []string{"", "/dev/ttyUSB0", "serial:", "tcp://x:1", "mqtt://127.0.0.1:1883", "mqtt://host/filter", "serial:/x?a=%zz"} {
		if _, err := ParseInput(bad); !errors.Is(err, ErrConfig) {
			t.Errorf("ParseInput(%q): %v, want ErrConfig", bad, err)
		}
	}
}

// New refuses configurations that cannot work, before opening anything.
func TestNewRefusesBadConfig(t *testing.T) {
	dir := t.TempDir()
	dbc := filepath.Join(dir, "bad.dbc")
	os.WriteFile(dbc, []byte("BO_ x"), 0o644)
	base := func(in ...string) Config {
		return Config{Brokers: []string{"127.0.0.1:1"}, Inputs: in, Spool: SpoolConfig{Dir: filepath.Join(dir, "spool")}, Metrics: "off", Logger: quietLogger()}
	}
	for name, cfg := range map[string]Config{
		"no brokers":       {Inputs: []string{"serial:/dev/x"}},
		"no inputs":        {Brokers: []string{"127.0.0.1:1"}},
		"bad input":        base("tcp://x"),
		"twice":            base("serial:/dev/x", "serial:/dev/x?car=1"),
		"bad baud":         base("serial:/dev/x?baud=fast"),
		"slcan no dbc":     base("slcan:/dev/x?car=44"),
		"slcan bad dbc":    base("slcan:/dev/x?car=44&dbc=" + dbc),
		"slcan no car":     base("slcan:/dev/x?dbc=" + writeDBC(t)),
		"slcan bitrate":    base("slcan:/dev/x?car=1&bitrate=33&dbc=" + writeDBC(t)),
		"mqtt no +":        base("mqtt://127.0.0.1:1/cars/44"),
		"mqtt qos":         base("mqtt://127.0.0.1:1/cars/+/t?qos=3"),
		"socketcan no dbc": base("socketcan:can0?car=1"),
		"compression":      func() Config { c := base("serial:/dev/x"); c.Producer.Compression = "brotli"; return c }(),
		"spool policy":     func() Config { c := base("serial:/dev/x"); c.Spool.Policy = "hope"; return c }(),
		"negative linger":  func() Config { c := base("serial:/dev/x"); c.Producer.Linger = -time.Second; return c }(),
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestLimiter(t *testing.T) {
	now := time.Unix(0, 0)
	l := newLimiter(time.Minute)
	l.nowFor = func() time.Time { return now }
	if ok, _ := l.allow("a"); !ok {
		t.Fatal("first")
	}
	for range 5 {
		if ok, _ := l.allow("a"); ok {
			t.Fatal("within the minute")
		}
	}
	if ok, _ := l.allow("b"); !ok {
		t.Fatal("another kind")
	}
	now = now.Add(time.Minute)
	if ok, held := l.allow("a"); !ok || held != 5 {
		t.Fatalf("after a minute: %v, %d held", ok, held)
	}
}

func TestLatencyQuantile(t *testing.T) {
	var l latencies
	for i := 1; i <= 1000; i++ {
		l.observe(time.Duration(i) * time.Millisecond)
	}
	p99, n := l.quantileAndReset(0.99)
	if n != 1000 || p99 < 990*time.Millisecond || p99 > 1100*time.Millisecond {
		t.Fatalf("p99 of 1..1000 ms: %v (%d)", p99, n)
	}
	if p, n := l.quantileAndReset(0.99); p != 0 || n != 0 {
		t.Fatal("not reset")
	}
}

// An empty or wrong config file says what is wrong, not "EOF".
func TestLoadConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"empty.yaml":   "",
		"comment.yaml": "# nothing yet\n",
		"typo.yaml":    "brokerz: [127.0.0.1:9092]\n",
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadConfig(path)
		if !errors.Is(err, ErrConfig) || strings.Contains(err.Error(), ": EOF") {
			t.Errorf("%s: %v", name, err)
		}
		if name != "typo.yaml" && !strings.Contains(err.Error(), "is empty") {
			t.Errorf("%s: %v, want 'is empty'", name, err)
		}
	}
}

// edge.yaml takes the security settings under security: (the password
// only as a file: a password key is refused), and the MQTT user and
// password file; withDefaults reads both passwords and checks the rest.
func TestLoadConfigSecurity(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "kafka.pw")
	os.WriteFile(pw, []byte("k-secret\n"), 0o600)
	mq := filepath.Join(dir, "mqtt.pw")
	os.WriteFile(mq, []byte("m-secret\n"), 0o600)
	path := filepath.Join(dir, "edge.yaml")
	os.WriteFile(path, []byte("brokers: [127.0.0.1:9093]\ninputs: [\"mqtts://127.0.0.1:8883/p/+/#\"]\nmqtt_user: edge\nmqtt_password_file: "+mq+
		"\nsecurity:\n  tls: true\n  sasl_mechanism: SCRAM-SHA-512\n  sasl_user: edge\n  sasl_password_file: "+pw+"\n"), 0o600)
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err = c.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Security; s.Protocol() != "SASL_SSL" || s.User != "edge" || string(s.Password) != "k-secret" || c.MQTTUser != "edge" || c.mqttPassword != "m-secret" {
		t.Fatalf("security %+v, mqtt user %q", s, c.MQTTUser)
	}
	os.WriteFile(path, []byte("brokers: [h:1]\ninputs: [serial:/dev/null]\nsecurity:\n  sasl_password: inline\n"), 0o600)
	if _, err := LoadConfig(path); err == nil {
		t.Error("a password in edge.yaml accepted")
	}
}
