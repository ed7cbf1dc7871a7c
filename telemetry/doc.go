// Package telemetry is Pitwall's shared data model: what a car's sensors
// say, how it is encoded on every wire, and where it goes in the log. It
// imports no other Pitwall package; the simulator, the edge, the processors
// and the Grafana plugin all build on it.
//
// # Data flow
//
//	car logger / simulator ──serial lines ($PWF/$PWC) ─┐
//	                       ──SLCAN frames (DBC)───────┼─▶ edge ──Avro Frame──▶ topic "telemetry"
//	                       ──MQTT (Avro)──────────────┘        ──Avro ChannelCatalog──▶ "telemetry.channels"
//	processors ◀── "telemetry" ── lap detection ──Avro Lap──▶ "telemetry.laps"
//	                             ── lap in progress ──Avro Live──▶ "telemetry.live"
//	                             ── alarm rules ──Avro Alarm──▶ "telemetry.alarms"
//	undecodable input ──raw bytes + "reason" header──▶ "telemetry.deadletter"
//
// # Model
//
// A Frame is every sample one car took at one sensor time: car id,
// session, a per-car sequence number, the sensor time in nanoseconds since
// the Unix epoch, and sparse (channel id, value) pairs in ascending id
// order. Ids, not names, keep frames small; each car's ChannelCatalog maps
// ids to name, unit, rate and plausible range, and is published on the
// compacted topic TopicChannels keyed by car id. A Lap is one lap of one
// car from a start/finish crossing to the next, with sector times that sum
// to the lap time. A Live record is where a car is in its lap in progress;
// an Alarm is an alarm rule raised or cleared for a car (pitwall
// --alarms). Standard channel names are in channels.go.
//
// Topics (topics.go) is the one table of Pitwall's topics and the
// settings they are created with (partitions, cleanup.policy); every
// producer creates its topics from it.
//
// # Avro and schema evolution
//
// Every record is Avro in single-object encoding: 0xC3 0x01, the 8-byte
// little-endian CRC-64-AVRO fingerprint of the writer's schema (over its
// Parsing Canonical Form, so editing "doc" attributes changes nothing), then
// the Avro binary body. The schemas are frame.avsc, catalog.avsc, lap.avsc,
// live.avsc and alarm.avsc, embedded. A Codec decodes records written with the current schemas and with
// any schema given to Codec.Register, resolving the writer's schema into the
// current one (fields added with defaults, fields dropped), so old readers
// read new writers and the reverse. To change a schema: add fields only with
// a default, never reuse a field name for another meaning, and copy the
// schema as it was to older/<name>_v<n>.avsc (embedded; never edited:
// its fingerprint is what the records in the log carry), so every Codec
// still reads the records already written without Register; the
// evolution tests hold both directions. Lap gained device_ns this way
// (older/lap_v1.avsc). A reader older than a schema still needs Register
// to read its records.
// Frames have a hand-written codec for speed; everything else uses
// github.com/hamba/avro/v2. Decoders never panic, refuse trailing bytes and
// truncation, and validate the decoded value.
//
// # Partitioning
//
// Records are keyed by car id and placed with Partition, the Java client's
// default: (murmur2(key) & 0x7fffffff) % partitions. Package
// telemetry/partitioner plugs it into sarama (kept out of this package so
// that telemetry needs no Kafka client), so sarama, franz-go, librdkafka
// and Java producers all put a car on the same partition.
//
// # Serial line format
//
// What a logger (or `pitwall sim --out serial:PATH`) writes on a serial
// port, and the edge reads. ASCII, one record per line, NMEA-like so that a
// reader joining mid-stream resynchronises at the next "\n":
//
//	$PWF,<car>,<seq>,<time_ns>,<id>=<value>[,<id>=<value>]...*<crc>\r\n
//	$PWC,<car>,<session>,<index>,<count>,<id>,<name>,<unit>,<rate_hz>,<min>,<max>*<crc>\r\n
//
// A $PWF line is one Frame (without its session). A $PWC line announces
// channel <index> of the <count> channels of the car's catalog; a logger
// sends all of them when it starts and again every few seconds, so a reader
// that opens the port late learns the catalog within seconds, and the
// session its frames belong to. A reader has the whole catalog once it holds
// <count> distinct indexes for the car.
//
// Fields:
//   - <crc>: CRC-16/CCITT-FALSE (polynomial 0x1021, initial 0xFFFF, not
//     reflected, no final XOR) of every byte after "$" up to, not including,
//     "*", as 4 upper-case hex digits. "123456789" gives 29B1.
//   - <car>: 1–64 bytes of A–Z a–z 0–9 . _ -; <session>: 0–128 bytes of
//     the same and ':'.
//   - <seq>, <time_ns>, <id>, <index>, <count>: decimal digits, no sign, no
//     leading zeros; seq and time_ns fit an int64, id an int32, count is
//     1–8192 and index 1–count.
//   - <value>, <rate_hz>, <min>, <max>: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?,
//     at most 32 bytes, finite. Writers print the shortest form that parses
//     back to the same float64.
//   - ids within a $PWF line strictly ascend; a line has 1–8192 samples.
//   - <name>: 1–64 bytes of A–Z a–z 0–9 _ .; <unit>: 0–16 bytes of
//     printable ASCII except space , * $.
//
// The line, its terminator included, is at most MaxLineLen bytes; "\r" is
// optional. ParseLine is strict: any deviation is an error wrapping
// ErrChecksum or ErrBadLine, never a guess.
//
// # CAN
//
// The CAN mapping of the standard channels is the DBC file the simulator
// ships (simulator/pitwall.dbc): every signal is named after the channel it
// carries, so a DBC decoder maps signals to catalog names one to one.
//
// # MQTT
//
// Over MQTT a car publishes Avro single-object Frames on
// <prefix>/<car>/frames (QoS 0) and its ChannelCatalog, retained, on
// <prefix>/<car>/channels (QoS 1).
package telemetry
