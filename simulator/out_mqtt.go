package simulator

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/pitwall/pitwall/internal/kafkasec"
	"github.com/pitwall/pitwall/telemetry"
)

// mqttOutput publishes each car's frames as Avro single-object records on
// PREFIX/CAR/frames (QoS 0, or Target.QoS) and its catalog, retained, on
// PREFIX/CAR/channels (QoS 1), as telemetry/doc.go specifies.
type mqttOutput struct {
	client  mqtt.Client
	prefix  string
	qos     byte
	codec   *telemetry.Codec
	topics  map[string]string // car → frames topic, built once
	pending []mqtt.Token      // publishes not yet confirmed sent, oldest first
}

// maxInFlight bounds the publishes queued in the client, so a slow broker
// slows the simulation instead of filling memory.
const maxInFlight = 512

// mqttTimeout bounds every wait on the broker.
const mqttTimeout = 10 * time.Second

var mqttClients atomic.Int64

// MQTTPasswordEnv holds the MQTT password when the output URL has none.
const MQTTPasswordEnv = "PITWALL_MQTT_PASSWORD"

// mqttParams reads an mqtt[s]:// output's query: qos, and for mqtts ca,
// cert and key.
func (t *Target) mqttParams(query string) error {
	v, err := url.ParseQuery(query)
	if err != nil {
		return err
	}
	for k := range v {
		switch k {
		case "qos":
		case "ca", "cert", "key":
			if !t.TLS {
				return fmt.Errorf("%s= needs mqtts://", k)
			}
		default:
			return fmt.Errorf("unknown parameter %q (want qos, or ca, cert and key with mqtts://)", k)
		}
	}
	if q := v.Get("qos"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 0 || n > 2 {
			return fmt.Errorf("qos %q: want 0, 1 or 2", q)
		}
		t.QoS = byte(n)
	}
	t.CAFile, t.CertFile, t.KeyFile = v.Get("ca"), v.Get("cert"), v.Get("key")
	if (t.CertFile == "") != (t.KeyFile == "") {
		return errors.New("cert= and key= go together")
	}
	return nil
}

// mqttTLS is the TLS configuration of an mqtts:// output: the CA and
// client certificate through kafkasec, which the Kafka clients use too.
func mqttTLS(t Target) (*tls.Config, error) {
	tc, err := kafkasec.Config{TLS: true, CAFile: t.CAFile, CertFile: t.CertFile, KeyFile: t.KeyFile}.TLSConfig()
	if err != nil {
		return nil, err
	}
	if host, _, err := net.SplitHostPort(t.Addr); err == nil {
		tc.ServerName = host
	}
	return tc, nil
}

func newMQTTOutput(t Target) (*mqttOutput, error) {
	scheme := "tcp://"
	var tc *tls.Config
	if t.TLS {
		var err error
		if tc, err = mqttTLS(t); err != nil {
			return nil, fmt.Errorf("simulator: mqtts %s: %w", t.Addr, err)
		}
		scheme = "ssl://"
	}
	if t.Password == "" {
		t.Password = kafkasec.Secret(os.Getenv(MQTTPasswordEnv))
	}
	opts := mqtt.NewClientOptions().
		AddBroker(scheme + t.Addr).SetTLSConfig(tc).
		SetUsername(t.User).SetPassword(string(t.Password)).
		SetClientID(fmt.Sprintf("pitwall-sim-%d-%d", os.Getpid(), mqttClients.Add(1))).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectTimeout(mqttTimeout).
		SetWriteTimeout(mqttTimeout).
		SetOrderMatters(true)
	client := mqtt.NewClient(opts)
	if tok := client.Connect(); !tok.WaitTimeout(mqttTimeout) || tok.Error() != nil {
		return nil, fmt.Errorf("simulator: mqtt connect %s: %v", t.Addr, tok.Error())
	}
	return &mqttOutput{client: client, prefix: t.Name, qos: t.QoS, codec: telemetry.MustNewCodec(), topics: make(map[string]string)}, nil
}

func (o *mqttOutput) Catalog(cat *telemetry.ChannelCatalog) error {
	payload, err := o.codec.AppendCatalog(nil, cat)
	if err != nil {
		return err
	}
	o.topics[cat.Car] = o.prefix + "/" + cat.Car + "/frames"
	return o.wait(o.client.Publish(o.prefix+"/"+cat.Car+"/channels", 1, true, payload))
}

func (o *mqttOutput) Frame(f *telemetry.Frame) error {
	payload, err := o.codec.AppendFrame(nil, f) // the client keeps it until sent
	if err != nil {
		return err
	}
	topic, ok := o.topics[f.Car]
	if !ok {
		return fmt.Errorf("simulator: mqtt: frame of car %s before its catalog", f.Car)
	}
	o.pending = append(o.pending, o.client.Publish(topic, o.qos, false, payload))
	if len(o.pending) >= maxInFlight {
		return o.drain(maxInFlight / 2)
	}
	return nil
}

// drain waits until at most keep publishes are pending.
func (o *mqttOutput) drain(keep int) error {
	n := len(o.pending) - keep
	for i := 0; i < n; i++ {
		if err := o.wait(o.pending[i]); err != nil {
			return err
		}
	}
	o.pending = append(o.pending[:0], o.pending[n:]...)
	return nil
}

func (o *mqttOutput) wait(tok mqtt.Token) error {
	if !tok.WaitTimeout(mqttTimeout) {
		return fmt.Errorf("simulator: mqtt publish: no answer in %v", mqttTimeout)
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("simulator: mqtt publish: %w", err)
	}
	return nil
}

func (o *mqttOutput) Flush() error { return nil }

func (o *mqttOutput) Close() error {
	err := o.drain(0)
	o.client.Disconnect(250)
	return err
}
