// Package lap finds laps and sectors in one car's frames and computes each
// lap's metrics. It is pure: no I/O, no clock, no goroutines; the same
// frames give the same laps, which is what lets the runner (package
// processors) replay the log after a crash and get identical laps.
//
// # Data flow
//
//	ChannelCatalog ──NewChannels──▶ Channels (id → role)
//	Frame ──Detector.Frame──▶ GPS fix ──line crossings──▶ sector / start-finish times
//	                     └──▶ other samples ──▶ metrics of the lap in progress
//	start/finish crossing ──▶ telemetry.Lap (times, sectors, metrics)
//
// # Timing
//
// A line (track.TimingLine) is crossed when the segment between two
// consecutive GPS fixes intersects it, moving in the lap direction (A on
// the driver's left: a crossing within 90° of the lap direction); the
// crossing time is interpolated linearly along the segment, so at 10 Hz the
// error is the curvature of the path within 100 ms (well under 5 ms), not
// the sample period. A line counts again only after Config.Debounce and once
// the car has been Config.ReArm metres away from it, so a car creeping
// across it with GPS noise crosses once; a start/finish crossing less than
// Config.MinLapFraction of a lap after the last one is ignored. Positions
// are projected on a plane tangent at start/finish.
//
// GPS dropouts: the chord between the fixes either side of a gap is
// searched too, with the line lengthened by half the chord so a chord that
// cuts a corner still finds it; the lap is timed by interpolation across
// the gap and marked not valid when a line fell in a gap longer than
// Config.MaxGap. Gaps over ten seconds are not bridged (the chord could
// cut across the circuit).
//
// A car's first lap starts at its first start/finish crossing: whatever
// came before (the grid, a log that starts mid-lap) is no lap. Sector
// crossings before it are ignored. With Config.Beacon set and present in
// the catalog, a rising edge of the beacon is the start/finish crossing and
// GPS times the sectors only.
//
// Pit lane: the start/finish line spans the pit lane; a crossing in its pit
// part (Config.Track's PitFrom..PitTo) marks both the in-lap and the out-lap, and so
// does the pit_limiter channel being on at any time in a lap. Pit laps are
// never valid.
//
// # Metrics
//
// Each lap carries, as telemetry.Metric in this order when the car has the
// channel: top_speed, min_speed, avg_speed (km/h), full_throttle_pct,
// braking_pct, gear_shifts, fuel_used (l; refuelling is not use),
// max_g_lat, tyre_temp_<wheel>_avg and _max (degC, the three zones
// together), distance_m (GPS distance), valid (1 or 0: every sector timed,
// no pit lane, no line crossed in a long GPS gap), max_gps_gap_s, and
// delta_car_best_s (lap time minus the car's best valid lap before it,
// absent for the first). Values at a channel's range limit (how a
// glitching sensor reads) are left out of maxima and minima. Metrics use
// only the frames of their own lap, so a lap is the same however the
// detector came to it. Detector.Live gives the live delta of the lap in
// progress to the car's best lap, by distance along the lap on a
// Config.DeltaStep grid; Detector.Distance gives that distance itself.
//
// # Restarting
//
// A Detector started at any GPS fix before a start/finish crossing, and
// told with Restore which laps were already published, produces from that
// crossing on exactly the laps an uninterrupted detector did: the number
// comes from the known lap starting (or ending) at the same, identically
// interpolated, crossing time, and the deltas from the known laps. Only the
// live delta lacks its reference until the restarted detector has timed a
// valid lap of its own.
//
// # Tracks
//
// Config.Track is a track.Timing: the lines of a built-in track (the very
// lines the simulator's truth is timed on) or of a track file. Package
// track owns both and imports no other Pitwall package, so lap depends on
// neither the simulator nor any network client.
package lap
