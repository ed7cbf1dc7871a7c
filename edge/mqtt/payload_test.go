package mqtt

import (
	"errors"
	"testing"

	"github.com/pitwall/pitwall/edge/source"
	"github.com/pitwall/pitwall/telemetry"
)

func TestDecodePayload(t *testing.T) {
	codec := telemetry.MustNewCodec()
	frame := telemetry.Frame{Car: "44", Session: "s1", Seq: 7, TimeNs: 1e18, Samples: []telemetry.Sample{{ID: 1, Value: 2.5}, {ID: 3, Value: -1}}}
	avroFrame, _ := codec.AppendFrame(nil, &frame)
	cat := telemetry.ChannelCatalog{Car: "44", Session: "s1", TimeNs: 5, Channels: []telemetry.Channel{{ID: 1, Name: "speed", Unit: "km/h", RateHz: 100, Min: 0, Max: 400}}}
	avroCat, _ := codec.AppendCatalog(nil, &cat)
	other := frame
	other.Car = "45"
	avroOther, _ := codec.AppendFrame(nil, &other)

	for _, tc := range []struct {
		name    string
		payload string
		kind    Kind
		reason  string
	}{
		{"avro frame", string(avroFrame), KindFrame, ""},
		{"avro catalog", string(avroCat), KindCatalog, ""},
		{"avro of another car", string(avroOther), 0, source.ReasonCarMismatch},
		{"avro truncated", string(avroFrame[:len(avroFrame)-3]), 0, source.ReasonCorrupt},
		{"avro unknown schema", "\xc3\x01\x01\x02\x03\x04\x05\x06\x07\x08rest", 0, source.ReasonUnknownSchema},
		{"json frame, array", `{"seq":7,"time_ns":1000000000000000000,"session":"s1","samples":[{"id":3,"value":-1},{"id":1,"value":2.5}]}`, KindFrame, ""},
		{"json frame, object", ` {"car":"44","seq":7,"time_ns":1000000000000000000,"session":"s1","samples":{"1":2.5,"3":-1}}`, KindFrame, ""},
		{"json catalog", `{"session":"s1","time_ns":5,"channels":[{"id":1,"name":"speed","unit":"km/h","rate_hz":100,"min":0,"max":400}]}`, KindCatalog, ""},
		{"json of another car", `{"car":"45","seq":1,"time_ns":1,"samples":[]}`, 0, source.ReasonCarMismatch},
		{"json without seq", `{"time_ns":1,"samples":[{"id":1,"value":1}]}`, 0, source.ReasonBadJSON},
		{"json unknown field", `{"seq":1,"time_ns":1,"samples":[],"speed":3}`, 0, source.ReasonBadJSON},
		{"json no samples", `{"seq":1,"time_ns":1,"samples":[]}`, 0, source.ReasonInvalid},
		{"json negative seq", `{"seq":-1,"time_ns":1,"samples":[{"id":1,"value":1}]}`, 0, source.ReasonInvalid},
		{"json bad sample id", `{"seq":1,"time_ns":1,"samples":{"x":1}}`, 0, source.ReasonBadJSON},
		{"json trailing", `{"seq":1,"time_ns":1,"samples":{"1":1}} {}`, 0, source.ReasonBadJSON},
		{"json bad catalog", `{"channels":[{"id":1,"name":"","rate_hz":1}]}`, 0, source.ReasonInvalid},
		{"text", "speed=3", 0, source.ReasonUnknownFormat},
		{"empty", "", 0, source.ReasonUnknownFormat},
	} {
		var f telemetry.Frame
		var c telemetry.ChannelCatalog
		kind, err := DecodePayload(codec, "44", []byte(tc.payload), &f, &c)
		var bp *BadPayload
		switch {
		case tc.reason != "":
			if !errors.As(err, &bp) || bp.Reason != tc.reason {
				t.Errorf("%s: %v, want reason %s", tc.name, err, tc.reason)
			}
		case err != nil || kind != tc.kind:
			t.Errorf("%s: kind %v, %v", tc.name, kind, err)
		case kind == KindFrame && (f.Car != "44" || f.Seq != 7 || f.Session != "s1" || len(f.Samples) != 2 || f.Samples[0] != frame.Samples[0] || f.Samples[1] != frame.Samples[1]):
			t.Errorf("%s: decoded %+v", tc.name, f)
		case kind == KindCatalog && (c.Car != "44" || len(c.Channels) != 1 || c.Channels[0] != cat.Channels[0] || c.TimeNs != 5):
			t.Errorf("%s: decoded %+v", tc.name, c)
		}
	}
}

func TestCarFromTopic(t *testing.T) {
	s, err := New(Config{Broker: "127.0.0.1:1", Filter: "cars/+/telemetry"})
	if err != nil {
		t.Fatal(err)
	}
	if car, err := s.carOf("cars/44/telemetry"); car != "44" || err != nil {
		t.Fatalf("carOf: %q %v", car, err)
	}
	for _, topic := range []string{"cars", "cars/bad car/telemetry", "cars//telemetry"} {
		if _, err := s.carOf(topic); err == nil {
			t.Errorf("carOf(%q) accepted", topic)
		}
	}
	if _, err := New(Config{Broker: "127.0.0.1:1", Filter: "car44/telemetry"}); !errors.Is(err, ErrConfig) {
		t.Fatalf("filter without + and no car: %v", err)
	}
	s, _ = New(Config{Broker: "127.0.0.1:1", Filter: "car44/telemetry", Car: "44"})
	if car, _ := s.carOf("car44/telemetry"); car != "44" {
		t.Fatalf("fixed car: %q", car)
	}
}

// FuzzDecodePayload: no panic; whatever decodes is valid and names the
// topic's car.
func FuzzDecodePayload(f *testing.F) {
	codec := telemetry.MustNewCodec()
	fr := telemetry.Frame{Car: "44", Seq: 1, TimeNs: 2, Samples: []telemetry.Sample{{ID: 1, Value: 1}}}
	b, _ := codec.AppendFrame(nil, &fr)
	f.Add(b)
	f.Add([]byte(`{"seq":7,"time_ns":1,"samples":[{"id":3,"value":-1}]}`))
	f.Add([]byte(`{"seq":7,"time_ns":1,"samples":{"3":1e300}}`))
	f.Add([]byte(`{"channels":[{"id":1,"name":"a","unit":"","rate_hz":1,"min":0,"max":1}]}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		var fr telemetry.Frame
		var c telemetry.ChannelCatalog
		kind, err := DecodePayload(codec, "44", payload, &fr, &c)
		if err != nil {
			var bp *BadPayload
			if !errors.As(err, &bp) || bp.Reason == "" {
				t.Fatalf("error without a reason: %v", err)
			}
			return
		}
		switch kind {
		case KindFrame:
			if fr.Car != "44" || fr.Validate() != nil || len(fr.Samples) == 0 {
				t.Fatalf("invalid frame decoded: %+v", fr)
			}
		case KindCatalog:
			if c.Car != "44" || c.Validate() != nil {
				t.Fatalf("invalid catalog decoded: %+v", c)
			}
		default:
			t.Fatalf("kind %d without error", kind)
		}
	})
}
