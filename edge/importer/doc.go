// Package importer is `pitwall import`: it reads recorded logs (package
// edge/logs) and produces them into the broker the way the edge produces
// what it reads from a car: the car's channel catalog first, on the
// compacted telemetry.channels, then its frames on telemetry, keyed by
// car (murmur2 partitioner), with sarama's idempotent producer and
// acks=all, the frames keeping their original sensor times. The lap
// processor then times them like any other car's.
//
// # Data flow
//
//	FILE ──os.ReadFile──▶ logs.Read ──▶ catalog + frames (seq 0, 1, ... in time order)
//	     ──sha256(file, car, session, format, map)──▶ import id
//	telemetry.imports[id] ──done──▶ "already imported", nothing sent
//	                      ──started──▶ resume: the car's partition of telemetry, read from
//	                                   the offset the start recorded, gives the last seq of
//	                                   this import there; sending goes on after it
//	                      ──none──▶ record started {partition, start offset}
//	catalog ──▶ telemetry.channels (acks=all, waited for)
//	frames  ──▶ telemetry (header "import" = id), paced to --speed, progress on stderr
//	rows the reader skipped ──▶ telemetry.deadletter (key import:FILE, headers reason, source, line, error)
//	all acknowledged ──▶ telemetry.imports[id] = done
//
// # Importing twice doubles nothing
//
// The import id is a hash of the file's bytes and of everything that
// shapes its frames (car, session, format, column map), and the frames'
// sequence numbers are their index in the file, so the same import
// always produces the same frames. Its state is kept on the compacted
// topic telemetry.imports (telemetry.TopicImports), keyed by the id: a
// JSON Record saying started (with the car's partition and the offset it
// had before the first frame) or done. A second import of a done file
// sends nothing. An interrupted one (Ctrl-C, a crash, a broker gone)
// finds its started record, reads the car's partition from the recorded
// offset for frames carrying its id, and sends only the frames after the
// last one there: the idempotent producer keeps one partition's records
// in order without duplicates, so what reached the log is a prefix of
// what was sent. The lap processor also skips a frame whose seq and time
// are not after the last it timed, so laps are not doubled even if the
// same frames were produced twice by other means.
//
// Record timestamps are the time of the import (as the edge stamps
// frames with its receive time), not the sensor time: a log recorded
// last month must not fall straight out of the topic's retention.
//
// # Pacing and progress
//
// Config.Speed 0 sends as fast as the broker takes it; 1 replays the
// session in real time (each frame at its original offset from the first),
// so dashboards animate as if the car were on track; 2 twice as fast.
// Progress goes to Config.Progress: a bar redrawn in place on a terminal,
// a plain line every 10% otherwise.
package importer
