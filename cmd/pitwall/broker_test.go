package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// buildPitwall returns the pitwall binary, built once per test binary
// run (TestMain removes it): a link of the whole command takes seconds,
// and two dozen tests start it.
func buildPitwall(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "pitwall-cmd-test-")
		if err != nil {
			built.err = err
			return
		}
		built.dir, built.bin = dir, filepath.Join(dir, "pitwall")
		if out, err := exec.Command("go", "build", "-o", built.bin, ".").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

// built is the binary buildPitwall built.
var built struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// TestBrokerSIGTERM runs `pitwall broker` as a user would, produces to it,
// sends SIGTERM, and expects exit status 0 with every partition marked
// clean, so the next start skips recovery.
func TestBrokerSIGTERM(t *testing.T) {
	bin := buildPitwall(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "broker", "--listen", "127.0.0.1:0", "--data-dir", dir, "--partitions", "3")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	ready := regexp.MustCompile(`msg="broker ready" listen=(\S+)`)
	sc := bufio.NewScanner(stderr)
	var addr string
	for addr == "" && sc.Scan() {
		if m := ready.FindStringSubmatch(sc.Text()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatal("broker never logged that it was ready")
	}
	go func() {
		for sc.Scan() {
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.AllowAutoTopicCreation(), kgo.DefaultProduceTopic("cars"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 30; i++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte{byte(i)}, Value: []byte("lap")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cl.Close()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("pitwall broker after SIGTERM: %v (want exit 0)", err)
	}
	for p := 0; p < 3; p++ {
		if _, err := os.Stat(filepath.Join(dir, "topics", "cars", string(rune('0'+p)), "clean-shutdown")); err != nil {
			t.Errorf("partition %d: %v", p, err)
		}
	}
}
