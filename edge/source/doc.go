// Package source is what the edge's sources share: the Sink they hand
// their input to, the names of the reasons and events they count, and the
// loop that keeps a device open. The sources themselves are its siblings:
// edge/serial, edge/slcan, edge/socketcan, edge/mqtt, edge/nmea and
// edge/udp; package edge
// builds one per --in URL (edge/sources.go) and gives each its own Sink,
// the emitter that spools what it is handed.
//
// # Data flow
//
//	device ──read──▶ source (decode) ──Frame / Catalog──▶ Sink ──Flush──▶ spool
//	                                 ──Bad(Reason…)────▶ Sink            (dead letter, edge_bad_input_total)
//	                                 ──Note(Event…)────▶ Sink            (edge_source_events_total)
//	                                 ──Up(bool, err)───▶ Sink            (edge_source_up, status line)
//
// A source flushes the sink after every read, before reading again, so
// what it took off the wire is in the spool before it takes more.
//
// # Reasons
//
// The Reason constants are the values of the "reason" header of
// telemetry.deadletter and of the reason label of edge_bad_input_total;
// the Event constants label edge_source_events_total; the Drop constants
// label edge_dropped_total. They are declared here once, so one name means
// one thing whichever source (or the edge itself) uses it.
//
// # Outages
//
// Reopen runs a Device (open it, read it until it fails, close it, open
// it again) for the sources that read a device by name: a serial port, an
// SLCAN adapter, a CAN interface. Failed opens are retried every
// Device.Every until ctx is done; an outage is logged once when it starts
// ("<kind>: <noun> unavailable" or "lost") and once when it ends ("back"),
// and reported through Sink.Up. MQTT has its own reconnecting client and
// uses only Sleep.
//
// Package sourcetest has a Sink that records what it is handed, for the
// sources' tests.
package source
