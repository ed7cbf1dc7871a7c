package simulator

// Tests against real things on this machine: pseudo-terminals read with
// tarm/serial, socat pty pairs, a Mosquitto broker and a Pitwall broker,
// all on loopback. `make deps` installs socat and mosquitto.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/tarm/serial"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/internal/freeport"
	"github.com/pitwall/pitwall/telemetry"
)

// startRun runs cfg in the background; the returned stop cancels it and
// returns Run's error.
func startRun(t *testing.T, cfg Config) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

// startPTYSerial runs cfg with --pty and opens the pty it printed with
// tarm/serial, as the edge does. The simulator writes nothing before the
// path and is held there until the port is open (and flushed), so nothing
// it writes can meet the reader's open-time flush.
func startPTYSerial(t *testing.T, cfg Config) (*serial.Port, func() error) {
	t.Helper()
	ann := &holdAfterPath{path: make(chan string, 1), proceed: make(chan struct{})}
	var release sync.Once
	proceed := func() { release.Do(func() { close(ann.proceed) }) }
	cfg.PTY, cfg.Stdout, cfg.Logger = true, ann, quietLogger()
	stop := startRun(t, cfg)
	t.Cleanup(proceed) // registered after startRun's: runs first, so a failed open never leaves the simulator held
	var path string
	select {
	case path = <-ann.path:
	case <-time.After(time.Minute):
		t.Fatal("the simulator never printed its pty path")
	}
	p := openSerial(t, path)
	proceed()
	return p, stop
}

// holdAfterPath is the simulator's stdout: it passes on the first line (the
// pty path) and blocks that write until proceed is closed.
type holdAfterPath struct {
	path    chan string
	proceed chan struct{}
	once    sync.Once
}

func (h *holdAfterPath) Write(b []byte) (int, error) {
	first := false
	h.once.Do(func() { first = true; h.path <- strings.TrimSpace(string(b)) })
	if first {
		<-h.proceed
	}
	return len(b), nil
}

// openSerial opens a serial device with tarm/serial as the edge does,
// discarding what the pty buffered before we opened it.
func openSerial(t *testing.T, path string) *serial.Port {
	t.Helper()
	p, err := serial.OpenPort(&serial.Config{Name: path, Baud: 115200, ReadTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// readLines reads lines from a serial port (a read timeout returns
// io.EOF) until fn says enough. Lines before the first that valid accepts
// are skipped (at most 5): data in flight through the pty when the reader
// flushed on opening can splice two lines there. It gives up after 200000
// lines.
func readLines(t *testing.T, r io.Reader, sep byte, valid, fn func(line []byte) bool) {
	t.Helper()
	br := bufio.NewReaderSize(r, 1<<16)
	started := false
	for i := range 200000 {
		line, err := br.ReadBytes(sep)
		if err != nil {
			t.Fatalf("reading: %v", err)
		}
		line = bytes.TrimRight(line, "\r\n")
		if !started {
			if started = i > 0 && valid(line); !started {
				if i >= 5 {
					t.Fatalf("no valid line among the first 5; line %d: %q", i, line)
				}
				continue
			}
		}
		if fn(line) {
			return
		}
	}
	t.Fatal("read 200000 lines without seeing what the test waits for")
}

// parses reports whether line is a serial line telemetry reads.
func parses(line []byte) bool {
	_, err := telemetry.ParseLine(line, &telemetry.Frame{}, &telemetry.ChannelLine{})
	return err == nil
}

func TestPTYSerialWithTarm(t *testing.T) {
	p, stop := startPTYSerial(t, Config{Cars: 2, Speed: 10})
	frames, channels := 0, 0
	readLines(t, p, '\n', parses, func(line []byte) bool {
		var f telemetry.Frame
		var c telemetry.ChannelLine
		kind, err := telemetry.ParseLine(line, &f, &c)
		if err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if kind == telemetry.LineFrame {
			frames++
		} else {
			channels++
		}
		return frames >= 500 && channels >= 2*StandardChannelCount // a re-announcement came through
	})
	if err := stop(); err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
}

func TestPTYSLCANWithTarm(t *testing.T) {
	p, stop := startPTYSerial(t, Config{Out: "slcan", Speed: 1})
	sigs := dbcSignals(t)
	write := func(cmd string) {
		if _, err := p.Write([]byte(cmd)); err != nil {
			t.Fatal(err)
		}
	}
	// Ask for the version once frames flow, so the reply cannot be the
	// first, skipped, token.
	stamped, plain, version, asked := 0, 0, false, false
	readLines(t, p, '\r', func(tok []byte) bool { return len(tok) > 1 && tok[0] == 't' }, func(tok []byte) bool {
		switch {
		case string(tok) == "V1013":
			version = true
			write("Z0\r") // timestamps off from here on
		case len(tok) > 0 && tok[0] == 't':
			f := parseSLCAN(t, string(tok))
			if len(sigs[f.id]) == 0 {
				t.Fatalf("frame with id %#x not in the DBC", f.id)
			}
			if f.stamp {
				stamped++
			} else {
				plain++
			}
			if !asked {
				write("V\r")
				asked = true
			}
		}
		return version && stamped > 0 && plain >= 50
	})
	if err := stop(); err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
}

// serial:PATH on a device: one end of a socat pty pair, the edge on the
// other.
func TestSerialDeviceViaSocat(t *testing.T) {
	socat, err := exec.LookPath("socat")
	if err != nil {
		t.Fatal("socat not installed: run make deps")
	}
	dir := t.TempDir()
	a, b := filepath.Join(dir, "A"), filepath.Join(dir, "B")
	cmd := exec.Command(socat, "pty,raw,echo=0,link="+a, "pty,raw,echo=0,link="+b)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitFor(t, func() bool { _, e1 := os.Stat(a); _, e2 := os.Stat(b); return e1 == nil && e2 == nil })
	stop := startRun(t, Config{Out: "serial:" + a, Speed: 10, Logger: quietLogger()})
	p := openSerial(t, b)
	frames := 0
	readLines(t, p, '\n', parses, func(line []byte) bool {
		var f telemetry.Frame
		if _, err := telemetry.ParseLine(line, &f, &telemetry.ChannelLine{}); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		frames++
		return frames >= 300
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls a condition that the test cannot be told about (a file
// another process creates, what another client has received), failing
// after a minute.
func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
	}
}

// freePort is a loopback port for a server the test starts (freeport:
// never one handed out before in this process).
func freePort(t *testing.T) int {
	t.Helper()
	p, err := freeport.Port()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// startMosquitto runs a Mosquitto broker on a free loopback port.
func startMosquitto(t *testing.T) string {
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		bin = "/usr/sbin/mosquitto"
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatal("mosquitto not installed: run make deps")
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	conf := filepath.Join(t.TempDir(), "mosquitto.conf")
	host, port, _ := net.SplitHostPort(addr)
	os.WriteFile(conf, []byte(fmt.Sprintf("listener %s %s\nallow_anonymous true\npersistence false\nmax_queued_messages 0\n", port, host)), 0o644)
	cmd := exec.Command(bin, "-c", conf)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitFor(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return addr
}

// The MQTT output's records decode through the telemetry codec into
// exactly the simulated frames; the catalog is retained.
func TestMQTTOutputWithMosquitto(t *testing.T) {
	addr := startMosquitto(t)
	cfg := Config{Cars: 2, Duration: 2 * time.Second, Speed: 10, Seed: 4, Out: "mqtt://" + addr + "/pw", Logger: quietLogger()}
	want, _ := expected(t, cfg)

	codec := telemetry.MustNewCodec()
	var mu sync.Mutex
	var got []telemetry.Frame
	var failure error
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("sim-test-sub").SetOrderMatters(true))
	if tok := sub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer sub.Disconnect(100)
	if tok := sub.Subscribe("pw/+/frames", 0, func(_ mqtt.Client, m mqtt.Message) {
		var f telemetry.Frame
		err := codec.DecodeFrame(m.Payload(), &f)
		mu.Lock()
		defer mu.Unlock()
		if err != nil || m.Topic() != "pw/"+f.Car+"/frames" {
			failure = errors.Join(failure, fmt.Errorf("%s: %v", m.Topic(), err))
		}
		got = append(got, f)
	}); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	if err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	// Frames are in flight between the broker and us; the catalogs are
	// retained, so a new subscriber gets them at once.
	cats := make(chan telemetry.ChannelCatalog, 4)
	if tok := sub.Subscribe("pw/+/channels", 1, func(_ mqtt.Client, m mqtt.Message) {
		var c telemetry.ChannelCatalog
		if err := codec.DecodeCatalog(m.Payload(), &c); err != nil || !m.Retained() {
			t.Errorf("catalog on %s: %v (retained %v)", m.Topic(), err, m.Retained())
		}
		cats <- c
	}); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	for range 2 {
		if c := <-cats; len(c.Channels) != StandardChannelCount {
			t.Fatalf("catalog of %s has %d channels", c.Car, len(c.Channels))
		}
	}
	// The last frame's arrival ends the wait: a sentinel published after
	// Run, on the same connection order as everything before it, is not
	// available to us, so wait on the count itself.
	deadline := time.After(30 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= len(want) {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("received %d of %d frames", n, len(want))
		case <-time.After(20 * time.Millisecond):
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if failure != nil {
		t.Fatal(failure)
	}
	byCar := func(fs []telemetry.Frame) map[string][]telemetry.Frame {
		m := map[string][]telemetry.Frame{}
		for _, f := range fs {
			m[f.Car] = append(m[f.Car], f)
		}
		return m
	}
	g, w := byCar(got), byCar(want)
	for car := range w {
		if len(g[car]) != len(w[car]) {
			t.Fatalf("%s: %d frames, want %d", car, len(g[car]), len(w[car]))
		}
		for i := range w[car] {
			if !framesEqualT(&g[car][i], &w[car][i]) {
				t.Fatalf("%s frame %d differs", car, i)
			}
		}
	}
}

func framesEqualT(a, b *telemetry.Frame) bool {
	if a.Car != b.Car || a.Session != b.Session || a.Seq != b.Seq || a.TimeNs != b.TimeNs || len(a.Samples) != len(b.Samples) {
		return false
	}
	for i := range a.Samples {
		if a.Samples[i] != b.Samples[i] {
			return false
		}
	}
	return true
}

// The Kafka output produces into a real Pitwall broker: every frame, on
// the partition the Java client would pick for its car, in order, and the
// catalogs on telemetry.channels.
func TestKafkaOutputWithPitwallBroker(t *testing.T) {
	b := brokertest.Start(t)
	cfg := Config{Cars: 3, Duration: 3 * time.Second, Seed: 8, Out: "kafka://" + b.Addr + "/" + telemetry.TopicFrames, Logger: quietLogger()}
	if err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	want, _ := expected(t, cfg)

	sc := sarama.NewConfig()
	client, err := sarama.NewClient([]string{b.Addr}, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	codec := telemetry.MustNewCodec()
	records := func(topic string) map[int32][]*sarama.ConsumerMessage {
		parts, err := client.Partitions(topic)
		if err != nil {
			t.Fatal(err)
		}
		consumer, err := sarama.NewConsumerFromClient(client)
		if err != nil {
			t.Fatal(err)
		}
		defer consumer.Close()
		out := map[int32][]*sarama.ConsumerMessage{}
		for _, p := range parts {
			end, err := client.GetOffset(topic, p, sarama.OffsetNewest)
			if err != nil {
				t.Fatal(err)
			}
			if end == 0 {
				continue
			}
			pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
			if err != nil {
				t.Fatal(err)
			}
			for m := range pc.Messages() {
				out[p] = append(out[p], m)
				if m.Offset == end-1 {
					break
				}
			}
			pc.Close()
		}
		return out
	}
	n := int32(len(mustPartitions(t, client, telemetry.TopicFrames)))
	next := map[string]int{} // car → index of its next expected frame
	wantByCar := map[string][]telemetry.Frame{}
	for _, f := range want {
		wantByCar[f.Car] = append(wantByCar[f.Car], f)
	}
	total := 0
	for p, msgs := range records(telemetry.TopicFrames) {
		for _, m := range msgs {
			var f telemetry.Frame
			if err := codec.DecodeFrame(m.Value, &f); err != nil {
				t.Fatal(err)
			}
			if string(m.Key) != f.Car || telemetry.Partition(m.Key, n) != p {
				t.Fatalf("frame of %s with key %q on partition %d", f.Car, m.Key, p)
			}
			i := next[f.Car]
			if i >= len(wantByCar[f.Car]) || !framesEqualT(&f, &wantByCar[f.Car][i]) {
				t.Fatalf("%s: frame %d out of order or different", f.Car, i)
			}
			next[f.Car]++
			total++
		}
	}
	if total != len(want) {
		t.Fatalf("%d frames in the log, %d simulated", total, len(want))
	}
	cats := 0
	for _, msgs := range records(telemetry.TopicChannels) {
		for _, m := range msgs {
			var c telemetry.ChannelCatalog
			if err := codec.DecodeCatalog(m.Value, &c); err != nil || string(m.Key) != c.Car {
				t.Fatalf("catalog record: %v", err)
			}
			cats++
		}
	}
	if cats != 3 {
		t.Fatalf("%d catalogs", cats)
	}
}

func mustPartitions(t *testing.T, c sarama.Client, topic string) []int32 {
	ps, err := c.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// With ?qos=1 a subscriber whose persistent session is away while the
// simulator runs (an edge restarting) gets every frame when it comes
// back; at the default QoS 0 the broker keeps none of them for it.
//
// Nothing here waits on the clock: a probe subscriber that stays
// connected shows when Mosquitto has routed every frame (so the absent
// session has queued or dropped each before it returns; under load
// Mosquitto is still reading the simulator's publishes after Run
// returns), and a sentinel published after the session is back arrives
// behind whatever was queued for it.
func TestMQTTOutputQoS1QueuedForAbsentSession(t *testing.T) {
	addr := startMosquitto(t)
	for _, tc := range []struct {
		qos  string
		want func(n, total int) bool
	}{
		{"?qos=1", func(n, total int) bool { return n == total }},
		{"", func(n, total int) bool { return n == 0 }},
	} {
		t.Run("out"+tc.qos, func(t *testing.T) {
			prefix := "q" + strings.TrimPrefix(tc.qos, "?qos=")
			cfg := Config{Cars: 2, Duration: time.Second, Speed: 20, Seed: 9, Out: "mqtt://" + addr + "/" + prefix + tc.qos, Logger: quietLogger()}
			want, _ := expected(t, cfg)
			sentinel := prefix + "/sentinel/frames"
			probe, probed := countingSubscriber(t, addr, "sim-test-probe-"+prefix, true, prefix+"/+/frames", sentinel)
			defer probe.Disconnect(100)

			opts := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("sim-test-" + prefix).
				SetCleanSession(false).SetOrderMatters(true)
			sub := mqtt.NewClient(opts)
			if tok := sub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				t.Fatalf("connect: %v", tok.Error())
			}
			if tok := sub.Subscribe(prefix+"/+/frames", 1, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				t.Fatalf("subscribe: %v", tok.Error())
			}
			sub.Disconnect(100) // the session stays on the broker
			if err := Run(context.Background(), cfg); err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool { n, _ := probed(); return n >= len(want) })

			sub, seen := countingSubscriber(t, addr, "sim-test-"+prefix, false, "", sentinel)
			defer sub.Disconnect(100)
			if tok := probe.Publish(sentinel, 1, false, "end"); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				t.Fatalf("sentinel: %v", tok.Error())
			}
			waitFor(t, func() bool { _, end := seen(); return end })
			if n, _ := seen(); !tc.want(n, len(want)) {
				t.Errorf("received %d distinct frames of %d after the session came back", n, len(want))
			}
		})
	}
}

// countingSubscriber connects an MQTT client (subscribing to filter at
// QoS 1 when it is not empty) that counts the distinct frames it
// receives; seen returns the count and whether the sentinel topic has
// been received.
func countingSubscriber(t *testing.T, addr, id string, clean bool, filter, sentinel string) (c mqtt.Client, seen func() (int, bool)) {
	t.Helper()
	var mu sync.Mutex
	frames := map[string]bool{}
	end := false
	opts := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetCleanSession(clean).SetOrderMatters(true)
	opts.SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) {
		mu.Lock()
		defer mu.Unlock()
		if m.Topic() == sentinel {
			end = true
			return
		}
		frames[fmt.Sprintf("%s/%x", m.Topic(), m.Payload())] = true
	})
	c = mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", id, tok.Error())
	}
	if filter != "" {
		if tok := c.Subscribe(filter, 1, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("subscribe %s: %v", id, tok.Error())
		}
	}
	return c, func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		return len(frames), end
	}
}
