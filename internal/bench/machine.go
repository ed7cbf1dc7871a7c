package bench

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"time"
)

// machineCPU is the whole machine's CPU time by kind, summed over its
// CPUs, and its context switches, since boot (/proc/stat).
type machineCPU struct {
	ok                                bool
	cpus                              int
	user, system, iowait, idle, steal int64 // ticks
	contextSwitches                   int64
	waits                             threadWaits // every thread's run-queue delay
}

// readMachineCPU reads /proc/stat; ok is false where there is none.
func readMachineCPU() machineCPU {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machineCPU{}
	}
	m := parseProcStat(b)
	m.waits = readThreadWaits(0)
	return m
}

// parseProcStat reads the "cpu" line (user nice system idle iowait irq
// softirq steal ...), counts the "cpuN" lines and takes "ctxt". Time in
// irq and softirq counts as system time, nice as user time.
func parseProcStat(b []byte) machineCPU {
	var m machineCPU
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch {
		case f[0] == "cpu" && len(f) >= 9:
			v := make([]int64, 8)
			for i := range v {
				n, err := strconv.ParseInt(f[i+1], 10, 64)
				if err != nil {
					return machineCPU{}
				}
				v[i] = n
			}
			m.user, m.system, m.idle, m.iowait, m.steal = v[0]+v[1], v[2]+v[5]+v[6], v[3], v[4], v[7]
			m.ok = true
		case strings.HasPrefix(f[0], "cpu") && len(f[0]) > 3:
			m.cpus++
		case f[0] == "ctxt" && len(f) == 2:
			m.contextSwitches, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	m.ok = m.ok && m.cpus > 0
	return m
}

// Machine is how busy the whole machine was over the steady part of the
// load (from a tenth of it to its end), every process counted: Pitwall,
// the load, InfluxDB, the kernel. Percentages are of all its CPUs' time.
type Machine struct {
	CPUs      int     `json:"cpus"`
	BusyPct   float64 `json:"busy_pct"` // user and system: neither idle, waiting for the disk nor stolen
	UserPct   float64 `json:"user_pct"`
	SystemPct float64 `json:"system_pct"` // the kernel, interrupts included
	IOWaitPct float64 `json:"iowait_pct"`
	StealPct  float64 `json:"steal_pct"` // taken by the hypervisor, where it says
	// ContextSwitchesPerS is the kernel's count of context switches, per second.
	ContextSwitchesPerS float64 `json:"context_switches_per_s"`
	// WaitingThreads is how many threads were runnable but waiting for a
	// CPU on average, every thread of every process counted (their
	// run-queue delay, /proc/PID/task/TID/schedstat); -1: not known. Far
	// above 0, the machine has more ready work than CPUs whatever its
	// busy percentage says, and every stage's latency includes the wait.
	WaitingThreads float64 `json:"waiting_threads"`
}

// machineBetween is the machine's use from a to b, dt apart; nil when
// either reading failed.
func machineBetween(a, b machineCPU, dt time.Duration) *Machine {
	if !a.ok || !b.ok || dt <= 0 {
		return nil
	}
	user, system, iowait, idle, steal := b.user-a.user, b.system-a.system, b.iowait-a.iowait, b.idle-a.idle, b.steal-a.steal
	total := float64(user + system + iowait + idle + steal)
	if total <= 0 {
		return nil
	}
	pct := func(n int64) float64 { return 100 * float64(n) / total }
	return &Machine{CPUs: b.cpus, BusyPct: pct(user + system), UserPct: pct(user), SystemPct: pct(system),
		IOWaitPct: pct(iowait), StealPct: pct(steal),
		ContextSwitchesPerS: float64(b.contextSwitches-a.contextSwitches) / dt.Seconds(),
		WaitingThreads:      waitingThreads(a.waits, b.waits, dt)}
}
