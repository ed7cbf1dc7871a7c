package importer

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/edge/logs"
	"github.com/pitwall/pitwall/simulator"
)

// An import killed with SIGKILL half way (a crash, not a clean stop)
// resumes when run again: the frames the log holds are a prefix of the
// file's, and the second run sends exactly the rest.
func TestKilledImportResumes(t *testing.T) {
	b := brokertest.Start(t)
	path, _ := simLog(t, simulator.LogRaceChrono, 10)
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const car = "killed1"
	l, err := logs.Read(bytes.NewReader(content), logs.Options{Car: car})
	if err != nil {
		t.Fatal(err)
	}
	total := len(l.Frames)

	child := exec.Command(os.Args[0])
	child.Env = append(os.Environ(), childEnv+"=1", "PITWALL_IMPORT_BROKER="+b.Addr, "PITWALL_IMPORT_FILE="+path, "PITWALL_IMPORT_CAR="+car)
	var out bytes.Buffer
	child.Stdout, child.Stderr = &out, &out
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for n := 0; n < total/3; n = len(frameSeqs(t, b.Addr, car)) {
		if time.Now().After(deadline) {
			child.Process.Kill()
			child.Wait()
			t.Fatalf("the child sent %d of %d frames in 2 minutes:\n%s", n, total, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := child.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	child.Wait()
	before := frameSeqs(t, b.Addr, car)
	if len(before) >= total {
		t.Fatalf("the child finished (%d of %d frames) before it was killed:\n%s", len(before), total, out.String())
	}
	for i, s := range before {
		if s != int64(i) {
			t.Fatalf("after the kill the log holds seq %d at %d: not a prefix of the file", s, i)
		}
	}
	// A request the broker took before the kill may still be landing:
	// the resumed import finds at least what was read here.
	res := importFile(t, testConfig(b.Addr), path, car)
	if res.Already || res.Resumed < len(before) || res.Resumed+res.Sent != total {
		t.Errorf("after the kill: resumed after %d (the log had %d or more), sent %d of %d", res.Resumed, len(before), res.Sent, total)
	}
	if seqs := frameSeqs(t, b.Addr, car); len(seqs) != total || countDistinct(seqs) != total {
		t.Errorf("the topic holds %d frames (%d distinct), want each of %d once", len(seqs), countDistinct(seqs), total)
	}
}

// The test binary doubles as the import process TestKilledImportResumes
// kills (see TestMain).
const childEnv = "PITWALL_IMPORT_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(importChild())
	}
	os.Exit(m.Run())
}

// importChild imports at 20 times real time, so the kill finds it half
// way; it returns the exit status.
func importChild() int {
	content, err := os.ReadFile(os.Getenv("PITWALL_IMPORT_FILE"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cfg := testConfig(os.Getenv("PITWALL_IMPORT_BROKER"))
	cfg.Speed = 20
	_, err = Import(context.Background(), cfg, "child.csv", content, logs.Options{Car: os.Getenv("PITWALL_IMPORT_CAR")})
	fmt.Fprintf(os.Stderr, "the child's import ended (it should have been killed): %v\n", err)
	return 2
}
