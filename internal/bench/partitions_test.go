package bench

import (
	"errors"
	"io"
	"os"
	"testing"
	"time"
)

func TestParsePartitionsArgs(t *testing.T) {
	c, err := ParsePartitionsArgs([]string{"--topics", "100, 500,1667", "--partitions", "12", "--idle", "3s", "--broker-args", "--fsync interval"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Topics) != 3 || c.Topics[2] != 1667 || c.Partitions != 12 || c.Idle != 3*time.Second || len(c.Args) != 2 {
		t.Fatalf("parsed %+v", c)
	}
	for _, bad := range [][]string{{"--topics", "0"}, {"--topics", "x"}, {"--partitions", "0"}, {"extra"}} {
		if _, err := ParsePartitionsArgs(bad, io.Discard); !errors.Is(err, ErrConfig) {
			t.Errorf("%q: %v, want ErrConfig", bad, err)
		}
	}
}

// TestProcFigures reads this process's own CPU time and RSS the way the
// partitions run reads the broker's.
func TestProcFigures(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	t0, err := cpuTicks(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(50 * time.Millisecond); time.Now().Before(end); {
	}
	t1, err := cpuTicks(os.Getpid())
	if err != nil || t1 < t0 {
		t.Fatalf("cpu ticks %d then %d, %v", t0, t1, err)
	}
	if n, err := rss(os.Getpid()); err != nil || n < 1<<20 {
		t.Fatalf("rss %d, %v", n, err)
	}
}
