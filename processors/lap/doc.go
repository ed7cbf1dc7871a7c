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
// the sample period. A line counts again only after the debounce and once
// the car has been Config.ReArm metres away from it, so a car creeping
// across it with GPS noise crosses once; a start/finish crossing less than
// Config.MinLapFraction of a lap after the last one is ignored. Positions
// are projected on a plane tangent at start/finish; on a planar track
// (track.Timing.Planar, a racing game) they are the pos_x and pos_z
// channels, already on a plane.
//
// # Any GPS rate
//
// The limits follow the receiver: Detector.Period is the median interval
// between the fixes of the lap in progress (since the last start/finish
// crossing), and by default the debounce is the larger of 500 ms and 1.5
// periods and MaxGap the larger of 1 s and 2.5 periods: unchanged at 10
// and 25 Hz, 1.5 s and 2.5 s at 1 Hz (where MaxGap used to be 1 s, the
// very period, and every lap was invalid). Each lap's limits depend only
// on its own fixes, so restarting keeps laps identical. A track file's
// detection section (track.Timing.Detection) and then Config's fields
// (the flags of `pitwall process`) override them. The lap's period is
// its gps_period_s metric. Crossings are interpolated at any rate; in a
// gap longer than 250 ms (every interval at 1-4 Hz) by the speed
// odometer when the car has a speed channel faster than its GPS. The
// speed is the speed channel or, without one, gps_speed.
//
// # What the detector ignores, and broken lines
//
// Every crossing it does not act on is reported by Detector.Ignored with
// the reason (backwards, not_rearmed, debounce, too_short,
// before_first_lap). Detector.Problems reports, once per line, a line
// crossed only backwards (twice, half a lap apart: its ends are swapped;
// ErrLineBackwards) and a line not crossed in one and a half laps of
// driving (ErrLineNotCrossed). Distance for these is counted in 50 m
// steps, so a parked car's GPS noise drives nowhere.
//
// # The device's own laps
//
// Where the frames carry the source device's lap markers (channel
// device_lap: a logger's beacon, a game's lap counter, an imported log's
// lap column), a lap whose two crossings each have a marker within its
// MaxGap gets the time between those markers as Lap.DeviceNs, so Pitwall's
// laps can be compared with the device's. A restarted detector sees only
// markers from its first frame on, so the first lap after a restart may
// lack it when the device crossed its line before the detector's first
// fix.
//
// GPS dropouts: the chord between the fixes either side of a gap is
// searched too, with the line lengthened by half the chord so a chord that
// cuts a corner still finds it; the lap is timed by interpolation across
// the gap and marked not valid when a line fell in a gap longer than
// the lap's MaxGap. Gaps over ten seconds are not bridged (the chord could
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
// no pit lane, no line crossed in a long GPS gap), max_gps_gap_s,
// gps_period_s, and delta_car_best_s (lap time minus the car's best valid lap before it,
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
