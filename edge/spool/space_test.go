package spool

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// smallDisk returns a directory on a tmpfs of size bytes the test mounts
// (and unmounts at cleanup); the test is skipped where mounting is not
// permitted, since only a real full filesystem says ENOSPC.
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a %s tmpfs (%v: %s): the disk-full tests need one", size, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	t.Logf("spool on a %s tmpfs", size)
	return dir
}

// fill appends 1 KiB records from index from until the disk refuses
// one, and returns the next index; it fails on any other error.
func fill(t *testing.T, s *Spool, from int) int {
	t.Helper()
	for i := from; ; i++ {
		var b Batch
		r := rec(i, 1024)
		b.Add(&r)
		if _, err := s.Append(&b); errors.Is(err, ErrDiskFull) {
			return i
		} else if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		if i-from > 1<<20 {
			t.Fatal("the disk never filled")
		}
	}
}

// A drained spool gives its space back: sealed segments go, and the
// active one is replaced by an empty one once its records are
// acknowledged and the cursor says so.
func TestDrainedSpoolGivesSpaceBack(t *testing.T) {
	dir := t.TempDir()
	s := open(t, Config{Dir: dir, SegmentBytes: 64 << 20})
	appendN(t, s, 0, 1500, 1000)
	got := readAll(t, s, 0)
	s.Ack(indexes(got)...)
	if err := s.persist(); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Bytes != segHeaderLen || st.Segments != 1 || st.Depth != 0 {
		t.Fatalf("drained spool: %+v, want one empty segment", st)
	}
	appendN(t, s, 1500, 10, 100) // indexes go on
	readAll(t, s, 1500)
	s.Close()
	s = open(t, Config{Dir: dir})
	if st := s.Stats(); st.Next != 1510 || st.Cursor != 1500 {
		t.Fatalf("reopened: %+v", st)
	}
	readAll(t, s, 1500)
}

// The policies at a full disk: alarm and drop-newest refuse new records
// (counted) and recover by themselves once the spooled ones are
// acknowledged; drop-oldest deletes the oldest undelivered segments
// (counted) and keeps accepting.
func TestFullDisk(t *testing.T) {
	for _, policy := range []Policy{PolicyAlarm, PolicyDropNewest} {
		t.Run(string(policy), func(t *testing.T) {
			dir := smallDisk(t, "4m")
			s := open(t, Config{Dir: dir, Policy: policy, MaxBytes: 1 << 30, ReserveBytes: 256 << 10})
			n := fill(t, s, 0)
			st := s.Stats()
			if !st.DiskFull || st.Refused != 1 || st.Next != uint64(n) || n < 2000 {
				t.Fatalf("full disk after %d records: %+v", n, st)
			}
			if _, err := os.Stat(filepath.Join(dir, reserveFile)); err != nil {
				t.Fatalf("reserve file: %v", err)
			}
			// The broker takes everything: the space comes back and
			// appends succeed again, with the next indexes.
			got := readAll(t, s, 0)
			if len(got) != n {
				t.Fatalf("read %d of %d", len(got), n)
			}
			s.Ack(indexes(got)...)
			if err := s.persist(); err != nil {
				t.Fatal(err)
			}
			if st := s.Stats(); st.Bytes > segHeaderLen || st.Depth != 0 {
				t.Fatalf("after acking everything on a full disk: %+v", st)
			}
			m := fill(t, s, n)
			if m-n < n/2 {
				t.Fatalf("after recovery only %d records fit, %d before", m-n, n)
			}
			if st := s.Stats(); st.Refused != 2 {
				t.Fatalf("%+v: want 2 refused", st)
			}
		})
	}
	t.Run(string(PolicyDropOldest), func(t *testing.T) {
		dir := smallDisk(t, "4m")
		s := open(t, Config{Dir: dir, Policy: PolicyDropOldest, SegmentBytes: 256 << 10, MaxBytes: 1 << 30, ReserveBytes: 256 << 10})
		const n = 10000 // ~10 MiB through a 4 MiB disk
		appendN(t, s, 0, n, 1024)
		st := s.Stats()
		if st.Refused != 0 || st.Dropped == 0 || st.Cursor != st.Dropped || st.Next != n {
			t.Fatalf("%+v: want nothing refused, the oldest dropped and counted", st)
		}
		got := readAll(t, s, int(st.Cursor))
		if uint64(len(got))+st.Dropped != n || got[len(got)-1].Index != n-1 {
			t.Fatalf("read %d, dropped %d, of %d", len(got), st.Dropped, n)
		}
	})
}

// The cursor is written atomically into reserved space: acknowledging
// on a full disk, with nothing deleted, still moves it, and a reopened
// spool resumes there.
func TestCursorOnFullDisk(t *testing.T) {
	dir := smallDisk(t, "4m")
	cfg := Config{Dir: dir, SegmentBytes: 64 << 20, MaxBytes: 1 << 30, ReserveBytes: 256 << 10}
	s := open(t, cfg)
	n := fill(t, s, 0)
	got := readAll(t, s, 0)
	s.Ack(indexes(got[:n/4])...) // within the one segment: nothing freed
	if err := s.persist(); err != nil {
		t.Fatalf("cursor on a full disk: %v", err)
	}
	s.cmu.Lock()
	if s.reserve >= cfg.ReserveBytes {
		t.Errorf("the reserve was not drawn on (%d bytes left)", s.reserve)
	}
	s.cmu.Unlock()
	if err := s.Close(); err != nil {
		t.Fatalf("Close on a full disk: %v", err)
	}
	s = open(t, cfg)
	if st := s.Stats(); st.Cursor != uint64(n/4) || st.Next != uint64(n) {
		t.Fatalf("reopened: %+v, want cursor %d next %d", st, n/4, n)
	}
	readAll(t, s, n/4)
}

// A missing or damaged cursor resumes at the oldest segment: what was
// acknowledged in deleted segments is not sent again.
func TestLostCursorResumesAtOldestSegment(t *testing.T) {
	for name, damage := range map[string]func(path string){
		"missing": func(path string) { os.Remove(path) },
		"damaged": func(path string) { os.WriteFile(path, []byte("not a cursor at all"), 0o644) },
		"empty":   func(path string) { os.WriteFile(path, nil, 0o644) },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := Config{Dir: dir, SegmentBytes: 4096}
			s := open(t, cfg)
			appendN(t, s, 0, 100, 200)
			got := readAll(t, s, 0)
			s.Ack(indexes(got[:60])...)
			s.Close()
			damage(filepath.Join(dir, cursorFile))
			s = open(t, cfg)
			st := s.Stats()
			if st.Cursor == 0 || st.Cursor > 60 || st.Next != 100 {
				t.Fatalf("%+v: want to resume after the deleted segments, at or before 60", st)
			}
			readAll(t, s, int(st.Cursor))
		})
	}
}

func TestCursorRoundTrip(t *testing.T) {
	for _, idx := range []uint64{0, 1, 1 << 40, ^uint64(0)} {
		if got, err := decodeCursor(encodeCursor(idx)); err != nil || got != idx {
			t.Fatalf("cursor %d: decoded %d, %v", idx, got, err)
		}
	}
	b := encodeCursor(7)
	b[3] ^= 1
	if _, err := decodeCursor(b); !errors.Is(err, ErrBadCursor) {
		t.Fatalf("flipped bit: %v", err)
	}
}

// FuzzDecodeCursor: any bytes decode without panicking; what decodes
// encodes back to the same bytes.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(0))
	f.Add(encodeCursor(123456789))
	f.Add([]byte{})
	f.Add(make([]byte, cursorLen))
	f.Fuzz(func(t *testing.T, b []byte) {
		idx, err := decodeCursor(b)
		if err != nil {
			return
		}
		if again := encodeCursor(idx); string(again) != string(b) {
			t.Fatalf("decoded %d from %x, which encodes as %x", idx, b, again)
		}
	})
}
