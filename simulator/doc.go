// Package simulator simulates race cars on real tracks and emits their
// sensor data on the wires a car's logger uses, so every part of Pitwall can
// be developed, tested and benchmarked without a car, and a new user sees it
// work with one command (`pitwall sim`).
//
// # Model and data flow
//
//	track.Lookup(Config.Track) ──▶ track.Track (centreline, curvature, bumps, lines, pit lane)
//	car model + driver ──speedProfile──▶ fastest speed per metre for this lap
//	Sim.Step (1 ms tick): each car advances ──▶ crossings ──▶ truth laps (telemetry.Lap)
//	                      channels due now ──▶ value + noise, dropout, glitch ──▶ telemetry.Frame
//	Run: Frames ──▶ output (serial lines | SLCAN | MQTT | Kafka), paced to --speed
//
// The circuits, their timing lines and their geometry live in package
// track, which the lap processor reads too, so the simulator's truth and
// the processor's laps are timed on the very same lines.
//
// A car follows a speed profile: the corner speed its grip (plus downforce)
// allows, then a forward pass with its acceleration (power minus drag) and
// a backward pass with its braking, so it brakes in time for every corner.
// Each car has its own driver, who uses a little less of the grip and power
// and varies from lap to lap; the profile is recomputed every lap. Pedals,
// gear, revs, accelerations, wheel speeds, dampers, tyre, brake, oil and
// water temperatures, tyre pressures, fuel and battery follow from the
// motion. Cars start standing on a grid behind start/finish; every
// PitEvery-th lap ends in the pit lane with a stop at the box (fuel, tyres).
//
// # Timing truth
//
// A lap runs from one start/finish crossing to the next; the crossing time
// is interpolated within the 1 ms tick in which the car passes the line, the
// same way a lap processor interpolates between GPS fixes, and GPS fixes lie
// exactly on the car's path (plus GPSNoise). The start/finish line spans the
// pit lane, so laps through the pit lane count too. Sector times are the
// differences of the line crossings and sum exactly to the lap time. The
// test TestTruthMatchesGPSCrossings holds GPS line detection to the truth.
//
// # Channels
//
// The standard set (StandardChannelCount channels, named as in
// telemetry/channels.go) runs at club/GT rates from 1 Hz (fuel, battery) to
// 1 kHz (vertical acceleration); GPS at 25 Hz by default. Config.Channels
// scales a car up with aux_NNN channels at AuxRateHz for load tests. Values
// are rounded to each sensor's resolution (so text and CAN encodings are
// exact) and saturate at the channel's range. Noise is small; a dropout
// silences one sensor, or the GPS receiver, for 0.2-3 s; a glitch rails one
// sample at the sensor's range limit. GPS and fuel level never glitch and
// fuel has no noise (a logger's fuel level is filtered), so fuel never rises
// except during a pit stop.
//
// # Faults (Config.Faults, pitwall sim --fault)
//
// A car can be given a fault from the start of a lap, for alarm rules to
// be tested on: FaultOverheat (water climbing 2 degC/s to 135, oil
// pressure sagging to 30% over 40 s) or FaultPuncture (one tyre losing
// 0.015 bar/s to 0.6 bar, running hotter, 4% less grip). The car's next
// pit stop fixes it. Config.FaultTruth records when each fault began
// and was fixed (WriteFaultTruthHeader). Faults draw no random numbers,
// so the other cars' bytes do not change.
//
// # Outputs (Config.Out, pitwall sim --out)
//
//   - serial:PATH[?baud=N]: the serial line format of telemetry/doc.go,
//     $PWC channel lines for every car first and again every 5 s of sensor
//     time, then $PWF frame lines. PATH "-" is stdout; a character device
//     (a serial port, one end of a socat pty pair) is put in raw mode at
//     the baud rate (default 115200); anything else is a file.
//   - slcan:PATH: one car's CAN bus through a Lawicel SLCAN adapter: frames
//     "tIIIL<data>[TTTT]\r" encoded per pitwall.dbc (embedded as DBC); a
//     message goes out whenever one of its channels is sampled. It answers
//     the host's commands (O, C, Sn, Zn, V, N, F; unknown ones with BEL,
//     logged once) and starts open with timestamps on.
//   - mqtt://HOST:PORT/PREFIX[?qos=N]: Avro frames on PREFIX/CAR/frames
//     (QoS 0, or N), the catalog retained on PREFIX/CAR/channels (QoS 1).
//     Prefix default "pitwall". With qos=1 the broker queues frames for an
//     edge whose persistent session is away (restarting) instead of
//     dropping them. mqtts:// is the same over TLS (?ca=FILE, ?cert= and
//     ?key=), logging in with the URL's user and its password or
//     Config.MQTTPassword or $PITWALL_MQTT_PASSWORD.
//   - kafka://HOST:PORT/TOPIC: sarama (TLS and SASL as Config.Security says), acks=all, key = car id, partitioned
//     by telemetry/partitioner; catalogs on telemetry.channels (created
//     compacted if missing). Topic default "telemetry". Record timestamps
//     are the producer's wall clock, as the edge's would be.
//
// With Config.PTY, Run creates a pseudo-terminal pair, writes the serial or
// SLCAN output to it and prints the path the edge opens on Config.Stdout.
// The pty buffers what is written before the edge opens it: the edge
// should flush its input after opening. At Speed 0 the output's
// backpressure (a full pty, the broker's acks) paces the simulation.
//
// Same Config, same bytes: every random choice comes from a per-car PCG
// seeded from Config.Seed, cars are stepped in order, no map order or wall
// clock reaches the data, and sensor time starts at DefaultEpoch unless
// Config.Start is set.
package simulator
