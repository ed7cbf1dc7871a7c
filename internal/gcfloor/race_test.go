//go:build race

package gcfloor

// raceEnabled: the race detector maps shadow memory for the heap on its
// own and maps it afresh for new allocations, which faults pages Start
// cannot fault in.
const raceEnabled = true
