package commitlog

import (
	"errors"
	"math"
	"os"
	"slices"
	"testing"
	"time"
)

func TestRetentionByTime(t *testing.T) {
	clock := newClock()
	dir := t.TempDir()
	one := int64(len(makeBatch(t, 1, values(1, 50, 0)...)))
	cfg := Config{Dir: dir, Fsync: FsyncNever, SegmentBytes: 2 * one, RetentionTime: time.Hour, Now: clock.Now}
	l := openLog(t, cfg)
	// Ten batches a minute apart, two per segment: segments 0,2,4,6,8.
	for i := range 10 {
		mustAppend(t, l, makeBatch(t, clock.Millis(), values(1, 50, i)...), 3)
		clock.Advance(time.Minute)
	}
	if n, err := l.Retain(); err != nil || n != 0 {
		t.Fatalf("Retain of a young log = %d, %v", n, err)
	}
	// Now segment 0's newest record (minute 1) is 61 minutes old,
	// segment 2's (minute 3) 59 minutes.
	clock.Advance(52 * time.Minute)
	if n, err := l.Retain(); err != nil || n != 1 {
		t.Fatalf("Retain = %d, %v; want 1", n, err)
	}
	if l.StartOffset() != 2 {
		t.Fatalf("StartOffset %d, want 2", l.StartOffset())
	}
	if _, err := os.Stat(segPath(dir, 0, logSuffix)); !os.IsNotExist(err) {
		t.Fatalf("segment 0 still on disk: %v", err)
	}
	if _, err := l.Read(1, 100, nil); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("Read below StartOffset: %v", err)
	}
	if got := l.LeaderEpochs(); !slices.Equal(got, []EpochEntry{{3, 2}}) {
		t.Fatalf("epochs not trimmed to the start: %v", got)
	}
	// Everything is old now, but the active segment stays.
	clock.Advance(24 * time.Hour)
	if n, err := l.Retain(); err != nil || n != 3 {
		t.Fatalf("Retain = %d, %v; want 3", n, err)
	}
	if got := bases(l); !slices.Equal(got, []int64{8}) || l.Size() != 2*one || l.StartOffset() != 8 {
		t.Fatalf("segments %v size %d start %d after retaining everything", got, l.Size(), l.StartOffset())
	}
	if len(readAll(t, l, 8)) != 2 {
		t.Fatal("active segment lost data")
	}
	// Closed segments loaded lazily after a restart are judged the same.
	for i := range 4 {
		mustAppend(t, l, makeBatch(t, clock.Millis(), values(1, 50, i)...), 3)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Hour)
	l2 := openLog(t, cfg)
	if n, err := l2.Retain(); err != nil || n != 2 {
		t.Fatalf("Retain after restart = %d, %v; want 2", n, err)
	}
	if l2.Stats().IndexRebuilds != 0 {
		t.Fatal("retention rebuilt indexes of healthy segments")
	}
}

func TestRetentionByBytes(t *testing.T) {
	dir := t.TempDir()
	one := int64(len(makeBatch(t, 1, values(1, 50, 0)...)))
	cfg := Config{Dir: dir, Fsync: FsyncNever, SegmentBytes: 2 * one, RetentionBytes: 5 * one, RetentionTime: -1}
	l := openLog(t, cfg)
	for i := range 9 { // segments of 2,2,2,2,1 batches
		mustAppend(t, l, makeBatch(t, 1, values(1, 50, i)...), 0)
	}
	// 9 batches; dropping segments while at least 5 remain: 9-2=7, 7-2=5.
	if n, err := l.Retain(); err != nil || n != 2 {
		t.Fatalf("Retain = %d, %v; want 2", n, err)
	}
	if l.Size() != 5*one || l.StartOffset() != 4 {
		t.Fatalf("size %d start %d, want %d and 4", l.Size(), l.StartOffset(), 5*one)
	}
	if n, err := l.Retain(); err != nil || n != 0 {
		t.Fatalf("second Retain = %d, %v; want 0", n, err)
	}
	// Never the active segment, even when it alone exceeds the limit.
	l.cfg.RetentionBytes = 1
	if n, err := l.Retain(); err != nil || n != 2 {
		t.Fatalf("Retain = %d, %v; want 2", n, err)
	}
	if got := bases(l); !slices.Equal(got, []int64{8}) {
		t.Fatalf("segments %v, want only the active one", got)
	}
}

// TestRetentionWhileReading deletes a segment a reader holds: the reader
// finishes on the unlinked file, and the file closes when it lets go.
func TestRetentionWhileReading(t *testing.T) {
	dir := t.TempDir()
	one := int64(len(makeBatch(t, 1, values(1, 50, 0)...)))
	l := openLog(t, Config{Dir: dir, Fsync: FsyncNever, SegmentBytes: 2 * one, RetentionBytes: 1})
	for i := range 5 {
		mustAppend(t, l, makeBatch(t, 1, values(1, 50, i)...), 0)
	}
	s, size, end, hw, _, err := l.locate(1, math.MaxInt64) // what Read does first
	if err != nil || s == nil || s.base != 0 {
		t.Fatalf("locate: %v %v", s, err)
	}
	if n, err := l.Retain(); err != nil || n != 2 {
		t.Fatalf("Retain = %d, %v", n, err)
	}
	if _, err := os.Stat(segPath(dir, 0, logSuffix)); !os.IsNotExist(err) {
		t.Fatalf("segment 0 not unlinked: %v", err)
	}
	v, pos, n, err := l.position(s, size, end, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, n)
	if _, err := v.file.ReadAt(buf, pos); err != nil || wholeBatches(buf, hw) != int(n) {
		t.Fatalf("reading the deleted segment: %v", err)
	}
	s.release()
	s.mu.Lock()
	closed := s.file == nil
	s.mu.Unlock()
	if !closed {
		t.Fatal("deleted segment's file still open after the last reader left")
	}
}
