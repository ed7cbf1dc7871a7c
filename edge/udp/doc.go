// Package udp is the edge's source for racing games that stream telemetry
// over UDP: `--in udp://HOST:PORT?format=f1-24` (the F1 24 game) and
// `--in udp://HOST:PORT?format=forza&car=ID` (Forza "Data Out"). It binds
// exactly the address given (127.0.0.1:PORT for a game on the same
// machine) and nothing else.
//
// # Data flow
//
//	datagram ──F1: ParseF1Header (format 2024, id, size)──▶ f1Stream
//	   Participants (4) ──▶ active cars, each car's id = prefix + race number (car01, car44)
//	   Motion (0), Lap Data (2), Car Telemetry (6), Car Status (7) ──▶ every active car's pending samples
//	   Session (1) ──▶ logged once per session (track id, length, type)
//	   the next m_frameIdentifier, or a quiet read ──▶ one telemetry.Frame per car ──▶ Sink.Frame
//	datagram ──Forza: ParseForza (by length: Sled 232, Dash 311, Horizon 324, Motorsport 331)──▶ one frame
//
// One F1 stream carries every car of the session: each car is its own
// key, with its own catalog (F1Catalog) handed to the sink before its
// first frame. Car packets that arrive before the session's first
// participants packet (the game sends it every 5 s) have no car ids yet:
// they are counted (EventNoParticipants) and skipped.
//
// # Positions and laps
//
// The games give world positions in metres, not latitude and longitude:
// pos_x and pos_z (y is up, as pos_y) are a planar track's coordinates
// (track.Timing.Planar), so lap detection times the game's cars on a
// planar track file, written by hand or by `pitwall track derive --planar`
// from a session the source recorded (Config.Record, `record=DIR`: each
// car's positions and lap markers in DIR/CAR.csv, record.go). The game's
// own lap counter is the device's lap marker: when a car's lap number
// goes up (not back: a restarted race or a flashback crosses no line), a
// frame at the crossing time (the packet's time less the game's current
// lap time) carries device_lap (the lap that starts) and last_lap_time
// (the game's time of the lap that ended), so `pitwall laps` shows the
// game's lap time beside Pitwall's.
//
// # Time
//
// F1 sensor time is the session's: the wall time of the session's first
// packet less its m_sessionTime, plus each packet's m_sessionTime; a new
// session UID anchors again. Forza's is its millisecond clock anchored the
// same way, again whenever the clock goes back or jumps a minute. A
// flashback (F1) sends earlier times again; the lap processor skips frames
// older than those it has timed.
//
// # Bad input
//
// A datagram that is no F1 24 packet (another year's format, garbage) is
// source.ReasonUnknownFormat; one whose size is not its type's (or not one
// of Forza's four) source.ReasonMalformed; a value that is not a finite
// number source.ReasonInvalid; a datagram over 2 KiB source.ReasonTooLong.
// Each goes to the dead-letter topic with its bytes, counted and logged
// once per kind by the edge; nothing panics (FuzzF1, FuzzForza). Packet
// types the source does not read (events, setups, damage...) are ignored.
package udp
