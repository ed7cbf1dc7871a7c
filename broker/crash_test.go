package broker_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pitwall/pitwall/broker"
)

// childEnv, when set to a data directory, makes the test binary run a
// broker there instead of the tests (see TestMain), so a test can kill a
// real broker process with SIGKILL.
const childEnv = "PITWALL_TEST_BROKER_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		runChildBroker(dir)
		return
	}
	os.Exit(m.Run())
}

func runChildBroker(dir string) {
	srv, err := broker.New(broker.Config{
		Listen:  "127.0.0.1:0",
		DataDir: dir,
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(srv.Addr())
	if err := srv.Serve(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// startChild starts a broker process on dir and returns it and its address.
func startChild(t *testing.T, dir string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("child broker did not start: %v", err)
	}
	return cmd, strings.TrimSpace(addr)
}

type ack struct {
	key, value string
	partition  int32
	offset     int64
}

// TestCrashKeepsEveryAcknowledgedRecord kills a broker process with
// SIGKILL while producers stream with acks=all, restarts it on the same
// data directory, and reads everything back: every acknowledged record is
// there at the offset it was acknowledged with, each partition's offsets
// run without gaps, and each key's records are in the order produced.
func TestCrashKeepsEveryAcknowledgedRecord(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	child, addr := startChild(t, dir)

	prod := newKgo(t, addr, kgo.DefaultProduceTopic("crash"), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.DisableIdempotentWrite(), kgo.ProducerLinger(time.Millisecond), kgo.RecordRetries(3),
		kgo.MaxBufferedRecords(2000))
	var mu sync.Mutex
	var acks []ack
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("car-%d", w)
				r := &kgo.Record{Key: []byte(key), Value: []byte(fmt.Sprintf("%s/%08d", key, i))}
				prod.Produce(ctx, r, func(r *kgo.Record, err error) {
					if err == nil {
						mu.Lock()
						acks = append(acks, ack{key, string(r.Value), r.Partition, r.Offset})
						mu.Unlock()
					}
				})
			}
		}()
	}
	// Let a good number of records be acknowledged, then kill -9.
	for {
		mu.Lock()
		n := len(acks)
		mu.Unlock()
		if n >= 5000 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("only %d records acknowledged", n)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	close(stop)
	wg.Wait()
	prod.Close()
	mu.Lock()
	acked := append([]ack(nil), acks...)
	mu.Unlock()
	t.Logf("%d records acknowledged before SIGKILL", len(acked))

	_, addr = startChild(t, dir)
	cons := newKgo(t, addr, kgo.ConsumeTopics("crash"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(100*time.Millisecond))
	stored := map[int32]map[int64]string{}
	lastByKey := map[string]string{}
	want := map[string]bool{}
	for _, a := range acked {
		want[fmt.Sprint(a.partition, "/", a.offset)] = true
	}
	found := 0
	for found < len(acked) {
		fs := cons.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("after restart: %v (found %d of %d)", err, found, len(acked))
		}
		fs.EachRecord(func(r *kgo.Record) {
			if stored[r.Partition] == nil {
				stored[r.Partition] = map[int64]string{}
			}
			if want[fmt.Sprint(r.Partition, "/", r.Offset)] {
				found++
			}
			stored[r.Partition][r.Offset] = string(r.Value)
			key := string(r.Key)
			if prev, ok := lastByKey[key]; ok && prev >= string(r.Value) {
				t.Errorf("key %s: %s after %s", key, r.Value, prev)
			}
			lastByKey[key] = string(r.Value)
		})
	}
	for _, a := range acked {
		if got := stored[a.partition][a.offset]; got != a.value {
			t.Fatalf("acknowledged %s at %d/%d, found %q", a.value, a.partition, a.offset, got)
		}
	}
	for p, offs := range stored {
		for o := int64(0); o < int64(len(offs)); o++ {
			if _, ok := offs[o]; !ok {
				t.Errorf("partition %d: gap at offset %d", p, o)
				break
			}
		}
	}
}
