package edge

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/edge/spool"
	"github.com/pitwall/pitwall/telemetry"
)

// The spool on a small disk (issue 19): a 16 MiB tmpfs the test mounts,
// or, where mounting is not permitted, a spool bound below the free
// space with drop-newest standing in for the disk's limit.

// smallSpoolDir returns a directory on a 16 MiB tmpfs, and whether it is
// one (false: a plain temp directory; the caller bounds the spool).
func smallSpoolDir(t *testing.T) (string, bool) {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Logf("no tmpfs (%v: %s): a 12 MiB spool bound with drop-newest stands in for a full disk", err, out)
		return dir, false
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	t.Log("spool on a 16 MiB tmpfs")
	return dir, true
}

// diskFullConfig is an edge on a small spool disk reading the pty.
func diskFullConfig(t *testing.T, broker, tty, policy string) Config {
	cfg := testConfig(t, broker, "serial:"+tty)
	dir, real := smallSpoolDir(t)
	cfg.Spool.Dir, cfg.Spool.Policy = dir, policy
	if !real {
		cfg.Spool.MaxBytes, cfg.Spool.SegmentBytes = 12<<20, 1<<20
		if policy == string(spool.PolicyAlarm) {
			cfg.Spool.Policy = string(spool.PolicyDropNewest)
		}
	}
	return cfg
}

// carFrames writes frames seq from..to-1 of three cars (40 samples each,
// ~0.5 KiB) to the pty, interleaved as a logger sends them.
type carFrames struct {
	w       *os.File
	written int
}

var fullDiskCars = []string{"car01", "car02", "car03"}

func fullDiskFrame(car string, seq int64) telemetry.Frame {
	f := telemetry.Frame{Car: car, Seq: seq, TimeNs: 1_700_000_000_000_000_000 + seq*5_000_000}
	for id := int32(1); id <= 40; id++ {
		f.Samples = append(f.Samples, telemetry.Sample{ID: id, Value: float64(seq) + float64(id)/100})
	}
	return f
}

func (c *carFrames) write(t *testing.T, n int) {
	t.Helper()
	var buf []byte
	for range n {
		seq := int64(c.written/len(fullDiskCars)) + 1
		f := fullDiskFrame(fullDiskCars[c.written%len(fullDiskCars)], seq)
		buf, _ = telemetry.AppendFrameLine(buf, &f)
		c.written++
	}
	if _, err := c.w.Write(buf); err != nil {
		t.Fatal(err)
	}
}

// seqsOnce reads the topic and checks every car's frames arrive once, in
// order; it returns the sequence numbers per car.
func seqsOnce(t *testing.T, addr string) map[string][]int64 {
	t.Helper()
	got := framesByCar(t, readTopic(t, addr, telemetry.TopicFrames), telemetry.DefaultPartitions)
	out := map[string][]int64{}
	for car, fs := range got {
		for i, f := range fs {
			if i > 0 && f.Seq <= fs[i-1].Seq {
				t.Fatalf("car %s: seq %d after %d: produced twice or out of order", car, f.Seq, fs[i-1].Seq)
			}
			if want := fullDiskFrame(car, f.Seq); f.TimeNs != want.TimeNs || !slices.Equal(f.Samples, want.Samples) {
				t.Fatalf("car %s: frame %d changed", car, f.Seq)
			}
			out[car] = append(out[car], f.Seq)
		}
	}
	return out
}

func countSeqs(m map[string][]int64) (n int) {
	for _, s := range m {
		n += len(s)
	}
	return n
}

// Broker down until the spool's disk fills, then back: with alarm the
// edge drops new frames (counted, with an ERROR) while the disk is full,
// then recovers by itself as the spool drains; with drop-oldest it
// deletes the oldest unsent frames (counted) instead. Either way every
// frame is in the topic once or counted as dropped, and the frames after
// the broker came back all arrive.
// (drop-oldest's count is an upper bound: frames it deletes may already
// be in the producer's memory, and arrive.)
func TestFullDiskRecovers(t *testing.T) {
	for _, policy := range []spool.Policy{spool.PolicyAlarm, spool.PolicyDropOldest} {
		t.Run(string(policy), func(t *testing.T) {
			t.Parallel()
			b := brokertest.Start(t)
			master, tty := openPTY(t)
			cfg := diskFullConfig(t, b.Addr, tty, string(policy))
			logs := &logCounter{msgs: map[string]int{}}
			cfg.Logger = slog.New(logs)
			e, stop := startEdge(t, cfg)
			waitFor(t, "the broker connected", func() bool { return e.brokerUp.Load() })
			b.Stop(t)

			src := e.sources[0].stats
			w := &carFrames{w: master}
			read := func() {
				waitFor(t, "the edge read every frame", func() bool { return src.read.Load() == int64(w.written) })
			}
			full := func() bool {
				st := e.spool.Stats()
				return st.DiskFull || st.Dropped > 0
			}
			for !full() {
				w.write(t, 300)
				read()
			}
			w.write(t, 3000) // while the disk is full
			read()
			b.Restart(t)
			waitFor(t, "the spool drained", func() bool { return e.spool.Stats().Depth == 0 })
			waitFor(t, "the space given back", func() bool { return e.spool.Stats().Bytes < 512<<10 })
			after := w.written
			w.write(t, 3000)
			read()
			waitFor(t, "the new frames acknowledged", func() bool {
				return e.spool.Stats().Depth == 0 && src.frames.Load() == int64(w.written)-src.dropped.Load()
			})
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			st := e.spool.Stats()
			lost := src.dropped.Load() + int64(st.Dropped)
			got := seqsOnce(t, b.Addr)
			t.Logf("%d frames written, %d in the topic, %d refused at the full disk, %d dropped by drop-oldest", w.written, countSeqs(got), src.dropped.Load(), st.Dropped)
			if lost == 0 {
				t.Fatal("the disk never filled")
			}
			// drop-oldest counts what it deletes unsent from the disk; some
			// of it may be in the producer's memory already and arrive.
			missing := int64(w.written - countSeqs(got))
			if missing > lost || (policy == spool.PolicyAlarm && missing != lost) {
				t.Fatalf("%d frames missing from the topic, %d counted as dropped", missing, lost)
			}
			for _, car := range fullDiskCars {
				s := got[car]
				if n := int64(after/len(fullDiskCars)) + 1; !slices.Contains(s, n) || s[len(s)-1] != int64(w.written/len(fullDiskCars)) {
					t.Fatalf("car %s: the frames after the recovery are missing (last %d)", car, s[len(s)-1])
				}
			}
			if policy == spool.PolicyAlarm {
				if n := logs.count("spool: DISK FULL"); n == 0 || n > 5 {
					t.Fatalf("%d disk-full errors logged, want a few (rate-limited)", n)
				}
				if st.Refused == 0 || int64(st.Refused) != src.dropped.Load() {
					t.Fatalf("spool refused %d records, the source counted %d dropped frames", st.Refused, src.dropped.Load())
				}
			}
		})
	}
}

// SIGKILL or SIGTERM of the edge while the broker is down and the disk is
// full, then a new edge on the same spool once the broker is back: no
// frame is produced twice, and what is not in the topic was counted as
// dropped. A third edge after a clean stop sends nothing again.
func TestFullDiskKillRestart(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			b := brokertest.Start(t)
			master, tty := openPTY(t)
			cfg := diskFullConfig(t, b.Addr, tty, string(spool.PolicyAlarm))
			cfg.FlushTimeout = 500 * time.Millisecond
			src := fmt.Sprintf(`{source="serial:%s"}`, tty)
			c1 := startChild(t, cfg)
			c1.waitMetric(t, "edge_broker_connected", 1)
			b.Stop(t)
			w := &carFrames{w: master}
			read := func(c *child) {
				c.waitMetric(t, "edge_frames_read_total"+src, float64(w.written))
			}
			for c1.metric(t, "edge_spool_disk_full") < 1 && c1.metric(t, "edge_dropped_total"+`{reason="spool_full",source="serial:`+tty+`"}`) < 1 {
				w.write(t, 300)
				read(c1)
			}
			w.write(t, 600)
			read(c1)
			dropped := c1.metric(t, "edge_frames_dropped_total"+src)
			c1.cmd.Process.Signal(sig)
			<-c1.done
			if code := c1.cmd.ProcessState.ExitCode(); sig == syscall.SIGTERM && code != 0 {
				t.Fatalf("exit status %d after SIGTERM with a full disk", code)
			}

			b.Restart(t)
			c2 := startChild(t, cfg)
			waitFor(t, "the spool drained", func() bool { return c2.metric(t, "edge_spool_records") == 0 })
			got := seqsOnce(t, b.Addr)
			if countSeqs(got)+int(dropped) != w.written {
				t.Fatalf("%d in the topic + %.0f dropped != %d written", countSeqs(got), dropped, w.written)
			}
			t.Logf("%d frames written, %d in the topic, %.0f dropped at the full disk", w.written, countSeqs(got), dropped)

			c2.cmd.Process.Signal(syscall.SIGTERM)
			<-c2.done
			c3 := startChild(t, cfg)
			if n := c3.metric(t, "edge_spool_records"); n != 0 {
				t.Fatalf("after a clean stop, %v records to send again", n)
			}
			if n := c3.metric(t, `edge_acked_records_total{topic="telemetry"}`); n != 0 {
				t.Fatalf("after a clean stop, %v frames sent again", n)
			}
		})
	}
}
