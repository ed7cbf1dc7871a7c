package edge

import (
	"bytes"
	"log/slog"
	"os"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/edge/source"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

// garbage is one injected bad input and the reason it must be counted under.
type garbage struct {
	raw    []byte
	reason string
}

// Garbage injected between good frames, on a serial port and over MQTT:
// the dead-letter topic gets exactly one record per piece of garbage, with
// its raw bytes and reason; every good frame arrives unaffected.
func TestGarbageGoesToDeadLetter(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t)
	a, bEnd, _ := socatPair(t)
	mq := startMosquitto(t)
	serialIn, mqttIn := "serial:"+a, "mqtt://"+mq+"/g/+/data"
	logs := &logCounter{msgs: map[string]int{}}
	cfg := testConfig(t, b.Addr, serialIn, mqttIn)
	cfg.Logger = slog.New(logs)
	e, stop := startEdge(t, cfg)
	waitFor(t, "the MQTT source subscribed", func() bool { return e.sources[1].stats.up.Load() })

	want, cats := simFrames(t, simulator.Config{Cars: 2, Duration: 300 * time.Millisecond, Seed: 2})
	codec := telemetry.MustNewCodec()

	// Serial: car01's frames, garbage every 25 lines.
	goodLine, _ := telemetry.AppendFrameLine(nil, &want["car01"][0])
	badCRC := bytes.Replace(goodLine, []byte("$PWF,car01,0,"), []byte("$PWF,car01,9,"), 1)
	serialGarbage := []garbage{
		{badCRC, source.ReasonChecksum},
		{[]byte("hello, world\r\n"), source.ReasonMalformed},
		{[]byte("\x00\xff\xfe$PWX\r\n"), source.ReasonMalformed},
		{[]byte("$PWF,car01,1,2,3=4*0000\r\n"), source.ReasonChecksum},
		{append(bytes.Repeat([]byte("9"), telemetry.MaxLineLen+100), '\n'), source.ReasonTooLong},
	}
	port, err := os.OpenFile(bEnd, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	var out bytes.Buffer
	cat := cats[0]
	for i, ch := range cat.Channels {
		l, _ := telemetry.AppendChannelLine(nil, &telemetry.ChannelLine{Car: cat.Car, Session: cat.Session, Index: i + 1, Count: len(cat.Channels), Channel: ch})
		out.Write(l)
	}
	out.WriteString("\r\n") // empty lines carry nothing and are not garbage
	g := 0
	for i := range want["car01"] {
		l, _ := telemetry.AppendFrameLine(nil, &want["car01"][i])
		out.Write(l)
		if i%25 == 10 && g < len(serialGarbage) {
			out.Write(serialGarbage[g].raw)
			g++
		}
	}
	if g != len(serialGarbage) {
		t.Fatalf("only %d of the serial garbage injected", g)
	}
	if _, err := port.Write(out.Bytes()); err != nil {
		t.Fatal(err)
	}

	// MQTT: car02's frames, garbage in between.
	pub := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + mq).SetClientID("garbage-pub").SetOrderMatters(true))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	goodAvro, _ := codec.AppendFrame(nil, &want["car02"][0])
	mqttGarbage := []garbage{
		{[]byte("speed=210"), source.ReasonUnknownFormat},
		{[]byte(`{"seq":1,"samples":[]}`), source.ReasonBadJSON},
		{goodAvro[:len(goodAvro)-4], source.ReasonCorrupt},
		{goodAvro, source.ReasonCarMismatch}, // car02's frame on car07's topic
	}
	g = 0
	for i := range want["car02"] {
		v, _ := codec.AppendFrame(nil, &want["car02"][i])
		publish(t, pub, "g/car02/data", v)
		if i%25 == 10 && g < len(mqttGarbage) {
			publish(t, pub, "g/car07/data", mqttGarbage[g].raw)
			g++
		}
	}
	if g != len(mqttGarbage) {
		t.Fatalf("only %d of the MQTT garbage injected", g)
	}

	total := len(serialGarbage) + len(mqttGarbage)
	dl := e.metrics.acked.WithLabelValues(telemetry.TopicDeadLetter)
	waitFor(t, "dead letters acknowledged", func() bool { return testutil.ToFloat64(dl) >= float64(total) })
	waitFor(t, "good frames acknowledged", func() bool { return e.ackedFrames.Load() >= int64(countFrames(want)) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	dead := readTopic(t, b.Addr, telemetry.TopicDeadLetter)
	if len(dead) != total {
		t.Fatalf("%d dead letters, want %d", len(dead), total)
	}
	check := func(name string, gs []garbage) {
		var recs []record
		for _, r := range dead {
			if r.key == name {
				recs = append(recs, r)
			}
		}
		if len(recs) != len(gs) {
			t.Fatalf("%s: %d dead letters, want %d", name, len(recs), len(gs))
		}
		for i, r := range recs { // one source is one partition: in order
			raw := gs[i].raw
			if gs[i].reason == source.ReasonTooLong {
				raw = raw[:telemetry.MaxLineLen]
			}
			if !bytes.Equal(r.value, raw) || r.headers[telemetry.HeaderReason] != gs[i].reason || r.headers["source"] != name || r.headers["error"] == "" {
				t.Fatalf("%s dead letter %d: reason %q (want %q), %d bytes (want %d), headers %v",
					name, i, r.headers[telemetry.HeaderReason], gs[i].reason, len(r.value), len(raw), r.headers)
			}
		}
		perReason := map[string]int{}
		for _, gb := range gs {
			perReason[gb.reason]++
		}
		for reason, n := range perReason {
			if c := testutil.ToFloat64(e.metrics.bad.WithLabelValues(name, reason)); c != float64(n) {
				t.Fatalf("%s: %v counted as %s, want %d", name, c, reason, n)
			}
		}
	}
	check(serialIn, serialGarbage)
	check(mqttIn, mqttGarbage)
	// Logged once per source and kind: 3 serial kinds, 4 MQTT kinds.
	if n := logs.count("edge: bad input"); n != 7 {
		t.Fatalf("bad input logged %d times, want 7 (once per source and kind)", n)
	}
	got := framesByCar(t, readTopic(t, b.Addr, telemetry.TopicFrames), telemetry.DefaultPartitions)
	sameFrames(t, got, want, true)
}

func publish(t *testing.T, c paho.Client, topic string, payload []byte) {
	t.Helper()
	if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}
