package broker_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// BenchmarkBrokerRSS (issue 12) measures the memory of a separate
// `pitwall broker` process, read from /proc/PID/status (VmHWM, the peak
// resident set, and the highest VmRSS sampled every 50 ms), each case with
// a fresh broker on loopback:
//
//   - consume8: `pitwall bench consume --clients 8` against it, with
//     --verify-reads true and false (the consume MB/s beside each: what the
//     read CRC checks cost end to end);
//   - hostile: 40 connections announcing 100 MiB requests that send 8 MiB
//     and stall, 6 connections pipelining 64 MiB fetches and never reading
//     a reply, and 2,000 idle connections, held for -rss.hold;
//   - hostile+consume8: both at once.
//
// It runs once per case whatever b.N (use -benchtime 1x):
//
//	go test ./broker -run '^$' -bench BrokerRSS -benchtime 1x
//
// -rss.flags passes flags to the broker (e.g. "--fetch-memory 67108864").
func BenchmarkBrokerRSS(b *testing.B) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		b.Skip("needs /proc")
	}
	bin := *rssPitwall
	if bin == "" {
		bin = filepath.Join(b.TempDir(), "pitwall")
		if out, err := exec.Command("go", "build", "-o", bin, "../cmd/pitwall").CombinedOutput(); err != nil {
			b.Fatalf("go build: %v\n%s", err, out)
		}
	}
	for _, tc := range []struct {
		name             string
		hostile, consume bool
		flags            []string
	}{
		{"consume8/verify-reads=true", false, true, nil},
		{"consume8/verify-reads=false", false, true, []string{"--verify-reads=false"}},
		{"hostile", true, false, nil},
		{"hostile+consume8", true, true, nil},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				br := startBrokerProcess(b, bin, tc.flags)
				stop := br.sampleRSS()
				var wg sync.WaitGroup
				var mbps float64
				if tc.hostile {
					wg.Go(func() { hostileMix(b, br.addr, *rssHold) })
				}
				if tc.consume {
					wg.Go(func() { mbps = benchConsume(b, bin, br.addr) })
				}
				wg.Wait()
				hwm, rss := stop()
				b.ReportMetric(float64(hwm)/(1<<20), "VmHWM-MiB")
				b.ReportMetric(float64(rss)/(1<<20), "maxVmRSS-MiB")
				if tc.consume {
					b.ReportMetric(mbps, "consume-MB/s")
				}
			}
		})
	}
}

var (
	rssPitwall = flag.String("rss.pitwall", "", "pitwall binary for BenchmarkBrokerRSS (default: built from ../cmd/pitwall)")
	rssFlags   = flag.String("rss.flags", "", "extra `pitwall broker` flags for BenchmarkBrokerRSS, space separated")
	rssRecords = flag.Int64("rss.records", 1000000, "records `pitwall bench consume` writes and reads back")
	rssHold    = flag.Duration("rss.hold", 15*time.Second, "how long the hostile connections are held")
)

type brokerProcess struct {
	addr string
	cmd  *exec.Cmd
}

// startBrokerProcess runs `pitwall broker` on a free loopback port in a
// temporary directory; the benchmark's cleanup stops it.
func startBrokerProcess(b *testing.B, bin string, flags []string) *brokerProcess {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	args := []string{"broker", "--listen", addr, "--data-dir", b.TempDir(), "--log-level", "warn"}
	args = append(append(args, flags...), strings.Fields(*rssFlags)...)
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("broker did not listen on %s", addr)
		}
	}
	return &brokerProcess{addr: addr, cmd: cmd}
}

// sampleRSS samples the broker's VmRSS every 50 ms until the returned
// function is called, which returns VmHWM and the highest VmRSS (bytes).
func (p *brokerProcess) sampleRSS() func() (hwm, maxRSS int64) {
	path := fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid)
	done, out := make(chan struct{}), make(chan int64)
	go func() {
		var peak int64
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			_, rss := procMemory(path)
			peak = max(peak, rss)
			select {
			case <-done:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return func() (int64, int64) {
		close(done)
		peak := <-out
		hwm, _ := procMemory(path)
		return hwm, peak
	}
}

// procMemory reads VmHWM and VmRSS (bytes) from a /proc/PID/status file.
func procMemory(path string) (hwm, rss int64) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmHWM:":
			hwm = kb << 10
		case "VmRSS:":
			rss = kb << 10
		}
	}
	return hwm, rss
}

// benchConsume runs `pitwall bench consume` with 8 consumers against addr
// and returns its consume MB/s.
func benchConsume(b *testing.B, bin, addr string) float64 {
	cmd := exec.Command(bin, "bench", "consume", "--brokers", addr, "--clients", "8", "--peer", "none",
		"--records", strconv.FormatInt(*rssRecords, 10), "--json")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		b.Errorf("pitwall bench consume: %v", err)
		return 0
	}
	var rep struct {
		Results []struct {
			MBPerSec float64 `json:"mb_per_s"`
		} `json:"results"`
	}
	if err := json.Unmarshal(out, &rep); err != nil || len(rep.Results) == 0 {
		b.Errorf("pitwall bench consume output %q: %v", out, err)
		return 0
	}
	return rep.Results[0].MBPerSec
}

// hostileMix holds, for hold, the clients issue 12 found the broker
// defenceless against: stalled 100 MiB requests, unread pipelined fetches
// and 2,000 idle connections (from four loopback addresses, so the
// per-address limit of 1,000 does not refuse them).
func hostileMix(b *testing.B, addr string, hold time.Duration) {
	const stalled, unread, idle = 40, 6, 2000
	fetch := fetchFrame(b, addr)
	stall := make([]byte, 4+8<<20)
	binary.BigEndian.PutUint32(stall, 100<<20-1)
	copy(stall[4:], []byte{0, 0, 0, 7, 0, 0, 0, 1, 0xff, 0xff}) // Produce v7, corr 1, null client id
	var conns []net.Conn
	var mu sync.Mutex
	dial := func(local string) net.Conn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			b.Logf("dial from %s: %v", local, err)
			return nil
		}
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
		return c
	}
	for range stalled {
		if c := dial("127.0.0.1"); c != nil {
			go func() { _, _ = c.Write(stall); _, _ = io.Copy(io.Discard, c) }()
		}
	}
	for range unread {
		if c := dial("127.0.0.1"); c != nil {
			go func() {
				for { // pipeline fetches, never read a reply
					if _, err := c.Write(fetch); err != nil {
						return
					}
				}
			}()
		}
	}
	for i := range idle {
		dial(fmt.Sprintf("127.0.0.%d", 2+i%4))
	}
	time.Sleep(hold)
	mu.Lock()
	defer mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// fetchFrame fills topic "hostile" with 48 MiB and returns a framed Fetch
// v11 of up to 64 MiB from its start.
func fetchFrame(b *testing.B, addr string) []byte {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("hostile"),
		kgo.AllowAutoTopicCreation(), kgo.ProducerBatchMaxBytes(1<<20))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for range 96 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: make([]byte, 512<<10)}).FirstErr(); err != nil {
			b.Fatal(err)
		}
	}
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(11)
	req.ReplicaID = -1
	req.MaxWaitMillis = 100
	req.MaxBytes = 64 << 20
	t := kmsg.NewFetchRequestTopic()
	t.Topic = "hostile"
	for p := range int32(12) {
		fp := kmsg.NewFetchRequestTopicPartition()
		fp.Partition = p
		fp.PartitionMaxBytes = 64 << 20
		t.Partitions = append(t.Partitions, fp)
	}
	req.Topics = append(req.Topics, t)
	var f kmsg.RequestFormatter
	return f.AppendRequest(nil, req, 1)
}
