// Package influx writes the lap processor's output to InfluxDB's v2 write
// endpoint through influxdb-client-go/v2 (its HTTP service, the one its
// blocking write API uses, fed the batches' bytes as they are), which
// works against InfluxDB 1.8 (bucket "db" or "db/rp", token "" or
// "user:password"), 2.x and 3.x.
//
// # Data flow
//
//	telemetry.Lap ──AppendLap──────────────┐
//	telemetry.Frame ──Downsampler.Frame────┼──▶ line-protocol batch ──Writer.Write──▶ InfluxDB
//	                 (mean/min/max per window)
//	telemetry.Alarm ──AppendAlarm──────────┘ (raised, cleared, a point a second while raised)
//
// The runner builds one batch of line protocol per flush and hands it to
// Writer.Write, which returns only once InfluxDB accepted all of it.
// Points are keyed by tags (car, session) and timestamp, so writing the
// same lap or window again after a crash overwrites it: replays never
// double-count. See MeasurementLap, MeasurementTelemetry and
// MeasurementAlarms for the
// schema the dashboards query with InfluxQL, e.g.
//
//	SELECT lap, lap_time, s1, s2, s3 FROM lap WHERE car = 'car01'
//
// Package influxtest starts a real influxd for tests.
package influx
