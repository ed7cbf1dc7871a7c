package commitlog

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// readRP reads and decodes the recovery point file of dir.
func readRP(t *testing.T, dir string) recoveryPoint {
	t.Helper()
	rp, err := decodeRecoveryPoint(readFile(t, filepath.Join(dir, recoveryPointFile)))
	if err != nil {
		t.Fatal(err)
	}
	return rp
}

func writeRP(t *testing.T, dir string, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, recoveryPointFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// rpConfig writes a recovery point after every fsync.
func rpConfig(dir string, p FsyncPolicy) Config {
	return Config{Dir: dir, Fsync: p, IndexIntervalBytes: 300, SegmentMaxAge: -1, recoveryPointInterval: 1, recoveryPointBytes: 1}
}

// appendN appends n two-record batches whose content depends on seed.
func appendN(t *testing.T, l *Log, n, seed int) [][]byte {
	t.Helper()
	var out [][]byte
	for i := range n {
		b := makeBatch(t, 1000+int64(seed+i), values(2, 100, seed+i)...)
		mustAppend(t, l, b, 0)
		out = append(out, b)
	}
	return out
}

// TestRecoveryPointFromSyncer: under FsyncBatch the syncer writes the
// recovery point after its fsyncs; a crash then walks only the headers
// after the last index entry and checks no CRC.
func TestRecoveryPointFromSyncer(t *testing.T) {
	dir := t.TempDir()
	cfg := rpConfig(dir, FsyncBatch)
	points := make(chan recoveryPoint, 1024)
	cfg.afterRecoveryPoint = func(rp recoveryPoint) {
		select {
		case points <- rp:
		default:
		}
	}
	l := openLog(t, cfg)
	batches := appendN(t, l, 60, 0)
	syncAll(t, l)
	for rp := range points { // the point for the last fsync follows it
		if rp.next == l.EndOffset() {
			break
		}
	}
	size := l.Size()
	crash(l)
	if rp := readRP(t, dir); rp != (recoveryPoint{segment: 0, position: size, next: 120}) {
		t.Fatalf("recovery point %+v, want the end of the log (%d bytes, offset 120)", rp, size)
	}
	cfg.afterRecoveryPoint = nil
	l2 := openLog(t, cfg)
	r := l2.Stats().Recovery
	limit := int64(cfg.IndexIntervalBytes + len(batches[0]))
	if r.Clean || !r.RecoveryPoint || r.VerifiedBytes != 0 || r.ScannedBytes > limit || l2.Stats().IndexRebuilds != 0 {
		t.Fatalf("recovery %+v, rebuilds %d: want a walk of at most %d bytes", r, l2.Stats().IndexRebuilds, limit)
	}
	equalBatches(t, readAll(t, l2, 0), batches)
}

// TestRecoveryPointTail: batches written after the recovery point are
// checked by CRC and a torn tail among them is cut; the index rebuilt from
// the saved prefix plus the checked tail is the one a clean run writes.
func TestRecoveryPointTail(t *testing.T) {
	dir := t.TempDir()
	cfg := rpConfig(dir, FsyncNever)
	l := openLog(t, cfg)
	synced := appendN(t, l, 30, 0)
	l.syncOnce() // the syncer's step, driven by hand: fsync, then the point
	rp := readRP(t, dir)
	if rp.next != 60 || rp.position != l.Size() {
		t.Fatalf("recovery point %+v after syncing 60 offsets, %d bytes", rp, l.Size())
	}
	tail := appendN(t, l, 20, 30)
	crash(l)
	truncateBy(t, segPath(dir, 0, logSuffix), 50) // tear the last batch

	l2 := openLog(t, cfg)
	r := l2.Stats().Recovery
	tailBytes := offsetOf(tail, len(tail))
	if !r.RecoveryPoint || r.VerifiedBytes != tailBytes-50 || r.ScannedBytes > r.VerifiedBytes+int64(cfg.IndexIntervalBytes+len(tail[0])) {
		t.Fatalf("recovery %+v: want only the %d bytes after the point checked", r, tailBytes-50)
	}
	if r.TruncatedBytes != int64(len(tail[19]))-50 {
		t.Fatalf("truncated %d bytes, want the rest of the torn batch", r.TruncatedBytes)
	}
	want := append(synced, tail[:19]...)
	equalBatches(t, readAll(t, l2, 0), want)
	for off := range l2.HighWatermark() { // every index entry is used
		b, err := l2.Read(off, 1, nil)
		if h, _ := ParseBatchHeader(b); err != nil || off < h.BaseOffset || off > h.LastOffset() {
			t.Fatalf("Read(%d) = batch %d..%d, %v", off, h.BaseOffset, h.LastOffset(), err)
		}
	}
	if rp := readRP(t, dir); rp.position != l2.Size() || rp.next != l2.EndOffset() {
		t.Fatalf("recovery point after recovery %+v, want the checked end", rp)
	}
	if err := l2.Close(); err != nil {
		t.Fatal(err)
	}

	ref := t.TempDir()
	lr := openLog(t, rpConfig(ref, FsyncNever))
	for _, b := range want {
		mustAppend(t, lr, bytes.Clone(b), 0)
	}
	if err := lr.Close(); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{indexSuffix, timeIndexSuffix} {
		got, clean := readFile(t, segPath(dir, 0, suffix)), readFile(t, segPath(ref, 0, suffix))
		if !bytes.Equal(got, clean) || len(got) == 0 {
			t.Fatalf("%s after recovery from the point:\n got %x\nwant %x", suffix, got, clean)
		}
	}
}

// TestRecoveryPointUntrusted: a missing, damaged or lying recovery point
// (or a file shortened under it) is ignored: the whole active segment is
// checked, a fresh point replaces the old one, and a later crash with new
// data written past the old point still recovers exactly.
func TestRecoveryPointUntrusted(t *testing.T) {
	valid := func(f func(*recoveryPoint)) func(t *testing.T, dir string, seg string) {
		return func(t *testing.T, dir, _ string) {
			rp := readRP(t, dir)
			f(&rp)
			writeRP(t, dir, rp.encode())
		}
	}
	tests := []struct {
		name   string
		damage func(t *testing.T, dir, seg string)
		cut    int64 // bytes cut off the segment, beyond the torn tail
	}{
		{"missing", func(t *testing.T, dir, _ string) { _ = os.Remove(filepath.Join(dir, recoveryPointFile)) }, 0},
		{"bit flip", func(t *testing.T, dir, _ string) { flipByte(t, filepath.Join(dir, recoveryPointFile), 20) }, 0},
		{"garbage", func(t *testing.T, dir, _ string) { writeRP(t, dir, bytes.Repeat([]byte("x"), rpSize)) }, 0},
		{"empty", func(t *testing.T, dir, _ string) { writeRP(t, dir, nil) }, 0},
		{"truncated", func(t *testing.T, dir, _ string) { writeRP(t, dir, readRP(t, dir).encode()[:rpSize-1]) }, 0},
		{"unknown version", func(t *testing.T, dir, _ string) {
			b := readRP(t, dir).encode()
			b[7] = 9
			writeRP(t, dir, binary.BigEndian.AppendUint32(b[:rpSize-4], crc32c(b[:rpSize-4])))
		}, 0},
		{"other segment", valid(func(rp *recoveryPoint) { rp.segment = 1 }), 0},
		{"inside a batch", valid(func(rp *recoveryPoint) { rp.position -= 7 }), 0},
		{"wrong next offset", valid(func(rp *recoveryPoint) { rp.next++ }), 0},
		{"negative position", valid(func(rp *recoveryPoint) { rp.position = -1 }), 0},
		{"offset index missing", func(t *testing.T, dir, seg string) { _ = os.Remove(segPath(dir, 0, indexSuffix)) }, 0},
		{"file shortened under the point", func(*testing.T, string, string) {}, 3000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := rpConfig(dir, FsyncNever)
			l := openLog(t, cfg)
			batches := appendN(t, l, 30, 0)
			l.syncOnce()
			batches = append(batches, appendN(t, l, 10, 30)...)
			crash(l)
			seg := segPath(dir, 0, logSuffix)
			tc.damage(t, dir, seg)
			truncateBy(t, seg, 30+tc.cut)
			size := sizeOf(t, seg)
			keep := len(batches) - 1
			for offsetOf(batches, keep) > size {
				keep--
			}

			l2 := openLog(t, cfg)
			if r := l2.Stats().Recovery; r.RecoveryPoint || r.ScannedBytes != size || r.VerifiedBytes != size {
				t.Fatalf("recovery %+v, want a full check of %d bytes", r, size)
			}
			equalBatches(t, readAll(t, l2, 0), batches[:keep])
			if rp := readRP(t, dir); rp != (recoveryPoint{0, l2.Size(), l2.EndOffset()}) {
				t.Fatalf("recovery point after recovery %+v, want the checked end %d/%d", rp, l2.Size(), l2.EndOffset())
			}
			// New data past where the old point was, then a crash with no
			// fsync: only the fresh point may be used.
			more := appendN(t, l2, 15, 100)
			crash(l2)
			l3 := openLog(t, cfg)
			if r := l3.Stats().Recovery; !r.RecoveryPoint || r.VerifiedBytes != offsetOf(more, len(more)) {
				t.Fatalf("second recovery %+v, want only the new batches checked", r)
			}
			equalBatches(t, readAll(t, l3, 0), append(batches[:keep:keep], more...))
		})
	}
}

// TestRecoveryPointOnlyAfterFsync: without an fsync (FsyncNever, no roll,
// no Close) no recovery point is written, so a crash checks everything.
func TestRecoveryPointOnlyAfterFsync(t *testing.T) {
	dir := t.TempDir()
	cfg := rpConfig(dir, FsyncNever)
	l := openLog(t, cfg)
	batches := appendN(t, l, 20, 0)
	crash(l)
	if _, err := os.Stat(filepath.Join(dir, recoveryPointFile)); !os.IsNotExist(err) {
		t.Fatalf("recovery point written without an fsync: %v", err)
	}
	l2 := openLog(t, cfg)
	if r := l2.Stats().Recovery; r.RecoveryPoint || r.VerifiedBytes != l2.Size() {
		t.Fatalf("recovery %+v, want a full check", r)
	}
	equalBatches(t, readAll(t, l2, 0), batches)
}

// TestRecoveryPointNewSegment: after a roll the syncer's next point names
// the new active segment, whose index files exist even while empty.
func TestRecoveryPointNewSegment(t *testing.T) {
	dir := t.TempDir()
	cfg := rpConfig(dir, FsyncNever)
	cfg.SegmentBytes = 12 * int64(len(makeBatch(t, 1000, values(2, 100, 0)...)))
	l := openLog(t, cfg)
	batches := appendN(t, l, 13, 0) // 12 batches per segment
	if len(l.segments) != 2 {
		t.Fatalf("%d segments, want 2", len(l.segments))
	}
	l.syncOnce()
	if rp := readRP(t, dir); rp.segment != 24 || rp.next != 26 {
		t.Fatalf("recovery point %+v, want one batch into segment 24", rp)
	}
	crash(l)
	l2 := openLog(t, cfg)
	if r := l2.Stats().Recovery; !r.RecoveryPoint || r.VerifiedBytes != 0 {
		t.Fatalf("recovery %+v", r)
	}
	equalBatches(t, readAll(t, l2, 0), batches)
}

// The first time-based recovery point of a run comes at a random moment
// within the interval after the first fsync, not at it: partitions that
// start together keep theirs out of step. With an hour's interval the
// first fsyncs write none (one at the first fsync had all of a topic's
// partitions writing theirs, a few fsyncs each, in the same
// milliseconds); the chance that the random moment falls within this
// test is about a millionth of a percent.
func TestFirstRecoveryPointSpread(t *testing.T) {
	dir := t.TempDir()
	cfg := rpConfig(dir, FsyncBatch)
	cfg.recoveryPointInterval = time.Hour
	cfg.recoveryPointBytes = 1 << 30
	var wrote atomic.Int64
	cfg.afterRecoveryPoint = func(recoveryPoint) { wrote.Add(1) }
	l := openLog(t, cfg)
	for i := range 5 {
		appendN(t, l, 1, i)
		syncAll(t, l)
	}
	if n := wrote.Load(); n != 0 {
		t.Fatalf("%d recovery points within the first fsyncs of a run, want none before the interval's random moment", n)
	}
	if _, err := os.Stat(filepath.Join(dir, recoveryPointFile)); !os.IsNotExist(err) {
		t.Fatalf("recovery point file after the first fsyncs: %v, want none", err)
	}
}
