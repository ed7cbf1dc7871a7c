package simulator

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/pitwall/pitwall/internal/mqtttest"
	"github.com/pitwall/pitwall/internal/testca"
)

// The mqtts:// output logs in to a Mosquitto that takes TLS only, with a
// password file: every frame arrives; a wrong password is refused with an
// error that does not repeat it.
func TestMQTTSOutputWithMosquitto(t *testing.T) {
	const pw = "sim-Pl4nted-pw"
	ca := testca.New(t)
	mq := mqtttest.Start(t, mqtttest.Options{CA: ca, Users: map[string]string{"sim": pw, "sub": "sub-pw"}})
	cfg := Config{Cars: 2, Duration: time.Second, Speed: 10, Seed: 4, Out: "mqtts://sim:" + pw + "@" + mq.Addr + "/sec?qos=1&ca=" + ca.CertFile, Logger: quietLogger()}
	want, _ := expected(t, cfg)

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(ca.CertPEM))
	var got atomic.Int64
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("ssl://" + mq.Addr).SetClientID("sim-tls-sub").
		SetTLSConfig(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}).SetUsername("sub").SetPassword("sub-pw"))
	if tok := sub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer sub.Disconnect(100)
	if tok := sub.Subscribe("sec/+/frames", 1, func(mqtt.Client, mqtt.Message) { got.Add(1) }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	if err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return got.Load() >= int64(len(want)) })
	if n := got.Load(); n != int64(len(want)) {
		t.Fatalf("%d frames, want %d", n, len(want))
	}

	cfg.Out = strings.Replace(cfg.Out, pw, "wrong-"+pw, 1)
	err := Run(context.Background(), cfg)
	if err == nil {
		t.Fatal("a wrong password published")
	}
	if strings.Contains(err.Error(), pw) {
		t.Fatalf("the error repeats the password: %v", err)
	}
}
