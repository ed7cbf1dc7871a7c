// Package timing is the timing sheet: the laps on telemetry.laps read
// back (`pitwall laps`), filtered to one timing, car or session, and
// written as an aligned table, CSV or JSON Lines.
//
// # Data flow
//
//	telemetry.laps ──topicread.ReadToEnd──▶ Filter (group header, car, session) ──▶ sorted by end time ──▶ backlog
//	               ──topicread.Follow, from where the backlog ended (--follow)──▶ each new lap as it comes
//	Row ──Writer (table | csv | json)──▶ stdout
//
// # Groups: one timing of the log
//
// Every record on telemetry.laps carries the consumer group that timed it
// in the header processors.HeaderGroup. Re-timing the retained log with
// changed lines means running a new group (`pitwall process --group
// pitwall-laps-v2 --track-file new.yaml`), which produces every lap again
// beside the old group's; Filter.Group (`pitwall laps --group G`) reads
// one timing. Without it, laps of every group are read, each row naming
// its group.
//
// Columns: group, car, session, lap, end (UTC), time (m:ss.mmm), valid,
// pit, device (the source device's own lap time, Lap.DeviceNs) and diff
// (Pitwall's time minus the device's), sectors (s.mmm). CSV has the same
// with times in seconds at full precision, JSON one object per lap with
// the metrics too.
package timing
