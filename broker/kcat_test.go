package broker_test

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/pitwall/pitwall/broker/brokertest"
)

// TestKcat runs librdkafka (kcat) against the broker, as the README tells
// users to: produce keyed lines with -K:, consume them with -C.
func TestKcat(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatal("kcat is not installed: run scripts/install-test-deps.sh (make test does)")
	}
	b := brokertest.Start(t)
	var in bytes.Buffer
	want := map[string][]string{}
	for i := 0; i < 100; i++ {
		key := fmt.Sprintf("car%d", i%4)
		val := fmt.Sprintf("lap-%03d", i)
		want[key] = append(want[key], val)
		fmt.Fprintf(&in, "%s:%s\n", key, val)
	}
	prod := exec.CommandContext(testCtx(t), kcat, "-b", b.Addr, "-P", "-t", "cars", "-K:", "-X", "acks=all")
	prod.Stdin = &in
	if out, err := prod.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v\n%s", err, out)
	}
	cons := exec.CommandContext(testCtx(t), kcat, "-b", b.Addr, "-C", "-t", "cars", "-o", "beginning", "-e", "-q",
		"-f", "%k:%s:%p:%o\n")
	out, err := cons.CombinedOutput()
	if err != nil {
		t.Fatalf("kcat -C: %v\n%s", err, out)
	}
	got := map[string][]string{}
	parts := map[string]string{}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for _, line := range lines {
		f := strings.Split(line, ":")
		if len(f) != 4 {
			t.Fatalf("kcat line %q", line)
		}
		if p, ok := parts[f[0]]; ok && p != f[2] {
			t.Errorf("key %s on partitions %s and %s", f[0], p, f[2])
		}
		parts[f[0]] = f[2]
		got[f[0]] = append(got[f[0]], f[1])
	}
	for k, v := range want {
		if strings.Join(got[k], ",") != strings.Join(v, ",") {
			t.Errorf("key %s: got %v, want %v", k, got[k], v)
		}
	}
}
