// Package mqtt is the edge's MQTT source (github.com/eclipse/paho.mqtt.golang):
// it subscribes to a topic filter, takes the car id from the topic, and
// decodes Avro single-object or JSON payloads into frames and catalogs.
//
// # Data flow
//
//	broker ──PUBLISH (QoS 1)──▶ paho (manual acks) ──▶ queue
//	queue ──batch of ≤1024──▶ DecodePayload ──▶ Sink.Frame / Sink.Catalog / Sink.Bad
//	      ──Sink.Flush (spooled)──▶ PUBACK for every message of the batch
//
// The session is persistent (CleanSession false, a client id that stays the
// same across restarts) and a message is acknowledged only once it is in
// the spool: messages published while the edge was away, and messages it
// had received but not yet spooled when it crashed, are delivered again by
// the broker when it reconnects (at-least-once; a message spooled but not
// yet acknowledged when the edge died comes twice). Paho reconnects on its
// own; the source subscribes again on every connection and logs each outage
// once when it starts and once when it ends.
//
// Config.TLS connects with MQTT over TLS (mqtts:// in the edge's --in):
// the broker's certificate is checked against CAFile (or the system's
// CAs) and its host name, with a client certificate if CertFile is set.
// Username and Password log in; the password never leaves the process —
// the source's Name is the URL without it (kafkasec.Redact), and that is
// all logs, metrics and dead letters see.
//
// The car id is the topic level matched by the filter's first "+": with
// cars/+/telemetry, cars/44/telemetry is car 44. A filter without "+"
// needs a configured car. The simulator publishes Avro frames on
// PREFIX/CAR/frames and its retained catalog on PREFIX/CAR/channels, so
// PREFIX/+/# takes both. Payload formats: see DecodePayload; a payload
// that does not decode is a *BadPayload whose reason is one of package
// source's Reason names, handed to the source.Sink as bad input.
package mqtt
