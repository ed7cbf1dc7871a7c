package commitlog

import (
	"os"
	"slices"
	"testing"
	"time"
)

func bases(l *Log) []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []int64
	for _, s := range l.segments {
		out = append(out, s.base)
	}
	return out
}

func TestRollBySize(t *testing.T) {
	dir := t.TempDir()
	one := int64(len(makeBatch(t, 1, values(2, 100, 0)...)))
	cfg := Config{Dir: dir, Fsync: FsyncNever, SegmentBytes: 3 * one}
	l, batches := fillLog(t, cfg, 7)
	if got, want := bases(l), []int64{0, 6, 12}; !slices.Equal(got, want) {
		t.Fatalf("segments %v, want %v", got, want)
	}
	for _, base := range []int64{0, 6} {
		if size := sizeOf(t, segPath(dir, base, logSuffix)); size != 3*one {
			t.Fatalf("segment %d holds %d bytes, want %d", base, size, 3*one)
		}
		// Sealed on roll: its indexes are on disk before Close.
		for _, suffix := range []string{indexSuffix, timeIndexSuffix} {
			if _, err := os.Stat(segPath(dir, base, suffix)); err != nil {
				t.Fatalf("closed segment %d has no %s: %v", base, suffix, err)
			}
		}
	}
	// A read stops at the end of its segment; the next one goes on.
	b, err := l.Read(2, 1<<20, nil)
	if err != nil || len(splitBatches(t, b)) != 2 {
		t.Fatalf("Read(2) = %d bytes, %v; want the 2 remaining batches of segment 0", len(b), err)
	}
	equalBatches(t, readAll(t, l, 0), batches)

	// A batch bigger than SegmentBytes gets a segment to itself.
	big := makeBatch(t, 1, values(1, int(4*one), 9)...)
	mustAppend(t, l, big, 0)
	mustAppend(t, l, makeBatch(t, 1, values(1, 10, 9)...), 0)
	if got, want := bases(l), []int64{0, 6, 12, 14, 15}; !slices.Equal(got, want) {
		t.Fatalf("segments %v, want %v", got, want)
	}
}

func TestRollByAge(t *testing.T) {
	clock := newClock()
	dir := t.TempDir()
	cfg := Config{Dir: dir, Fsync: FsyncNever, SegmentMaxAge: time.Hour, Now: clock.Now}
	l := openLog(t, cfg)
	batch := func() []byte { return makeBatch(t, clock.Millis(), values(1, 10, 0)...) }
	mustAppend(t, l, batch(), 0)
	clock.Advance(30 * time.Minute)
	mustAppend(t, l, batch(), 0)
	clock.Advance(29 * time.Minute)
	mustAppend(t, l, batch(), 0)
	if got := bases(l); len(got) != 1 {
		t.Fatalf("rolled before the age limit: %v", got)
	}
	clock.Advance(time.Minute) // an hour after the first batch
	mustAppend(t, l, batch(), 0)
	if got, want := bases(l), []int64{0, 3}; !slices.Equal(got, want) {
		t.Fatalf("segments %v, want %v", got, want)
	}
	// The age survives a clean restart (it is in the marker) ...
	clock.Advance(50 * time.Minute)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2 := openLog(t, cfg)
	clock.Advance(10 * time.Minute)
	mustAppend(t, l2, batch(), 0)
	if got, want := bases(l2), []int64{0, 3, 4}; !slices.Equal(got, want) {
		t.Fatalf("after clean restart segments %v, want %v", got, want)
	}
	// ... and after a crash it comes from the first batch's timestamp.
	clock.Advance(59 * time.Minute)
	crash(l2)
	l3 := openLog(t, cfg)
	mustAppend(t, l3, batch(), 0)
	if got := bases(l3); len(got) != 3 {
		t.Fatalf("rolled a 59-minute-old segment after a crash: %v", got)
	}
	clock.Advance(time.Minute)
	mustAppend(t, l3, batch(), 0)
	if got, want := bases(l3), []int64{0, 3, 4, 6}; !slices.Equal(got, want) {
		t.Fatalf("after crash restart segments %v, want %v", got, want)
	}
}
