package mqtt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pitwall/pitwall/edge/source"
	"github.com/pitwall/pitwall/telemetry"
)

// Kind is what a payload carried.
type Kind int

// Payload kinds.
const (
	KindFrame Kind = iota + 1
	KindCatalog
)

// BadPayload is a payload that could not be decoded, with its reason
// (one of package source's Reason names).
type BadPayload struct {
	Reason string
	Err    error
}

func (b *BadPayload) Error() string { return "mqtt: " + b.Reason + ": " + b.Err.Error() }
func (b *BadPayload) Unwrap() error { return b.Err }

func bad(reason string, format string, args ...any) *BadPayload {
	return &BadPayload{Reason: reason, Err: fmt.Errorf(format, args...)}
}

// DecodePayload decodes one message payload of car's topic into f or c:
//
//   - Avro single-object (0xC3 0x01 + fingerprint): a telemetry Frame or
//     ChannelCatalog, by its schema fingerprint, as the simulator and any
//     Pitwall logger publish;
//   - JSON, an object: a frame {"seq":N,"time_ns":N,"session":"S",
//     "samples":[{"id":N,"value":X},...]} (samples may also be an object
//     {"N":X,...}), or a catalog {"session":"S","time_ns":N,"channels":
//     [{"id":N,"name":"S","unit":"S","rate_hz":X,"min":X,"max":X},...]}.
//     "car" may be given and must then be the topic's car. Samples need
//     not be in id order. Unknown fields are errors.
//
// The car always comes from the topic. Errors are *BadPayload.
func DecodePayload(codec *telemetry.Codec, car string, payload []byte, f *telemetry.Frame, c *telemetry.ChannelCatalog) (Kind, error) {
	if len(payload) >= 2 && payload[0] == 0xC3 && payload[1] == 0x01 {
		return decodeAvro(codec, car, payload, f, c)
	}
	if p := bytes.TrimLeft(payload, " \t\r\n"); len(p) > 0 && p[0] == '{' {
		return decodeJSON(car, p, f, c)
	}
	return 0, bad(source.ReasonUnknownFormat, "payload is neither Avro single-object nor a JSON object")
}

func decodeAvro(codec *telemetry.Codec, car string, payload []byte, f *telemetry.Frame, c *telemetry.ChannelCatalog) (Kind, error) {
	name, err := codec.Identify(payload)
	if err != nil {
		if errors.Is(err, telemetry.ErrUnknownSchema) {
			return 0, &BadPayload{Reason: source.ReasonUnknownSchema, Err: err}
		}
		return 0, &BadPayload{Reason: source.ReasonCorrupt, Err: err}
	}
	var kind Kind
	var got string
	switch name {
	case telemetry.NameFrame:
		kind, err, got = KindFrame, codec.DecodeFrame(payload, f), f.Car
	case telemetry.NameCatalog:
		kind, err, got = KindCatalog, codec.DecodeCatalog(payload, c), c.Car
	default:
		return 0, bad(source.ReasonUnknownSchema, "a %s record is neither a frame nor a catalog", name)
	}
	if err != nil {
		if errors.Is(err, telemetry.ErrInvalid) {
			return 0, &BadPayload{Reason: source.ReasonInvalid, Err: err}
		}
		return 0, &BadPayload{Reason: source.ReasonCorrupt, Err: err}
	}
	if got != car {
		return 0, bad(source.ReasonCarMismatch, "payload of car %q on the topic of car %q", got, car)
	}
	if kind == KindFrame && len(f.Samples) == 0 {
		return 0, bad(source.ReasonInvalid, "frame without samples")
	}
	return kind, nil
}

type jsonPayload struct {
	Car      *string         `json:"car"`
	Session  string          `json:"session"`
	Seq      *int64          `json:"seq"`
	TimeNs   *int64          `json:"time_ns"`
	Samples  json.RawMessage `json:"samples"`
	Channels []jsonChannel   `json:"channels"`
}

type jsonChannel struct {
	ID     int32   `json:"id"`
	Name   string  `json:"name"`
	Unit   string  `json:"unit"`
	RateHz float64 `json:"rate_hz"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

type jsonSample struct {
	ID    *int32   `json:"id"`
	Value *float64 `json:"value"`
}

func decodeJSON(car string, p []byte, f *telemetry.Frame, c *telemetry.ChannelCatalog) (Kind, error) {
	var j jsonPayload
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return 0, bad(source.ReasonBadJSON, "%v", err)
	}
	if dec.More() {
		return 0, bad(source.ReasonBadJSON, "bytes after the object")
	}
	if j.Car != nil && *j.Car != car {
		return 0, bad(source.ReasonCarMismatch, "payload of car %q on the topic of car %q", *j.Car, car)
	}
	if j.Channels != nil {
		if j.Samples != nil || j.Seq != nil {
			return 0, bad(source.ReasonBadJSON, "both channels and samples")
		}
		*c = telemetry.ChannelCatalog{Car: car, Session: j.Session, Channels: make([]telemetry.Channel, 0, len(j.Channels))}
		if j.TimeNs != nil {
			c.TimeNs = *j.TimeNs
		}
		for _, ch := range j.Channels {
			c.Channels = append(c.Channels, telemetry.Channel(ch))
		}
		if err := c.Validate(); err != nil {
			return 0, &BadPayload{Reason: source.ReasonInvalid, Err: err}
		}
		return KindCatalog, nil
	}
	if j.Seq == nil || j.TimeNs == nil || j.Samples == nil {
		return 0, bad(source.ReasonBadJSON, "a frame needs seq, time_ns and samples")
	}
	samples, err := jsonSamples(j.Samples, f.Samples[:0])
	if err != nil {
		return 0, err
	}
	f.Car, f.Session, f.Seq, f.TimeNs, f.Samples = car, j.Session, *j.Seq, *j.TimeNs, samples
	f.SortSamples()
	if len(f.Samples) == 0 {
		return 0, bad(source.ReasonInvalid, "frame without samples")
	}
	if err := f.Validate(); err != nil {
		return 0, &BadPayload{Reason: source.ReasonInvalid, Err: err}
	}
	return KindFrame, nil
}

// jsonSamples reads samples as [{"id":N,"value":X},...] or {"N":X,...}.
func jsonSamples(raw json.RawMessage, dst []telemetry.Sample) ([]telemetry.Sample, error) {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) > 0 && raw[0] == '{' {
		var m map[string]float64
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, bad(source.ReasonBadJSON, "samples: %v", err)
		}
		if len(m) > telemetry.MaxSamples {
			return nil, bad(source.ReasonInvalid, "%d samples, more than %d", len(m), telemetry.MaxSamples)
		}
		for k, v := range m {
			id, err := strconv.ParseInt(strings.TrimSpace(k), 10, 32)
			if err != nil || id < 0 {
				return nil, bad(source.ReasonBadJSON, "sample id %q", k)
			}
			dst = append(dst, telemetry.Sample{ID: int32(id), Value: v})
		}
		return dst, nil
	}
	var arr []jsonSample
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&arr); err != nil {
		return nil, bad(source.ReasonBadJSON, "samples: %v", err)
	}
	if len(arr) > telemetry.MaxSamples {
		return nil, bad(source.ReasonInvalid, "%d samples, more than %d", len(arr), telemetry.MaxSamples)
	}
	for _, s := range arr {
		if s.ID == nil || s.Value == nil {
			return nil, bad(source.ReasonBadJSON, "a sample needs id and value")
		}
		dst = append(dst, telemetry.Sample{ID: *s.ID, Value: *s.Value})
	}
	return dst, nil
}
