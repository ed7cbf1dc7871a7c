package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// startFake starts a one-broker kfake as a stand-in "external" broker.
func startFake(t *testing.T) string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()[0]
}

// tiny is a small workload that still exercises every client and partition.
func tiny(w Workload, brokers, acks string) Config {
	return Config{Workload: w, Brokers: brokers, Acks: acks, Records: 2000, Partitions: 3, Clients: 2}
}

// checkResult asserts the counts are exact and the rates sane.
func checkResult(t *testing.T, r Result, target string, records int64, latency bool) {
	t.Helper()
	if r.Target != target {
		t.Errorf("target %q, want %q", r.Target, target)
	}
	if r.Records != records || r.Bytes != records*DefaultRecordSize {
		t.Errorf("%s: %d records %d bytes, want %d and %d", target, r.Records, r.Bytes, records, records*DefaultRecordSize)
	}
	if r.Seconds <= 0 || r.MBPerSec <= 0 || r.RecordsPerSec <= 0 {
		t.Errorf("%s: non-positive rates %+v", target, r)
	}
	if math.Abs(r.MBPerSec*1e6*r.Seconds-float64(r.Bytes)) > 1 {
		t.Errorf("%s: MB/s %v × %vs does not give %d bytes", target, r.MBPerSec, r.Seconds, r.Bytes)
	}
	if r.Partitions != 3 {
		t.Errorf("%s: %d partitions, want 3", target, r.Partitions)
	}
	if !latency {
		if r.P50Ms != nil || r.P99Ms != nil {
			t.Errorf("%s: latency reported for a consume pass", target)
		}
		return
	}
	if r.P50Ms == nil || r.P99Ms == nil || *r.P50Ms <= 0 || *r.P50Ms > *r.P99Ms {
		t.Errorf("%s: bad latencies p50 %v p99 %v", target, r.P50Ms, r.P99Ms)
	}
}

// storedRecords counts the records in topic on the broker at addr.
// storedRecords is how many records the broker holds, once it holds want
// (or the count stops short for 30 s): under --fsync batch, as brokertest
// runs, an acks=0 or acks=1 record counts in the end offset only once its
// batch is fsynced, which on a busy machine lands after the run returned.
func storedRecords(t *testing.T, addr, topic string, partitions int, want int64) int64 {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n := endOffsetSum(t, addr, topic, partitions)
		if n >= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func endOffsetSum(t *testing.T, addr, topic string, partitions int) int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ends, err := endOffsets(context.Background(), cl, topic, partitions)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, o := range ends {
		n += o
	}
	return n
}

func TestRunProduceEveryAcks(t *testing.T) {
	for _, acks := range []string{"0", "1", "all"} {
		t.Run("acks="+acks, func(t *testing.T) {
			addr := brokertest.Start(t).Addr
			rep, err := Run(t.Context(), tiny(Produce, addr, acks))
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Results) != 2 {
				t.Fatalf("%d results, want 2", len(rep.Results))
			}
			checkResult(t, rep.Results[0], TargetBroker, 2000, true)
			checkResult(t, rep.Results[1], TargetKfake, 2000, true)
			if rep.Results[0].Addr != addr {
				t.Errorf("addr %q, want %q", rep.Results[0].Addr, addr)
			}
			if got := storedRecords(t, addr, DefaultTopic, 3, 2000); got != 2000 {
				t.Errorf("broker holds %d records, want 2000", got)
			}
			if rep.Ratio == nil || rep.Ratio.MBPerSec <= 0 || rep.Ratio.P99Ms == nil {
				t.Errorf("ratio %+v, want positive figures", rep.Ratio)
			}
		})
	}
}

// The raw producer writes exactly the records asked for (the last batch
// is a short one), as readable records, at acks 1 and all, to Pitwall and
// kfake alike; a consume run filled by it reads them all back.
func TestRawProducer(t *testing.T) {
	for _, acks := range []string{"1", "all"} {
		t.Run("acks="+acks, func(t *testing.T) {
			addr := brokertest.Start(t).Addr
			cfg := tiny(Produce, addr, acks)
			cfg.Client = ClientRaw
			cfg.Records = 1000 // 3 batches of 256 and one of 232
			rep, err := Run(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, rep.Results[0], TargetBroker, 1000, true)
			checkResult(t, rep.Results[1], TargetKfake, 1000, true)
			if got := storedRecords(t, addr, DefaultTopic, 3, 1000); got != 1000 {
				t.Errorf("broker holds %d records, want 1000", got)
			}
			cfg.Workload = Consume
			cfg.Peer = PeerNone
			rep, err = Run(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, rep.Results[0], TargetBroker, 1000, false)
		})
	}
	for _, bad := range []Config{
		{Workload: Produce, Client: ClientRaw, Acks: "0"},
		{Workload: Produce, Client: ClientRaw, Compression: "zstd"},
		{Workload: Produce, Client: "librdkafka"},
	} {
		if _, err := bad.withDefaults(); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v, want ErrConfig", bad, err)
		}
	}
}

func TestRunConsumeReadsBackOnlyWhatItWrote(t *testing.T) {
	for name, addr := range map[string]string{"pitwall": brokertest.Start(t).Addr, "kfake": startFake(t)} {
		t.Run(name, func(t *testing.T) {
			cfg := tiny(Consume, addr, "1")
			cfg.Peer = PeerNone
			// The second run finds 2000 records already there and must
			// read back only its own 2000.
			for run := 1; run <= 2; run++ {
				rep, err := Run(t.Context(), cfg)
				if err != nil {
					t.Fatalf("run %d: %v", run, err)
				}
				if len(rep.Results) != 1 || rep.Ratio != nil {
					t.Fatalf("run %d: %d results, ratio %v; want 1 and none with --peer none", run, len(rep.Results), rep.Ratio)
				}
				r := rep.Results[0]
				checkResult(t, r, TargetBroker, 2000, false)
				if r.Fill == nil {
					t.Fatalf("run %d: no fill result", run)
				}
				checkResult(t, *r.Fill, "", 2000, true)
			}
			if got := storedRecords(t, addr, DefaultTopic, 3, 4000); got != 4000 {
				t.Errorf("broker holds %d records, want 4000", got)
			}
		})
	}
}

func TestRunEmbeddedBroker(t *testing.T) {
	for _, tc := range []struct {
		w     Workload
		fsync string
	}{{Produce, "batch"}, {Produce, "never"}, {Consume, "interval"}} {
		t.Run(string(tc.w)+"/"+tc.fsync, func(t *testing.T) {
			dir := t.TempDir()
			cfg := tiny(tc.w, "", "all")
			cfg.Fsync, cfg.DataDir = tc.fsync, dir
			rep, err := Run(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Fsync != tc.fsync || len(rep.Results) != 2 {
				t.Fatalf("fsync %q, %d results; want %q and 2", rep.Fsync, len(rep.Results), tc.fsync)
			}
			checkResult(t, rep.Results[0], TargetPitwall, 2000, tc.w == Produce)
			checkResult(t, rep.Results[1], TargetKfake, 2000, tc.w == Produce)
			// The embedded broker kept its log where it was told to (the
			// layout inside is the broker's business).
			if !mentions(t, dir, DefaultTopic) {
				t.Errorf("nothing named after topic %s under --data-dir %s", DefaultTopic, dir)
			}
		})
	}
}

// mentions reports whether any path under dir contains name.
func mentions(t *testing.T, dir, name string) bool {
	t.Helper()
	found := false
	err := filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		found = found || strings.Contains(path, name)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func TestRunEmbeddedTempDirRemoved(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	cfg := tiny(Produce, "", "1")
	cfg.Peer = PeerNone
	rep, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, rep.Results[0], TargetPitwall, 2000, true)
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("temporary data dir left behind: %v", entries)
	}
}

func TestRunUsesExistingTopicPartitions(t *testing.T) {
	addr := startFake(t)
	cfg := tiny(Produce, addr, "1")
	cfg.Peer = PeerNone
	cfg.Partitions = 3
	if _, err := Run(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Partitions = 5 // the topic exists with 3: use it as it is
	rep, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, rep.Results[0], TargetBroker, 2000, true)
}

func TestRunCancelled(t *testing.T) {
	addr := startFake(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Run(ctx, tiny(Produce, addr, "1")); err == nil {
		t.Fatal("Run with a cancelled context succeeded")
	}
}

func TestReportTableAndJSON(t *testing.T) {
	addr := startFake(t)
	rep, err := Run(t.Context(), tiny(Produce, addr, "1"))
	if err != nil {
		t.Fatal(err)
	}
	var tbl bytes.Buffer
	if err := rep.WriteTable(&tbl); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(tbl.String(), "\n"), "\n")
	wantTitle := "pitwall bench produce: 1024-byte records, acks=1, 3 partitions, 2 kgo clients, compression none, 2000 records, GOGC " + strconv.Itoa(gcPercent())
	if lines[0] != wantTitle {
		t.Errorf("title %q, want %q", lines[0], wantTitle)
	}
	wantLabels := []string{"", "address", "records", "seconds", "MB/s", "records/s", "p50 latency ms", "p99 latency ms"}
	if len(lines) != 1+len(wantLabels) {
		t.Fatalf("table has %d lines, want %d:\n%s", len(lines), 1+len(wantLabels), tbl.String())
	}
	col := strings.Index(lines[1], "broker")
	for i, label := range wantLabels {
		line := lines[i+1]
		if !strings.HasPrefix(line, label) || strings.HasSuffix(line, " ") {
			t.Errorf("line %q: want label %q and no trailing blank", line, label)
		}
		if i > 0 && (len(line) <= col || line[col-1] != ' ' || line[col] == ' ') {
			t.Errorf("line %q: first value not aligned at column %d", line, col)
		}
	}
	if f := strings.Fields(lines[1]); len(f) != 3 || f[2] != "broker/kfake" {
		t.Errorf("header %q, want columns broker, kfake, broker/kfake", lines[1])
	}
	if f := strings.Fields(lines[3]); f[1] != "2000" || f[2] != "2000" {
		t.Errorf("records line %q, want 2000 twice", lines[3])
	}

	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatalf("JSON does not decode: %v\n%s", err, js.String())
	}
	if back.Workload != Produce || len(back.Results) != 2 || back.Results[1].Records != 2000 || back.Ratio == nil || back.Records != 2000 {
		t.Errorf("JSON round trip lost data: %+v", back)
	}
}
