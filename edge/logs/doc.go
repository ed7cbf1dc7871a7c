// Package logs reads recorded sessions — the CSV exports of lap timers
// and data loggers — into Pitwall's data model, for `pitwall import`
// (package edge/importer produces what it reads). It does no I/O of its
// own beyond the reader it is given and imports no network client.
//
// # Data flow
//
//	file ──Sniff (first 4 KiB)──▶ Format (racechrono | trackaddict | aim | csv)
//	     ──Read──▶ per-format header parser: columns → channels (names, units, scale)
//	               rows ──▶ builder: one sample per non-empty cell, at the row's time
//	                        lap column / beacon markers ──▶ device_lap samples
//	                        bad rows ──▶ counted per kind (Log.Bad), first of each kept
//	     ──▶ Log: one ChannelCatalog and the Frames of one car, in time order
//
// # Formats
//
//   - racechrono: RaceChrono's CSV export, format 3. A preamble ("This
//     file is created using RaceChrono ...", Format,3, Session title,
//     Track name, Created, ...) up to a blank line, then three header
//     rows: names (timestamp, fragment_id, lap_number, elapsed_time,
//     distance_traveled, ..., latitude, longitude, speed, ...; names may
//     repeat, e.g. speed from the GPS and from OBD), units (unix time, s,
//     m, deg, m/s, G, ...) and sources (100: gps, calc, 200: obd). Rows of
//     different sources interleave and leave the other sources' cells
//     empty. timestamp is Unix seconds. lap_number is empty before the
//     first crossing; RaceChrono writes a row at the very time it saw the
//     line, where lap_number changes, its timestamp rounded to the
//     millisecond but its elapsed_time to 10 µs: a row whose elapsed_time
//     is finer than the millisecond is read at that finer time. With a
//     1 Hz receiver (a phone) beside faster sources, the GPS cells of the
//     rows between two fixes are RaceChrono's interpolation along the
//     chord between them, read as fixes like any other.
//   - trackaddict: TrackAddict's RaceRender CSV. "# " comment lines (the
//     "# RaceRender Data: TrackAddict ..." banner, "# Lap N: H:MM:SS.mmm",
//     "# Pit Lane Entry", "# Session End"), one header row ("Time", "UTC
//     Time", "Lap", ..., "GPS_Update", "Latitude", "Longitude", "Altitude
//     (m)", "Speed (Km/h)" or "Speed (MPH)", "Heading", "Accuracy (m)",
//     "Accel X", ...) and rows at the accelerometer's rate. GPS cells are
//     taken only from rows with GPS_Update=1 (the others repeat the last
//     fix). Time is "UTC Time" (Unix seconds) where present, else "Time"
//     (seconds from the start). The Lap column counts laps (0: the out
//     lap); a row where it changes is a lap marker. The app changes it
//     on the first GPS fix after it timed a crossing (up to a second late
//     on a 1 Hz phone) and writes its interpolated lap time just before
//     that row ("# Lap N: H:MM:SS.mmm"): a run of markers whose laps have
//     such times is chained by them and moved back as a whole until no
//     marker is after its row, so the markers' gaps are the app's own lap
//     times (a time more than 5 s from its row breaks the run). "# Pit
//     Lane Entry" and "# Pit Lane Exit" become the pit_limiter channel (1
//     and 0 at the next row), so the lap processor marks the laps that
//     touched the pit lane as pit laps, as it does for a car's limiter.
//   - aim: AiM Race Studio's CSV export. Every cell quoted; key/value rows
//     ("Format","AiM CSV File", "Session", "Vehicle", "Racer", "Date",
//     "Time", "Sample Rate", "Duration", "Beacon Markers" (the times, in
//     seconds from the start, where laps end) and "Segment Times" (the lap
//     times)), then the names row ("Time", "GPS Speed", "GPS Latitude",
//     ...) and the units row; one rate for every channel. The start is the
//     Date and Time rows (read as UTC). A beacon at the end of the
//     recording (Duration) closes the last segment and is not a crossing.
//   - csv: any CSV with a header row. Columns are found by name (time, t,
//     timestamp; lat, latitude; lon, lng, longitude; x, z; speed;
//     gps_speed; heading; lap, lap_number, lap_marker) or named by
//     Options.Map (--map time=Time,lat=Latitude,...). time is seconds (any
//     epoch) or RFC 3339. A units row under the names (no cell a number)
//     gives channels their units and converts a speed to km/h.
//
// Every other numeric column becomes a channel of its own, its name
// folded to Pitwall's rules (lower case, [a-z0-9_.]); well-known columns
// get Pitwall's standard names and units (gps_lat, gps_lon, gps_speed in
// km/h, gps_heading, speed, rpm, throttle, g_lat, g_long, ...), so the lap
// processor and the dashboards find them. A channel's id is a hash of its
// name (below 2^20), the same in every log: the lap processor decodes a
// car's frames with the car's latest catalog, which after importing
// several files may be another file's.
//
// # Lap markers
//
// The device's own lap timing is kept as the channel device_lap
// (telemetry.ChanDeviceLap): one sample at each time the device timed a
// start/finish crossing, valued with the number of the lap that starts
// there. The lap processor pairs them with its own crossings (Lap.DeviceNs)
// and `pitwall laps` prints both. A marker is a frame of its own, 1 ns
// before any row at its very time (RaceChrono writes its crossing row at
// the millisecond of a GPS row now and then): the lap detector handles a
// frame's position before its other samples, and would not yet know a
// marker that came in the frame whose fix completes the crossing.
//
// # Bad rows
//
// A row that cannot be read (BadTime: a time that is not a time;
// BadValue: a cell that is not a finite number; BadRow: broken CSV) and
// an AiM beacon that is not a time (BadMarker) are skipped and counted in
// Log.Bad under their kind, with the first one's line number and error
// kept; the rest of the file is read. Rows are put in time order (sources
// interleave), rows at one time become one frame, and at most MaxRows are
// read. A file whose header cannot be understood, or with no readable
// row, is an error (ErrFormat).
package logs
