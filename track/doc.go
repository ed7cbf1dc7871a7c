// Package track knows circuits: the built-in tracks the simulator drives
// and times, the timing lines lap detection crosses, and track files for
// circuits (or moved lines) the simulator does not know. It imports no
// other Pitwall package, so the simulator and the pure lap detector
// (package processors/lap) share one definition of every line without the
// lap detector depending on the simulator.
//
// # Data flow
//
//	Def ──Build──▶ Track (centreline every ~1 m, curvature, bumps, pit lane, lat/lon)
//	Lookup(name) ──▶ built-in Track ──Timing──▶ Timing (start/finish, sector lines, pit part)
//	track file ──LoadTiming / ParseTiming──▶ Timing ──MarshalTiming──▶ track file (commented)
//	built-in name + track file ──TimingFor──▶ Timing checked against that road (up, sim --track-file)
//	recorded session ([]Fix + device lap markers; ReadFixesCSV for a CSV) ──Derive──▶ Timing
//
// # Built-in tracks
//
// Tracks are built from segments (straights, and corners with a radius and
// an angle) closed into a loop of the real length: corner angles are scaled
// to a full turn, straights adjusted by least squares until the loop closes,
// and the whole scaled to the real lap length. Start/finish lies on the
// first straight with the pit lane beside it; sector lines cut the lap at
// fixed distances. Positions are projected to WGS84 around the real
// circuit's start/finish. Layouts are approximations; lengths are exact.
// Track.At, Curvature, BumpAt and PitLateral give the simulator the road
// at any distance along the lap.
//
// # Timing lines and geometry
//
// A TimingLine joins two LatLon ends; looking from A to B, a car going the
// lap direction crosses from right to left, so direction matters.
// TimingLine.Crossing intersects the path between two GPS fixes with a
// line on a plane tangent at A (the lap detector projects on its own
// plane, tangent at start/finish, to bridge GPS gaps). The start/finish
// line spans the pit lane, so a car driving through the pit lane crosses
// it; Timing.PitFrom..PitTo is the part of it in the pit lane.
//
// Racing games give positions in metres, not latitude and longitude: a
// planar Timing (Timing.Planar) has its lines' ends as Points (the game
// world's x and z) and the lap detector reads the pos_x and pos_z
// channels. LineAcross and LineAcrossPlanar make a line from its middle,
// the lap direction and its width, with A on the driver's left by
// construction.
//
// # Deriving a track from a session
//
// Derive (`pitwall track derive LOG.csv`) writes a Timing from a recorded
// session's position fixes and the device's own lap markers: start/finish
// where the device timed its laps (fitted through the crossings, widened
// to the pit lane's where some are beside the others, that part becoming
// PitFrom..PitTo), or, without markers, on the straightest part of the
// first closed lap; sector lines at equal distances of a lap; each line
// narrowed until the log crosses it once per lap. Recorded-log readers
// (package edge/logs) hand it their fixes and markers; ReadFixesCSV reads
// the generic time,lat,lon[,lap] CSV.
//
// # Track files
//
// A track file is a Timing in YAML, read by LoadTiming and ParseTiming and
// written by MarshalTiming with a comment on every field (marshal.go);
// the format is documented beside them, in file.go: lines as two ends or as point + heading + width, WGS84 or
// planar, and optional lap-detection settings (Timing.Detection). `pitwall process --track NAME --print-track` writes a built-in
// track's as a starting point and `--track-file` reads one. Track files
// are outside input: every error wraps ErrInvalid and nothing panics
// (FuzzParseTiming).
package track
