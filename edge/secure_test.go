package edge

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/edge/mqtt"
	"github.com/pitwall/pitwall/internal/kafkasec"
	"github.com/pitwall/pitwall/internal/mqtttest"
	"github.com/pitwall/pitwall/internal/testca"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

// planted is the MQTT password the secret tests look for everywhere the
// edge writes.
const planted = "Pl4nted-MQTT-s3cret"

// tlsPublisher connects to a TLS Mosquitto as user.
func tlsPublisher(t *testing.T, ca *testca.CA, addr, user, pw string) paho.Client {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(ca.CertPEM))
	c := paho.NewClient(paho.NewClientOptions().AddBroker("ssl://" + addr).SetClientID("secure-pub").SetOrderMatters(true).
		SetTLSConfig(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}).SetUsername(user).SetPassword(pw))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

// MQTT over TLS with a password file: an mqtts:// input with the password
// in its URL receives a car's frames, and the password appears nowhere
// the edge writes — not in its logs (debug level, status lines included),
// not in /metrics, not in the dead-letter records' keys or headers — while
// the source is still named by its URL with the user kept.
func TestMQTTSPasswordNeverLeaves(t *testing.T) {
	t.Parallel()
	ca := testca.New(t)
	mq := mqtttest.Start(t, mqtttest.Options{CA: ca, Users: map[string]string{"edge": planted, "car": "car-pw"}})
	b := brokertest.Start(t)
	in := "mqtts://edge:" + planted + "@" + mq.Addr + "/sec/+/data?ca=" + ca.CertFile
	cfg := testConfig(t, b.Addr, in)
	logs := &lockedBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.StatusEvery = 20 * time.Millisecond
	e, stop := startEdge(t, cfg)
	waitFor(t, "the MQTTS source subscribed", func() bool { return e.sources[0].stats.up.Load() })

	want, cats := simFrames(t, simulator.Config{Cars: 1, Duration: 300 * time.Millisecond, Seed: 3})
	car := cats[0].Car
	codec := telemetry.MustNewCodec()
	pub := tlsPublisher(t, ca, mq.Addr, "car", "car-pw")
	catRec, _ := codec.AppendCatalog(nil, cats[0])
	publish(t, pub, "sec/"+car+"/data", catRec)
	for i := range want[car] {
		v, _ := codec.AppendFrame(nil, &want[car][i])
		publish(t, pub, "sec/"+car+"/data", v)
	}
	garbage := [][]byte{[]byte("speed=210"), []byte(`{"seq":1,"samples":[]}`)}
	for _, g := range garbage {
		publish(t, pub, "sec/"+car+"/data", g)
	}
	dl := e.metrics.acked.WithLabelValues(telemetry.TopicDeadLetter)
	waitFor(t, "dead letters acknowledged", func() bool { return testutil.ToFloat64(dl) >= float64(len(garbage)) })
	waitFor(t, "frames acknowledged", func() bool { return e.ackedFrames.Load() >= int64(countFrames(want)) })
	waitFor(t, "a status line", func() bool { return strings.Contains(logs.String(), "edge: mqtts://") })
	resp, err := http.Get("http://" + e.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	name := "mqtts://edge@" + mq.Addr + "/sec/+/data"
	if !strings.Contains(string(metrics), name) {
		t.Errorf("/metrics does not name the source %s", name)
	}
	dead := readTopic(t, b.Addr, telemetry.TopicDeadLetter)
	if len(dead) != len(garbage) {
		t.Fatalf("%d dead letters, want %d", len(dead), len(garbage))
	}
	var keysHeaders strings.Builder
	for _, r := range dead {
		if r.key != name || r.headers["source"] != name {
			t.Errorf("dead letter key %q source %q, want %q", r.key, r.headers["source"], name)
		}
		keysHeaders.WriteString(r.key)
		for k, v := range r.headers {
			keysHeaders.WriteString(k + "=" + v + "\n")
		}
	}
	sameFrames(t, framesByCar(t, readTopic(t, b.Addr, telemetry.TopicFrames), telemetry.DefaultPartitions), want, true)
	for what, text := range map[string]string{"logs": logs.String(), "/metrics": string(metrics), "dead-letter keys and headers": keysHeaders.String()} {
		if strings.Contains(text, planted) {
			t.Errorf("the MQTT password is in the edge's %s:\n%s", what, text)
		}
	}
	if !strings.Contains(logs.String(), "edge@") {
		t.Errorf("the logs never name the source with its user:\n%s", logs.String())
	}
}

// The user from --mqtt-user and the password from $PITWALL_MQTT_PASSWORD,
// or from --mqtt-password-file, log in; a wrong password is refused by Mosquitto, the source stays down
// and says why, without the password.
func TestMQTTSUserFlagPasswordEnvAndWrongPassword(t *testing.T) {
	ca := testca.New(t)
	mq := mqtttest.Start(t, mqtttest.Options{CA: ca, Users: map[string]string{"edge": planted}})
	b := brokertest.Start(t)
	t.Setenv(mqtt.PasswordEnv, planted)
	cfg := testConfig(t, b.Addr, "mqtts://"+mq.Addr+"/sec/+/data?ca="+ca.CertFile)
	cfg.MQTTUser = "edge"
	e, stop := startEdge(t, cfg)
	waitFor(t, "the source logged in with the env's password", func() bool { return e.sources[0].stats.up.Load() })
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	t.Setenv(mqtt.PasswordEnv, "wrong-"+planted)
	pwFile := filepath.Join(t.TempDir(), "mqtt.pw")
	os.WriteFile(pwFile, []byte(planted+"\n"), 0o600)
	cfg = testConfig(t, b.Addr, "mqtts://"+mq.Addr+"/sec/+/data?ca="+ca.CertFile)
	cfg.MQTTUser, cfg.MQTTPasswordFile = "edge", pwFile
	e, stop = startEdge(t, cfg)
	waitFor(t, "the source logged in with --mqtt-password-file's password (before the env's)", func() bool { return e.sources[0].stats.up.Load() })
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	cfg = testConfig(t, b.Addr, "mqtts://"+mq.Addr+"/sec/+/data?ca="+ca.CertFile)
	cfg.MQTTUser = "edge"
	logs := &lockedBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e, _ = startEdge(t, cfg)
	waitFor(t, "the refusal logged", func() bool { return strings.Contains(logs.String(), "mqtt: broker unreachable") })
	if e.sources[0].stats.up.Load() {
		t.Fatal("a wrong password logged in")
	}
	if !strings.Contains(strings.ToLower(logs.String()), "not authorized") && !strings.Contains(logs.String(), "bad user name or password") {
		t.Errorf("the refusal does not say why:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), planted) {
		t.Errorf("the password is in the logs:\n%s", logs.String())
	}
}

// A CA that did not sign Mosquitto's certificate: the edge refuses the
// broker (no frames to an impostor) and says so.
func TestMQTTSRefusesUnknownCertificate(t *testing.T) {
	t.Parallel()
	mq := mqtttest.Start(t, mqtttest.Options{CA: testca.New(t)})
	other := testca.New(t)
	b := brokertest.Start(t)
	cfg := testConfig(t, b.Addr, "mqtts://"+mq.Addr+"/sec/+/data?ca="+other.CertFile)
	logs := &lockedBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	e, _ := startEdge(t, cfg)
	waitFor(t, "the refusal logged", func() bool { return strings.Contains(logs.String(), "certificate") })
	if e.sources[0].stats.up.Load() {
		t.Fatal("connected to a broker whose certificate no trusted CA signed")
	}
}

// The edge produces to Pitwall's broker over SASL_SSL (SCRAM-SHA-512) and
// over SSL with a client certificate (mutual TLS): every frame arrives.
func TestEdgeProducesOverSASLSSLAndMutualTLS(t *testing.T) {
	t.Parallel()
	b := brokertest.StartSecure(t, brokertest.Secure{Users: map[string]string{"edge": planted}, ClientCA: true})
	cert, key := b.CA.Issue(t, "edge")
	mq := mqtttest.Start(t, mqtttest.Options{})
	for i, tc := range []struct {
		listener string
		sec      kafkasec.Config
	}{
		{"SASL_SSL", kafkasec.Config{CAFile: b.CA.File, Mechanism: kafkasec.ScramSHA512, User: "edge", Password: planted}},
		{"SSL", kafkasec.Config{CAFile: b.CA.File, CertFile: cert, KeyFile: key}},
	} {
		topic := fmt.Sprintf("sec%d", i)
		cfg := testConfig(t, b.Addrs[tc.listener], "mqtt://"+mq.Addr+"/"+topic+"/+/data")
		cfg.Security, cfg.Topic = tc.sec, "frames-"+topic
		e, stop := startEdge(t, cfg)
		waitFor(t, "the MQTT source subscribed", func() bool { return e.sources[0].stats.up.Load() })
		want, cats := simFrames(t, simulator.Config{Cars: 1, Duration: 200 * time.Millisecond, Seed: 5})
		car := cats[0].Car
		codec := telemetry.MustNewCodec()
		pub := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + mq.Addr).SetClientID("sasl-pub").SetOrderMatters(true))
		if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
		catRec, _ := codec.AppendCatalog(nil, cats[0])
		publish(t, pub, topic+"/"+car+"/data", catRec)
		for j := range want[car] {
			v, _ := codec.AppendFrame(nil, &want[car][j])
			publish(t, pub, topic+"/"+car+"/data", v)
		}
		pub.Disconnect(100)
		waitFor(t, "frames acknowledged over "+tc.listener, func() bool { return e.ackedFrames.Load() >= int64(countFrames(want)) })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		sameFrames(t, framesByCar(t, readTopic(t, b.Addrs["PLAINTEXT"], cfg.Topic), telemetry.DefaultPartitions), want, true)
	}
}
