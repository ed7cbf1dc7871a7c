// Package processors runs the lap processor: a sarama consumer group on
// the telemetry topic that times every car's laps (package lap), writes lap
// points and downsampled channels to InfluxDB (package influx) and
// produces Lap records to telemetry.laps.
//
// # Data flow
//
//	telemetry.channels ──tail (all partitions, internal/topicread)──▶ catalogs (car → ChannelCatalog)
//	telemetry ──ConsumerGroup──▶ one goroutine per claimed partition (sarama's ConsumeClaim)
//	    Frame ──▶ per car: lap.Detector ──Lap──▶ batch ──▶ InfluxDB "lap"
//	                                           └──▶ SyncProducer (idempotent, acks=all) ──▶ telemetry.laps
//	          └─▶ per car: influx.Downsampler ──▶ batch ──▶ InfluxDB "telemetry" (mean/min/max, 10 Hz)
//	          └─▶ per car: alarm.Car (Config.Alarms) ──Alarm──▶ InfluxDB "alarms" and telemetry.alarms (with the laps)
//	every FlushInterval: laps acknowledged ▶ batch to the partition's InfluxDB writer ▶ InfluxDB accepted ▶ MarkOffset
//
// The partitions write to InfluxDB through one writer goroutine per
// processor (influxWriter), each partition with one batch in flight: a
// partition goes on consuming and timing while its previous batch is
// written, and hands the points it gathered meanwhile over at the first
// flush after that write; the batches waiting when a write starts go in
// one request, so InfluxDB gets few, big requests (it spends about as
// much CPU per request as on 100 KB of points). A batch carries the
// offset mark computed when it was cut; the writer marks it only once
// InfluxDB accepted the batch (and everything its partition held before
// it).
//
// The group, the catalogs tail and the laps producer each have their own
// sarama client: sarama sends one request at a time per broker connection
// (the idempotent producer needs that), so on a shared client every idle
// long-poll fetch held back the group's fetches, heartbeats and commits.
// At the start of every group session (Setup) the runner fetches the
// committed offset metadata of all its claims in one request and reads
// telemetry.laps once, to its end (internal/topicread); the claims share
// that. Run creates telemetry.laps and telemetry.deadletter first, with
// the settings of telemetry.Topics (internal/admin).
//
// # Starting before the edge, and bad input
//
// The processor may start first: a broker that does not answer, and the
// topics telemetry and telemetry.channels before an edge created them,
// are waited for (logged once). A failure it cannot wait out (the
// catalogs tail failing, a track with a line crossed only backwards,
// lap.ErrLineBackwards) ends Run with an error, so `pitwall process`
// exits non-zero; Run returns nil only when its context ends. A line no
// car crosses (lap.ErrLineNotCrossed) is warned about once.
//
// A record of telemetry that is no Frame, or a Frame of a car whose
// channel catalog has not come, cannot be timed. The first frame of such
// a car waits Config.CatalogWait (wall time) for the catalog, holding its
// partition back; then it, and every later frame of the car until the
// catalog comes, goes raw to telemetry.deadletter (key and source
// header "process:<group>", reason header no_catalog, or unknown_format,
// unknown_schema, wrong_schema, corrupt, invalid for records that do
// not decode; headers error, topic, partition, offset, car) and the
// partition moves on. Dead letters are produced with the laps and
// acknowledged before the offset passes them; the offset metadata keeps
// a catalog-less car's last dead letter, so a restart does not send its
// frames again. Each kind is counted, logged once, and the counts again
// when Run ends.
//
// Each lap produced is logged at INFO (car, lap, time, valid, pit); each
// line crossing a detector ignores (lap.Ignored: backwards, not_rearmed,
// debounce, too_short, before_first_lap) at DEBUG, and counted by reason
// (logged when Run ends).
//
// Config.Written observes the pipeline from the outside: it is called
// after each write InfluxDB accepted, with how far every car's frames are
// in it (BenchmarkSampleToInflux measures sample-to-InfluxDB latency with
// it).
//
// Cars are keyed by id, so a car's frames are on one partition, in order,
// and its state lives in exactly one goroutine. Without an InfluxDB
// (Config.Influx nil) laps still go to telemetry.laps.
//
// # Alarms
//
// With Config.Alarms (`--alarms FILE`, package alarm) every car's frames
// are also held to the rules: each alarm raised or cleared is logged
// (INFO), produced to telemetry.alarms (key car, HeaderGroup header) with
// the laps, acknowledged before the offset passes its frame, and written
// to InfluxDB's alarms measurement (influx.MeasurementAlarms), with a
// point a second while it stays raised. A rule that matches no channel
// of a car is warned about once. Alarms are evaluated in sensor time, so
// a replay raises the same alarms at the same times; after a restart the
// re-read frames (up to a lap) raise theirs again, and an alarm raised
// before the restart point is raised again with a later since_ns.
//
// # Restart after a crash or a rebalance: re-read from the lap boundary
//
// There is no state topic: a car's state at a lap boundary is rebuilt from
// the log itself. The lap detector is deterministic and a lap uses only its
// own frames (package lap), so a detector started at the last GPS fix
// before a start/finish crossing times every lap from that crossing on
// exactly as the uninterrupted one did. Each car's restart offset is the
// first record of the downsampling window holding that fix (so the
// window's point is rebuilt whole, too); before its first crossing, the
// window of its latest fix.
//
// At every flush, once telemetry.laps acknowledged the laps and InfluxDB
// accepted the points, the partition marks the smallest restart offset
// of its cars, with the partition's position (everything before it is
// processed and accepted) and every car's own restart offset in the commit
// metadata ("pw1 @5000 car01=123 car02=456", telemetry.OffsetMeta). The
// committed offset therefore trails the position by up to a lap of
// records: `pitwall groups describe` shows that as IN-LAP and only what is
// not processed yet as LAG; Kafka's own tools see the whole distance from
// the committed offset as lag. A processor that claims the partition
// (after a crash, a rebalance, or a restart) fetches that metadata, reads
// from the committed offset, skips each car's records before the car's own
// restart offset, and reads telemetry.laps for the cars of the partition:
// those laps give the detector its lap numbers and best laps (lap.Restore)
// and are not produced again. InfluxDB points are keyed by car, session
// and time, so re-written points overwrite themselves. Hence no lap is
// lost (offsets never pass an unfinished lap) or counted twice (laps
// already on telemetry.laps are recognised). The price is re-reading up
// to one lap per car after a restart. A car silent for Config.StaleAfter
// (sensor time) no longer holds the offset back.
//
// delta_session_best_s, written to InfluxDB only, is the delta to the best
// lap of the session this processor knew when it timed the lap (its own and
// those read from telemetry.laps when it claimed its partitions); unlike
// everything on telemetry.laps it depends on timing between processors.
//
// # Reprocessing
//
// Offsets start at the oldest record for a new group, so running a new
// group over the retained log times every lap again and produces it again.
// Every record on telemetry.laps carries the producing group in the header
// HeaderGroup, and a processor dedupes only against its own group's laps.
// To apply changed sector or start/finish lines: write the track as a file
// (`pitwall process --track monza --print-track > monza.yaml`, format in
// package track), move the lines, run a new group with it
// (`pitwall process --track-file monza.yaml --group pitwall-laps-v2`), and read the new
// group's laps (by header) or point it at a new InfluxDB bucket; the old
// group's laps stay as they were.
package processors
