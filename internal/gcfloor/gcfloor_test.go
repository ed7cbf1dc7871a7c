package gcfloor

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// childEnv names what a re-run of this test binary does instead of the
// tests (TestMain): "fault" or "nofault", see faultsAfterStart.
const childEnv = "GCFLOOR_TEST_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		os.Exit(m.Run())
	case "fault":
		fmt.Println(faultsAfterStart(true))
	case "nofault":
		fmt.Println(faultsAfterStart(false))
	}
	os.Exit(0)
}

// childFloor is the floor of the fault test's child processes.
const childFloor = 32 << 20

// faultsAfterStart starts a floor in a fresh process, then allocates
// and touches 24 MiB in 64 KiB pieces (below the floor: no collection
// needs to run), keeping none, as a service's first records do, and
// returns the page faults those allocations took.
func faultsAfterStart(fault bool) int64 {
	stop := start(childFloor, fault)
	defer stop()
	before := minorFaults()
	for range 24 << 20 / (64 << 10) {
		b := make([]byte, 64<<10)
		for i := 0; i < len(b); i += os.Getpagesize() {
			b[i] = 1
		}
		keep = b
	}
	keep = nil
	return minorFaults() - before
}

func minorFaults() int64 {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		panic(err)
	}
	return u.Minflt
}

// TestStartFaultsTheFloorIn runs faultsAfterStart in fresh processes
// (a test process's heap has grown already), with Start's faulting and
// without it.
func TestStartFaultsTheFloorIn(t *testing.T) {
	faults := func(mode string) int64 {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(slices.DeleteFunc(os.Environ(), func(e string) bool { return strings.HasPrefix(e, "GOGC=") }), childEnv+"="+mode)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("child %s: %v", mode, err)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
		if err != nil {
			t.Fatalf("child %s printed %q", mode, out)
		}
		return n
	}
	cold, warm := faults("nofault"), faults("fault")
	t.Logf("page faults allocating 24 MiB after start: %d without faulting the floor in, %d with", cold, warm)
	pages := int64(24<<20) / int64(os.Getpagesize())
	if cold < pages/2 {
		t.Fatalf("without faulting in: %d faults for %d fresh pages; the measure does not see the heap grow", cold, pages)
	}
	// Measured: 5,503 against 19; under the race detector, whose shadow
	// memory faults on its own, 16,700 against 6,200-6,400.
	limit := cold / 4
	if raceEnabled {
		limit = cold / 2
	}
	if warm > limit {
		t.Errorf("with the floor faulted in: %d faults, want at most %d (without: %d)", warm, limit, cold)
	}
}

func TestPercentFor(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		live, roots, floor uint64
		base, want         int
	}{
		{live: 4 * mib, floor: 32 * mib, base: 100, want: 700},                 // goal 4 + 4 x 7 = 32 MiB
		{live: 4 * mib, roots: 4 * mib, floor: 32 * mib, base: 100, want: 350}, // 4 + 8 x 3.5
		{live: 16 * mib, floor: 32 * mib, base: 100, want: 100},                // GOGC reaches it
		{live: 64 * mib, floor: 32 * mib, base: 100, want: 100},                // well above
		{live: 8 * mib, floor: 32 * mib, base: 200, want: 300},                 // from a GOGC of 200
		{live: 12 * mib, floor: 32 * mib, base: 200, want: 200},                // 36 MiB already
		{live: 1 << 10, floor: 32 * mib, base: 100, want: 800},                 // the minimum heap: 4 MiB x 8
		{live: 1 << 10, floor: 256 * mib, base: 100, want: 2000},               // capped
		{live: 0, floor: 32 * mib, base: 100, want: 100},                       // nothing measured
	} {
		if got := percentFor(tc.live, tc.roots, tc.floor, tc.base); got != tc.want {
			t.Errorf("percentFor(%d, %d, %d, %d) = %d, want %d", tc.live, tc.roots, tc.floor, tc.base, got, tc.want)
		}
	}
}

// read returns the GC percent and the heap goal in effect.
func read() (percent, goal uint64) {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/heap/goal:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

// waitFor collects until cond holds: the tuner adjusts after collections.
func waitFor(t *testing.T, what string, cond func(percent, goal uint64) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		runtime.GC()
		p, g := read()
		if cond(p, g) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: GC percent %d, heap goal %d MiB", what, p, g>>20)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var keep []byte

func TestFloorFollowsTheLiveHeap(t *testing.T) {
	if p, _ := read(); p != 100 {
		t.Fatalf("GC percent %d at the start, want 100 (is GOGC set?)", p)
	}
	const floor = 64 << 20
	stop := Start(floor)
	defer stop()
	// A small live heap: the goal is raised to about the floor.
	waitFor(t, "a small live heap", func(p, g uint64) bool { return p > 100 && g >= floor*9/10 && g <= floor*11/10 })

	// A live heap larger than half the floor: GOGC's own 100 again.
	keep = make([]byte, 48<<20)
	waitFor(t, "a live heap of 48 MiB", func(p, g uint64) bool { return p == 100 && g >= 96<<20 })
	keep = nil
	waitFor(t, "the 48 MiB let go", func(p, g uint64) bool { return p > 100 })

	stop()
	runtime.GC()
	if p, _ := read(); p != 100 {
		t.Errorf("GC percent %d after stop, want 100 back", p)
	}
	// Stopped: later collections leave the percent alone.
	for range 3 {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if p, _ := read(); p != 100 {
		t.Errorf("GC percent %d collections after stop, want 100", p)
	}
}

func TestGOGCFromTheEnvironmentWins(t *testing.T) {
	t.Setenv("GOGC", "100")
	stop := Start(64 << 20)
	defer stop()
	for range 3 {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if p, _ := read(); p != 100 {
		t.Errorf("GC percent %d with GOGC set, want it left at 100", p)
	}
}
