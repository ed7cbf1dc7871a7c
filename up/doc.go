// Package up runs all of Pitwall in one process on one laptop, for
// `pitwall up` (and `make run`): an embedded broker, the simulator, the
// edge reading the simulator over a real pseudo-terminal serial link, the
// lap processor, and a live timing board fed from telemetry.laps.
//
// # Data flow
//
//	simulator ──serial line format──▶ pty (/dev/pts/N) ──▶ edge ──Kafka──▶ broker (temp dir or DataDir)
//	                                                                          │ telemetry, telemetry.channels
//	                                                       lap processor ◀────┘ (consumer group "pitwall-up")
//	                                                            │ laps ──▶ telemetry.laps ──▶ timing board (stdout)
//	                                                            └──────▶ InfluxDB (when InfluxURL is set)
//
// Every component is the real one, talking to the others exactly as it
// does when run on its own (`pitwall broker`, `sim`, `edge`, `process`):
// over the Kafka protocol on loopback, and over a pty the edge opens with
// tarm/serial. The simulator writes nothing until the edge has opened (and
// flushed) its end of the pty, so no frame is lost at the start and the
// laps on the board are the simulator's laps, numbered alike.
//
// The board reads telemetry.laps from the start (internal/topicread,
// once the lap processor created the topic), keeps the laps of this
// run (its session and its consumer group) and, when Stdout is a terminal,
// redraws a timing table in place: position, car, laps, last lap, best
// lap, sectors of the last lap, gap to the leader, top speed. Otherwise it
// prints one line per completed lap:
//
//	car01 lap 1 1:47.728 s1 35.120 s2 40.001 s3 32.607
//
// (with " pit" appended for a lap through the pit lane). With
// Config.Alarms the processor evaluates the alarm rules and the board
// follows telemetry.alarms too: a raised alarm marks its car's row with
// "!" in column 80 and is listed under the tower (RenderAlarms), or, not
// on a terminal, each alarm raised or cleared is a line (AlarmLine).
// Config.Faults go to the simulator. Laps stops Run
// once every car has completed that many laps; cancelling the context
// (Ctrl-C) stops it cleanly: the simulator, the edge (which hands the
// broker what it holds), the processor (which commits its offsets), then
// the broker (fsync, clean-shutdown markers). A temporary data directory
// is removed on the way out.
package up
