// Package pipelinetest holds what the end-to-end tests of the pipeline
// share across packages (processors' and cmd/pitwall's): the simulator
// writing over a real pty into an edge, the simulator's truth, the laps
// read back from telemetry.laps, and the check of one against the other.
//
//	run := pipelinetest.SimulateOverPTY(t, simulator.Config{...}, brokers) // simulator → pty → edge → brokers
//	truth := pipelinetest.LapsUpTo(run.Truth(t), laps)                    // waits for the simulator
//	got, err := pipelinetest.ReadLaps(t, client, codec, group)             // telemetry.laps, group's, sorted
//	pipelinetest.CheckTruth(t, got, truth)
package pipelinetest
