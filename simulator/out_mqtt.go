package simulator

import (
	"fmt"
	"os"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

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

func newMQTTOutput(t Target) (*mqttOutput, error) {
	opts := mqtt.NewClientOptions().
		AddBroker("tcp://" + t.Addr).
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
