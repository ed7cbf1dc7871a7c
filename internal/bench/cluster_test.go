package bench

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
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
