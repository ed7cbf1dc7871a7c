package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/internal/bench"
)

func benchCmd(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = benchMain(t.Context(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestBenchEmbeddedJSON(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir()) // the embedded broker's data dir goes here
	out, _, err := benchCmd(t, "produce", "--records", "2000", "--partitions", "3", "--clients", "2", "--acks", "1", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep bench.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json output does not decode: %v\n%s", err, out)
	}
	if rep.Workload != bench.Produce || rep.Acks != "1" || rep.Fsync != "batch" || len(rep.Results) != 2 || rep.Ratio == nil {
		t.Fatalf("report %+v", rep)
	}
	for i, target := range []string{bench.TargetPitwall, bench.TargetKfake} {
		r := rep.Results[i]
		if r.Target != target || r.Records != 2000 || r.Bytes != 2000*1024 || r.MBPerSec <= 0 || r.P99Ms == nil {
			t.Errorf("result %d: %+v, want %s with 2000 records, 2048000 bytes", i, r, target)
		}
	}
}

func gcPercent() int {
	old := debug.SetGCPercent(-1)
	debug.SetGCPercent(old)
	return old
}

func TestBenchConsumeTableAgainstBrokers(t *testing.T) {
	b := brokertest.Start(t)
	gogc := gcPercent()
	out, _, err := benchCmd(t, "consume", "--brokers", b.Addr, "--records", "2000", "--partitions", "3", "--peer", "none")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "pitwall bench consume: 1024-byte records, acks=all, 3 partitions") {
		t.Errorf("title %q", lines[0])
	}
	// The generator ran at GOGC 400 (unless the environment chose), and
	// the process got its own setting back afterwards.
	if _, set := os.LookupEnv("GOGC"); !set && !strings.HasSuffix(lines[0], ", GOGC 400") {
		t.Errorf("title %q, want GOGC 400 with --brokers", lines[0])
	}
	if got := gcPercent(); got != gogc {
		t.Errorf("GC percent %d after the run, want %d back", got, gogc)
	}
	want := map[string]string{"address": b.Addr, "records": "2000"}
	seen := 0
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if v, ok := want[f[0]]; ok {
			seen++
			if len(f) != 2 || f[1] != v {
				t.Errorf("line %q: want %s %s", l, f[0], v)
			}
		}
	}
	if seen != len(want) || !strings.Contains(out, "\nMB/s ") || !strings.Contains(out, "\nfill MB/s ") {
		t.Errorf("table misses rows:\n%s", out)
	}
}

func TestBenchFlagErrors(t *testing.T) {
	if _, _, err := benchCmd(t, "produce", "--acks", "2"); err == nil || !strings.Contains(err.Error(), `--acks "2"`) {
		t.Errorf("--acks 2: %v", err)
	}
	if _, _, err := benchCmd(t); err == nil || !strings.Contains(err.Error(), "want exactly one workload") {
		t.Errorf("no workload: %v", err)
	}
	_, stderr, err := benchCmd(t, "-h")
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr, "usage: pitwall bench") {
		t.Errorf("-h: %v, stderr %q", err, stderr)
	}
	_, stderr, err = benchCmd(t, "failover", "-h")
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr, "usage: pitwall bench failover") {
		t.Errorf("failover -h: %v, stderr %q", err, stderr)
	}
	if _, _, err := benchCmd(t, "failover", "--kills", "0"); err == nil || !strings.Contains(err.Error(), "--kills") {
		t.Errorf("failover --kills 0: %v", err)
	}
}
