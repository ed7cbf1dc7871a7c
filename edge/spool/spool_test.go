package spool

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func open(t testing.TB, cfg Config) *Spool {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	s, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rec is the i-th test record: value "v<i>" padded to size bytes.
func rec(i, size int) Record {
	v := []byte(fmt.Sprintf("v%d", i))
	if len(v) < size {
		v = append(v, bytes.Repeat([]byte{'.'}, size-len(v))...)
	}
	return Record{
		Topic: "telemetry", Key: []byte(fmt.Sprintf("car%02d", i%3)), TimeNs: int64(i) * 1000,
		Headers: []Header{{Key: "h", Value: []byte(strconv.Itoa(i))}}, Value: v, Count: uint32(i),
	}
}

// appendN appends records from..from+n in batches of up to 5.
func appendN(t *testing.T, s *Spool, from, n, size int) {
	t.Helper()
	for i := from; i < from+n; i += 5 {
		var b Batch
		for j := i; j < min(i+5, from+n); j++ {
			r := rec(j, size)
			if err := b.Add(&r); err != nil {
				t.Fatal(err)
			}
		}
		first, err := s.Append(&b)
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
		if first != uint64(i) {
			t.Fatalf("Append returned first index %d, want %d", first, i)
		}
	}
}

// readAllRecords reads everything available, maxBytes a Read.
func readAllRecords(t *testing.T, s *Spool, maxBytes int) []Record {
	t.Helper()
	var out []Record
	for {
		recs, err := s.Read(maxBytes)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if len(recs) == 0 {
			return out
		}
		out = append(out, recs...)
	}
}

// readAll reads everything available and checks it is records from..from+len.
func readAll(t *testing.T, s *Spool, from int) []Record {
	t.Helper()
	out := readAllRecords(t, s, 1000)
	for i, r := range out {
		want := rec(from+i, 0)
		if r.Index != uint64(from+i) || !bytes.HasPrefix(r.Value, want.Value) || string(r.Key) != string(want.Key) ||
			r.TimeNs != want.TimeNs || r.Topic != want.Topic || r.Count != want.Count || len(r.Headers) != 1 || string(r.Headers[0].Value) != strconv.Itoa(from+i) {
			t.Fatalf("record %d: got index %d %+v, want index %d value %q", i, r.Index, r, from+i, want.Value)
		}
	}
	return out
}

func indexes(recs []Record) []uint64 {
	out := make([]uint64, len(recs))
	for i, r := range recs {
		out[i] = r.Index
	}
	return out
}

func TestAppendReadAckAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	s := open(t, Config{Dir: dir, SegmentBytes: 4096, MaxBytes: 1 << 20})
	for i := 0; i < 100; i += 10 {
		appendN(t, s, i, 10, 200)
	}
	st := s.Stats()
	if st.Segments < 4 || st.Depth != 100 || st.Unread != 100 {
		t.Fatalf("stats after 100 appends of 200 bytes in 4 KiB segments: %+v", st)
	}
	got := readAll(t, s, 0)
	if len(got) != 100 {
		t.Fatalf("read %d records, want 100", len(got))
	}
	// Acks out of order: the cursor only passes contiguous acks.
	s.Ack(indexes(got[50:])...)
	if st := s.Stats(); st.Cursor != 0 || st.Depth != 100 {
		t.Fatalf("cursor moved over unacked records: %+v", st)
	}
	s.Ack(indexes(got[:50])...)
	st = s.Stats()
	if st.Cursor != 100 || st.Depth != 0 || st.Segments != 1 {
		t.Fatalf("after acking everything: %+v, want cursor 100, depth 0, only the active segment left", st)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(files) != 1 {
		t.Fatalf("segment files left: %v", files)
	}
}

func TestReopenResumesAtCursor(t *testing.T) {
	dir := t.TempDir()
	s := open(t, Config{Dir: dir, SegmentBytes: 4096})
	appendN(t, s, 0, 60, 100)
	got := readAll(t, s, 0)
	s.Ack(indexes(got[:25])...)
	s.Ack(indexes(got[30:40])...) // acked, but behind an unacked gap: sent again
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, Config{Dir: dir, SegmentBytes: 4096})
	if st := s.Stats(); st.Cursor != 25 || st.Next != 60 || st.Depth != 35 {
		t.Fatalf("reopened: %+v, want cursor 25, next 60", st)
	}
	got = readAll(t, s, 25)
	if len(got) != 35 {
		t.Fatalf("replayed %d records, want 35", len(got))
	}
	appendN(t, s, 60, 5, 100) // indexes continue
	readAll(t, s, 60)
}

func TestReopenAfterEverythingDeliveredKeepsIndexes(t *testing.T) {
	dir := t.TempDir()
	s := open(t, Config{Dir: dir, SegmentBytes: 4096})
	appendN(t, s, 0, 50, 200)
	s.Ack(indexes(readAll(t, s, 0))...)
	s.Close()
	s = open(t, Config{Dir: dir, SegmentBytes: 4096})
	if st := s.Stats(); st.Next != 50 || st.Depth != 0 {
		t.Fatalf("reopened: %+v", st)
	}
	appendN(t, s, 50, 3, 10)
	readAll(t, s, 50)
}

func TestTornTailIsTruncated(t *testing.T) {
	dir := t.TempDir()
	s := open(t, Config{Dir: dir})
	appendN(t, s, 0, 20, 50)
	s.Close()
	seg := filepath.Join(dir, segName(0))
	for _, tear := range []struct {
		name string
		fn   func(b []byte) []byte
	}{
		{"half a record", func(b []byte) []byte {
			r := rec(20, 50)
			full, _ := appendRecord(nil, &r)
			return append(b, full[:len(full)/2]...)
		}},
		{"garbage", func(b []byte) []byte { return append(b, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7) }},
		{"zeros", func(b []byte) []byte { return append(b, make([]byte, 4096)...) }},
	} {
		t.Run(tear.name, func(t *testing.T) {
			b, err := os.ReadFile(seg)
			if err != nil {
				t.Fatal(err)
			}
			good := len(b)
			if err := os.WriteFile(seg, tear.fn(b), 0o644); err != nil {
				t.Fatal(err)
			}
			s := open(t, Config{Dir: dir})
			if st := s.Stats(); st.Next != 20 || st.Bytes != int64(good) {
				t.Fatalf("after a torn tail: %+v, want next 20 and %d bytes", st, good)
			}
			if got := readAll(t, s, 0); len(got) != 20 {
				t.Fatalf("read %d, want 20", len(got))
			}
			s.Close()
		})
	}
}

func TestCorruptSealedSegmentLosesOnlyItsRest(t *testing.T) {
	dir := t.TempDir()
	s := open(t, Config{Dir: dir, SegmentBytes: 4096})
	appendN(t, s, 0, 60, 200) // ~18 records per segment
	s.Close()
	// Flip a byte in the middle of the first segment.
	seg := filepath.Join(dir, segName(0))
	b, _ := os.ReadFile(seg)
	b[len(b)/2] ^= 0xff
	os.WriteFile(seg, b, 0o644)

	s = open(t, Config{Dir: dir, SegmentBytes: 4096})
	got := readAllRecords(t, s, 1<<20)
	st := s.Stats()
	if st.Corrupt == 0 || uint64(len(got))+st.Corrupt != 60 {
		t.Fatalf("read %d records, %d corrupt; want them to add up to 60 with some corrupt", len(got), st.Corrupt)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Index <= got[i-1].Index {
			t.Fatalf("indexes out of order: %d after %d", got[i].Index, got[i-1].Index)
		}
	}
	if got[len(got)-1].Index != 59 {
		t.Fatalf("last record %d, want 59 (later segments intact)", got[len(got)-1].Index)
	}
	s.Ack(indexes(got)...)
	if st := s.Stats(); st.Depth != 0 {
		t.Fatalf("corrupt records block the cursor: %+v", st)
	}
}

func TestPolicies(t *testing.T) {
	const seg, bound = 4096, 3 * 4096
	t.Run("alarm keeps accepting", func(t *testing.T) {
		s := open(t, Config{Dir: t.TempDir(), SegmentBytes: seg, MaxBytes: bound})
		appendN(t, s, 0, 100, 300)
		st := s.Stats()
		if !st.OverLimit || st.Next != 100 || st.Bytes <= bound {
			t.Fatalf("%+v: want 100 records kept over the bound", st)
		}
		if got := readAll(t, s, 0); len(got) != 100 {
			t.Fatalf("read %d", len(got))
		}
	})
	t.Run("drop-newest refuses", func(t *testing.T) {
		s := open(t, Config{Dir: t.TempDir(), SegmentBytes: seg, MaxBytes: bound, Policy: PolicyDropNewest})
		var refused int
		for i := 0; i < 100; i++ {
			var b Batch
			r := rec(i-refused, 300)
			b.Add(&r)
			if _, err := s.Append(&b); errors.Is(err, ErrFull) {
				refused++
			} else if err != nil {
				t.Fatal(err)
			}
		}
		st := s.Stats()
		if refused == 0 || st.Bytes > bound || st.Next != uint64(100-refused) {
			t.Fatalf("refused %d, %+v", refused, st)
		}
		readAll(t, s, 0) // the oldest are kept
	})
	t.Run("drop-oldest keeps the newest", func(t *testing.T) {
		s := open(t, Config{Dir: t.TempDir(), SegmentBytes: seg, MaxBytes: bound, Policy: PolicyDropOldest})
		appendN(t, s, 0, 10, 300)
		first, _ := s.Read(1) // one record in flight when its segment goes
		appendN(t, s, 10, 90, 300)
		st := s.Stats()
		if st.Bytes > bound || st.Dropped == 0 || st.Cursor != st.Dropped {
			t.Fatalf("%+v", st)
		}
		got := readAll(t, s, int(st.Cursor))
		if len(got) == 0 || got[len(got)-1].Index != 99 {
			t.Fatalf("newest records lost: read %d", len(got))
		}
		s.Ack(first[0].Index) // a late ack of a dropped record is harmless
		s.Ack(indexes(got)...)
		if st := s.Stats(); st.Depth != 0 {
			t.Fatalf("%+v", st)
		}
	})
}

func TestSecondOpenIsRefused(t *testing.T) {
	dir := t.TempDir()
	open(t, Config{Dir: dir})
	if _, err := Open(Config{Dir: dir, Logger: quietLogger()}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
}

func TestBadConfig(t *testing.T) {
	for _, cfg := range []Config{{}, {Dir: "x", Policy: "maybe"}, {Dir: "x", SegmentBytes: 10}, {Dir: "x", SegmentBytes: 1 << 20, MaxBytes: 1 << 10}} {
		if _, err := Open(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("Open(%+v): %v, want ErrConfig", cfg, err)
		}
	}
}

func TestWaitWakesOnAppend(t *testing.T) {
	s := open(t, Config{Dir: t.TempDir()})
	ch := s.Wait()
	if recs, _ := s.Read(100); len(recs) != 0 {
		t.Fatal("records in an empty spool")
	}
	var b Batch
	r := rec(0, 10)
	b.Add(&r)
	errc := make(chan error, 1)
	go func() { _, err := s.Append(&b); errc <- err }()
	<-ch
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s, 0); len(got) != 1 {
		t.Fatalf("read %d after wake-up", len(got))
	}
}

// TestSurvivesSIGKILL appends from a child process, kills it with SIGKILL
// while it appends, and checks every append the child reported complete
// is in the spool.
func TestSurvivesSIGKILL(t *testing.T) {
	if dir := os.Getenv("SPOOL_TEST_CHILD_DIR"); dir != "" {
		childAppend(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSurvivesSIGKILL$")
	cmd.Env = append(os.Environ(), "SPOOL_TEST_CHILD_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	acked := -1
	for sc.Scan() {
		if n, err := strconv.Atoi(sc.Text()); err == nil {
			acked = n
			if n >= 2000 {
				break
			}
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if acked < 2000 {
		t.Fatalf("child reported %d appends", acked)
	}
	s := open(t, Config{Dir: dir, SegmentBytes: 64 << 10})
	got := readAll(t, s, 0)
	if len(got) < acked {
		t.Fatalf("after SIGKILL: %d records, the child had appended %d", len(got), acked)
	}
}

func childAppend(dir string) {
	s, err := Open(Config{Dir: dir, SegmentBytes: 64 << 10, Logger: quietLogger()})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	w := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		var b Batch
		r := rec(i, 100)
		b.Add(&r)
		if _, err := s.Append(&b); err != nil {
			os.Exit(1)
		}
		fmt.Fprintln(w, i+1) // reported only after Append returned
		w.Flush()
		if i > 100000 {
			time.Sleep(time.Millisecond)
		}
	}
}
