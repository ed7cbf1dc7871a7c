// Package nmea is the edge's source for GPS receivers that speak NMEA 0183
// on a serial port (`--in nmea:PATH?baud=9600&car=ID`): u-blox, MediaTek
// and the like, at 1-25 Hz. The port is a serial.Port, opened, read and
// reopened as the serial source's; this package owns the sentence grammar
// (ParseSentence) and turning one receiver epoch into one telemetry frame.
//
// # Data flow
//
//	port ──bytes──▶ split at "\n" (after a resync to the first "$")
//	   $--RMC, $--GGA, $--VTG (any talker: GP, GN, GL, GA, BD...) ──ParseSentence──▶ epoch
//	   sentences with the same UTC time are one epoch ──▶ one telemetry.Frame ──▶ Sink.Frame
//	   other sentence types (GSV, GSA, GLL, TXT, proprietary $P...) ──▶ ignored
//	   a bad checksum, a broken sentence, a line over 256 bytes ──▶ Sink.Bad
//
// An epoch of RMC, VTG and GGA is about 220 bytes: 9600 baud (a receiver's
// usual default) carries only 4 a second, so a 10-25 Hz receiver must be
// set to 115200 baud or send fewer sentences.
//
// An epoch is emitted when a sentence with another UTC time arrives, or
// when a read brings nothing (the receiver is quiet between epochs), so a
// fix reaches the sink within one read timeout of its last sentence.
//
// # Channels
//
// The catalog, handed to the sink when Run starts, names the channels of
// telemetry/channels.go where they exist: gps_lat and gps_lon (degrees,
// WGS84, from RMC or GGA), gps_speed (km/h, from RMC's knots or VTG's
// km/h), gps_heading (degrees true, RMC or VTG), and gps_alt (m above mean
// sea level), gps_fix (GGA fix quality: 0 none, 1 GPS, 2 DGPS, 4 RTK
// fixed, 5 RTK float...), gps_sats (satellites used) and gps_hdop from GGA.
// A frame carries what its epoch's sentences gave: no position while the
// receiver has no fix (RMC status V, GGA quality 0), which the lap
// detector sees as a GPS gap.
//
// # Time and sequence
//
// The frame's sensor time is the receiver's: the epoch's UTC time of day
// on RMC's date. Before the first RMC (a receiver set to GGA only) the
// date is the receive time's, within half a day of it; after midnight the
// date moves on with the time of day until the next RMC says it. Sequence
// numbers start at the microsecond clock when the source is built, so a
// restarted edge never repeats one.
//
// # Bad input
//
// Every sentence must end in "*HH", the XOR of the bytes between "$" and
// "*": a mismatch is source.ReasonChecksum, a sentence that breaks the
// grammar (fields missing or not numbers, a latitude over 90 degrees)
// source.ReasonMalformed, a line longer than MaxSentence
// source.ReasonTooLong; each goes to the dead-letter topic with its raw
// bytes, is counted and logged once per kind by the edge, and the next
// sentence is read as usual.
package nmea
