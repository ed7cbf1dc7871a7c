package bench

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runningFrom lists the pids of the processes running the executable bin.
func runningFrom(t *testing.T, bin string) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && exe == bin {
			pids = append(pids, pid)
		}
	}
	return pids
}

// partitionBytes sums the sizes of the files of topic's partition p
// under a broker's data directory.
func partitionBytes(t *testing.T, dataDir, topic string, p int) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(filepath.Join(dataDir, "topics", topic, strconv.Itoa(p)), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if info, err := d.Info(); err == nil && !d.IsDir() && filepath.Ext(path) == ".log" {
			n += info.Size()
		}
		return nil
	})
	if err != nil {
		t.Errorf("%s partition %d: %v", dataDir, p, err)
	}
	return n
}

// TestRunCluster runs `bench produce` and `bench consume` with --cluster
// 3: three `pitwall broker` processes and, beside them, one. Each result
// counts every record, the topic is replicated to all three brokers
// (each one's log of every partition holds the records), and no broker
// process is left running.
func TestRunCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts broker processes")
	}
	bin := pitwallBinary(t, t.TempDir())
	for _, w := range []Workload{Produce, Consume} {
		t.Run(string(w), func(t *testing.T) {
			dir := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cfg := Config{Workload: w, Cluster: 3, Broker: bin, DataDir: dir, Records: 2000, Partitions: 3, Clients: 2}
			rep, err := Run(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if pids := runningFrom(t, bin); len(pids) > 0 {
				t.Errorf("broker processes %v still running after the run", pids)
			}
			if rep.Acks != "all" || len(rep.Results) != 2 || rep.Ratio == nil {
				t.Fatalf("report %+v: want acks=all, two results and a ratio", rep)
			}
			checkResult(t, rep.Results[0], TargetCluster, 2000, w == Produce)
			checkResult(t, rep.Results[1], TargetSingle, 2000, w == Produce)
			if w == Consume {
				for _, r := range rep.Results {
					if r.Fill == nil || r.Fill.Records != 2000 {
						t.Errorf("%s: fill %+v, want 2000 records", r.Target, r.Fill)
					}
				}
			}
			// Every replica holds every partition's records: 2000 values
			// of DefaultRecordSize across the three partitions, on each
			// broker of the cluster.
			for _, node := range []string{"1", "2", "3"} {
				var n int64
				for p := range 3 {
					n += partitionBytes(t, filepath.Join(dir, TargetCluster, node), DefaultTopic, p)
				}
				if n < 2000*DefaultRecordSize {
					t.Errorf("cluster broker %s holds %d bytes of log, want at least %d (every record)", node, n, 2000*DefaultRecordSize)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, TargetSingle, "1", "cluster")); err == nil {
				t.Error("the single broker ran in cluster mode")
			}
		})
	}
}

// TestRunFailover runs a short `bench failover` (two kills, tuned
// timeouts), with SIGKILL and with SIGTERM: each kill names the broker
// that led and a different successor, the times are positive, the
// quantiles ordered, and no broker process is left.
func TestRunFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts broker processes")
	}
	bin := pitwallBinary(t, t.TempDir())
	for _, stop := range []string{StopKill, StopTerm} {
		t.Run(stop, func(t *testing.T) { testRunFailover(t, bin, stop) })
	}
}

func testRunFailover(t *testing.T, bin, stop string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := RunFailover(ctx, FailoverConfig{Kills: 2, Stop: stop, SessionTimeout: time.Second, ClientBackoff: 50 * time.Millisecond, Broker: bin, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Stop != stop {
		t.Errorf("report says --stop %q, want %q", rep.Stop, stop)
	}
	if pids := runningFrom(t, bin); len(pids) > 0 {
		t.Errorf("broker processes %v still running after the run", pids)
	}
	if len(rep.Kills) != 2 {
		t.Fatalf("%d kills, want 2: %+v", len(rep.Kills), rep)
	}
	for i, k := range rep.Kills {
		if k.Leader < 1 || k.Leader > 3 || k.Successor < 1 || k.Successor > 3 || k.Successor == k.Leader {
			t.Errorf("kill %d: leader %d successor %d, want two different brokers of 1..3", i+1, k.Leader, k.Successor)
		}
		if k.Seconds <= 0 || k.Rejoin <= 0 || k.Wait <= 0 {
			t.Errorf("kill %d: failover %v s, longest wait %v s, rejoin %v s, want positive", i+1, k.Seconds, k.Wait, k.Rejoin)
		}
	}
	if rep.P50 <= 0 || rep.P50 > rep.P99 || rep.P99 > rep.Max || rep.Max != max(rep.Kills[0].Seconds, rep.Kills[1].Seconds) {
		t.Errorf("quantiles p50 %v p99 %v max %v of %+v", rep.P50, rep.P99, rep.Max, rep.Kills)
	}
	if rep.WaitP50 > rep.WaitP99 || rep.WaitP99 > rep.WaitMax || rep.WaitMax != max(rep.Kills[0].Wait, rep.Kills[1].Wait) {
		t.Errorf("longest-wait quantiles p50 %v p99 %v max %v of %+v", rep.WaitP50, rep.WaitP99, rep.WaitMax, rep.Kills)
	}
	var out bytes.Buffer
	if err := rep.WriteTable(&out); err != nil || !strings.Contains(out.String(), "failover over 2 kills") {
		t.Errorf("table: %v\n%s", err, out.String())
	}
}

func TestParseFailoverArgs(t *testing.T) {
	o, err := ParseFailoverArgs(nil, new(bytes.Buffer))
	if err != nil || o.Config.Kills != 20 || o.Config.Stop != StopKill || o.Config.SessionTimeout != 0 || o.Config.ClientBackoff != 0 || o.Config.Interval != 5*time.Millisecond || o.JSON {
		t.Errorf("defaults: %+v, %v", o, err)
	}
	o, err = ParseFailoverArgs([]string{"--kills", "3", "--session-timeout", "500ms", "--client-backoff", "50ms", "--json"}, new(bytes.Buffer))
	if err != nil || o.Config.Kills != 3 || o.Config.SessionTimeout != 500*time.Millisecond || o.Config.ClientBackoff != 50*time.Millisecond || !o.JSON {
		t.Errorf("flags: %+v, %v", o, err)
	}
	if o, err = ParseFailoverArgs([]string{"--stop", "term"}, new(bytes.Buffer)); err != nil || o.Config.Stop != StopTerm {
		t.Errorf("--stop term: %+v, %v", o.Config, err)
	}
	for _, args := range [][]string{{"--kills", "0"}, {"--session-timeout", "-1s"}, {"--interval", "0s"}, {"--stop", "hup"}, {"extra"}} {
		if _, err := ParseFailoverArgs(args, new(bytes.Buffer)); !errors.Is(err, ErrConfig) {
			t.Errorf("%q: %v, want ErrConfig", args, err)
		}
	}
}
