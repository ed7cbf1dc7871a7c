package commitlog

import (
	"fmt"
	"slices"
	"testing"
)

// TestScrubRechecksVerified: damage done on disk after a batch was checked
// (by the append that wrote it, or by a read after a restart) is not
// looked for by reads again, but Scrub checks every batch regardless and
// finds it; from then on reads skip it.
func TestScrubRechecksVerified(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprint("verified by ", map[bool]string{false: "append", true: "read"}[restart]), func(t *testing.T) {
			dir := t.TempDir()
			cfg := Config{Dir: dir, Fsync: FsyncNever, SegmentBytes: 2000, IndexIntervalBytes: 300}
			l, batches := fillLog(t, cfg, 12)
			if restart {
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
				l = openLog(t, cfg)
				if r := l.segments[0].verified.Load(); r != nil {
					t.Fatalf("closed segment verified %+v after restart; want nothing", *r)
				}
				equalBatches(t, readAll(t, l, 0), batches)
			}
			s := l.segments[0]
			if r := s.verified.Load(); !r.checked(0, s.size) {
				t.Fatalf("segment 0 verified %+v; want [0, %d)", r, s.size)
			}
			const bad = 2
			flipByte(t, segPath(dir, 0, logSuffix), offsetOf(batches, bad)+100)
			if n, err := l.Scrub(nil); n != 1 || err != nil {
				t.Fatalf("scrub found %d, %v; want 1", n, err)
			}
			want := append(slices.Clone(batches[:bad]), batches[bad+1:]...)
			equalBatches(t, readAll(t, l, 0), want)
			if got := l.CorruptBatches(); got != 1 {
				t.Fatalf("CorruptBatches %d, want 1", got)
			}
		})
	}
}

// TestReadChecksUnverified: a read after a restart checks what it reads
// and stops short of damage there; with SkipReadChecks it serves it.
func TestReadChecksUnverified(t *testing.T) {
	for _, skip := range []bool{false, true} {
		t.Run(fmt.Sprint("skip ", skip), func(t *testing.T) {
			dir := t.TempDir()
			cfg := Config{Dir: dir, Fsync: FsyncNever, SegmentBytes: 2000, IndexIntervalBytes: 300}
			l, batches := fillLog(t, cfg, 12)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			flipByte(t, segPath(dir, 0, logSuffix), offsetOf(batches, 2)+100)
			cfg.SkipReadChecks = skip
			l = openLog(t, cfg)
			out, err := l.Read(0, 1<<20, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := offsetOf(batches, 2) // stops short of the damaged batch
			if skip {
				want = l.segments[0].size // the whole segment, damage and all
			}
			if int64(len(out)) != want {
				t.Fatalf("read %d bytes, want %d", len(out), want)
			}
		})
	}
}

// TestMarkVerified: the verified stretch grows with what touches it
// (known damage bridging a gap), keeps itself against a stretch before
// it, and gives way to one after it (new appends at the active
// segment's end after a restart).
func TestMarkVerified(t *testing.T) {
	dmg := []damage{{pos: 100, end: 150}}
	for _, tc := range []struct {
		name     string
		start    *verifiedRange
		from, to int64
		want     verifiedRange
	}{
		{"first", nil, 40, 80, verifiedRange{40, 80}},
		{"extends", &verifiedRange{0, 100}, 100, 200, verifiedRange{0, 200}},
		{"overlaps", &verifiedRange{0, 100}, 50, 120, verifiedRange{0, 120}},
		{"inside", &verifiedRange{0, 100}, 10, 20, verifiedRange{0, 100}},
		{"joins below", &verifiedRange{100, 200}, 0, 100, verifiedRange{0, 200}},
		{"before: kept", &verifiedRange{100, 200}, 0, 50, verifiedRange{100, 200}},
		{"after: replaced", &verifiedRange{0, 50}, 60, 90, verifiedRange{60, 90}},
		{"across damage", &verifiedRange{0, 100}, 150, 300, verifiedRange{0, 300}},
		{"empty", &verifiedRange{0, 50}, 90, 90, verifiedRange{0, 50}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s segment
			s.verified.Store(tc.start)
			s.markVerified(tc.from, tc.to, dmg)
			if got := s.verified.Load(); got == nil || *got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
