package commitlog

import (
	"testing"
)

// TestEndOffsetForEpoch holds EndOffsetForEpoch to Kafka's leader epoch
// cache (LeaderEpochFileCache.endOffsetFor) on a log with epochs 2 (from
// 0), 4 (from 3, assigned at election before its first append) and 5
// (assigned at offset 5, nothing appended since).
func TestEndOffsetForEpoch(t *testing.T) {
	l := openLog(t, Config{Dir: t.TempDir()})
	if e, end := l.EndOffsetForEpoch(0); e != -1 || end != -1 {
		t.Errorf("no epochs: (%d, %d), want (-1, -1)", e, end)
	}
	for range 3 {
		mustAppend(t, l, makeBatch(t, 1, []byte("a")), 2)
	}
	if err := l.AssignEpoch(4); err != nil {
		t.Fatal(err)
	}
	if err := l.AssignEpoch(3); err != nil { // older: ignored
		t.Fatal(err)
	}
	for range 2 {
		mustAppend(t, l, makeBatch(t, 1, []byte("b")), 4)
	}
	if err := l.AssignEpoch(5); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		req, epoch int32
		end        int64
	}{
		{-1, -1, -1},
		{1, 1, 0}, // older than all: the first epoch's start
		{2, 2, 3},
		{3, 2, 3}, // between: the floor epoch, ending where 4 begins
		{4, 4, 5},
		{5, 5, 5}, // the latest: the log end
		{6, -1, -1},
	} {
		if e, end := l.EndOffsetForEpoch(c.req); e != c.epoch || end != c.end {
			t.Errorf("epoch %d: (%d, %d), want (%d, %d)", c.req, e, end, c.epoch, c.end)
		}
	}
}
