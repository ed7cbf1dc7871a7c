package commitlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

func FuzzValidateBatch(f *testing.F) {
	good := buildBatch(1234, []byte("speed=212"), []byte("rpm=11800"))
	f.Add(good)
	f.Add(good[:61])
	f.Add(good[:len(good)-1])
	f.Add(append(bytes.Clone(good), good...))
	f.Add(make([]byte, 61))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ValidateBatch(b)
		ph, perr := ParseBatchHeader(b)
		if err != nil {
			if !errors.Is(err, ErrCorruptBatch) {
				t.Fatalf("error %v does not wrap ErrCorruptBatch", err)
			}
			return
		}
		if perr != nil || ph != h || h.Size() != len(b) || h.NumRecords < 0 || h.LastOffsetDelta < 0 {
			t.Fatalf("accepted batch with header %+v (parse %+v, %v), %d bytes", h, ph, perr, len(b))
		}
		// What Append does to an accepted batch keeps it valid.
		stamped := bytes.Clone(b)
		stamp(stamped, 1<<40, 17)
		h2, err := ValidateBatch(stamped)
		if err != nil || h2.BaseOffset != 1<<40 || h2.LeaderEpoch != 17 || h2.CRC != h.CRC {
			t.Fatalf("stamped batch no longer valid: %+v, %v", h2, err)
		}
	})
}

// FuzzRecover writes arbitrary bytes as the active segment (after two
// closed segments) and opens the log: Open must not panic, reads must
// return only valid batches in offset order, and appends must go on.
func FuzzRecover(f *testing.F) {
	var log []byte
	for i := range 4 {
		b := buildBatch(int64(i), []byte("lap"), []byte("sector"))
		stamp(b, 10+int64(2*i), 0)
		log = append(log, b...)
	}
	f.Add(log)
	f.Add(log[:len(log)-7])
	f.Add(append(bytes.Clone(log), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, 100))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		for i, base := range []int64{0, 5} { // two closed segments: 0-4, 5-9
			var seg []byte
			for j := range 5 {
				b := buildBatch(0, []byte{byte(j)})
				stamp(b, base+int64(j), 0)
				seg = append(seg, b...)
			}
			if err := os.WriteFile(segPath(dir, base, logSuffix), seg, 0o644); err != nil {
				t.Fatal(err, i)
			}
		}
		if err := os.WriteFile(segPath(dir, 10, logSuffix), data, 0o644); err != nil {
			t.Fatal(err)
		}
		checkOpens(t, Config{Dir: dir, Fsync: FsyncNever, IndexIntervalBytes: 64, Logger: slog.New(slog.DiscardHandler)}, 10)
	})
}

// checkOpens opens dir, reads every batch from start checking validity and
// order, then appends one batch and reads it back.
func checkOpens(t *testing.T, cfg Config, minEnd int64) {
	l, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer l.Close()
	if l.EndOffset() < minEnd {
		t.Fatalf("LEO %d below the closed segments' end %d", l.EndOffset(), minEnd)
	}
	off := l.StartOffset()
	for off < l.HighWatermark() {
		b, err := l.Read(off, 1000, nil)
		if err != nil {
			t.Fatalf("Read(%d): %v", off, err)
		}
		if len(b) == 0 {
			t.Fatalf("Read(%d) below HW %d returned nothing", off, l.HighWatermark())
		}
		for len(b) > 0 {
			h, err := ParseBatchHeader(b)
			if err != nil || h.Size() > len(b) {
				t.Fatalf("Read returned a partial batch: %v", err)
			}
			if _, err := ValidateBatch(b[:h.Size()]); err != nil {
				t.Fatalf("Read returned an invalid batch at %d: %v", off, err)
			}
			if off < h.BaseOffset || off > h.LastOffset() {
				t.Fatalf("batch %d..%d returned for offset %d", h.BaseOffset, h.LastOffset(), off)
			}
			off = h.LastOffset() + 1
			b = b[h.Size():]
		}
	}
	leo := l.EndOffset()
	base, _, err := l.Append(buildBatch(1, []byte("after")), 0)
	if err != nil || base != leo {
		t.Fatalf("Append after recovery: base %d, %v; want %d", base, err, leo)
	}
	if b, err := l.Read(base, 1, nil); err != nil || len(b) == 0 {
		t.Fatalf("Read of the new batch: %d bytes, %v", len(b), err)
	}
}

// FuzzIndexFiles feeds arbitrary bytes as every metadata file a restart
// reads (offset and time index of a closed and the active segment, the
// marker, the epoch checkpoint, the recovery point): the log must open and
// read correctly. The top bit of which also removes the clean-shutdown
// marker, so the crash path (recovery point, active index) runs.
func FuzzIndexFiles(f *testing.F) {
	seed := func(name string) []byte {
		b, _ := os.ReadFile(filepath.Join(goldenDir, name))
		return b
	}
	f.Add(uint8(0), seed("00000000000000000000.index"))
	f.Add(uint8(1), seed("00000000000000000000.timeindex"))
	f.Add(uint8(2), seed("00000000000000000012.index"))
	f.Add(uint8(3), seed("00000000000000000012.timeindex"))
	f.Add(uint8(4), seed(markerFile))
	f.Add(uint8(5), seed(epochFile))
	f.Add(uint8(6), seed(recoveryPointFile))
	f.Add(uint8(0x86), seed(recoveryPointFile))
	f.Add(uint8(0x86), []byte("PWRP garbage"))
	f.Add(uint8(0x82), seed("00000000000000000012.index"))
	f.Add(uint8(0x83), seed("00000000000000000012.timeindex")[:5])
	f.Add(uint8(0), binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, 2), 200))
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		names := []string{"00000000000000000000.index", "00000000000000000000.timeindex",
			"00000000000000000012.index", "00000000000000000012.timeindex", markerFile, epochFile, recoveryPointFile}
		dir := t.TempDir()
		entries, err := os.ReadDir(goldenDir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			b := readFile(t, filepath.Join(goldenDir, e.Name()))
			if e.Name() == names[int(which)%len(names)] {
				b = data
			}
			if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if which&0x80 != 0 {
			if err := os.Remove(filepath.Join(dir, markerFile)); err != nil {
				t.Fatal(err)
			}
		}
		cfg := Config{Dir: dir, Fsync: FsyncNever, SegmentBytes: 500, IndexIntervalBytes: 100, Logger: slog.New(slog.DiscardHandler)}
		checkOpens(t, cfg, 18)
		l, err := Open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		// A damaged but well-formed time index can hide batches; it must
		// never produce an offset that is not a qualifying batch.
		const ts = 1_750_000_006_000
		off, err := l.OffsetForTime(ts)
		if err != nil {
			t.Fatal(err)
		}
		if off != -1 {
			b, err := l.Read(off, 1, nil)
			h, _ := ParseBatchHeader(b)
			if err != nil || h.BaseOffset != off || h.MaxTimestamp < ts {
				t.Fatalf("OffsetForTime = %d, but that batch is %+v (%v)", off, h, err)
			}
		}
	})
}

// FuzzRecoveryPoint writes a well-formed recovery point (valid CRC) with
// arbitrary fields into a copy of the golden log without its clean-shutdown
// marker: whatever the point claims, Open must recover every golden batch.
func FuzzRecoveryPoint(f *testing.F) {
	rp, err := decodeRecoveryPoint(readFileF(f, filepath.Join(goldenDir, recoveryPointFile)))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(rp.segment, rp.position, rp.next)
	f.Add(rp.segment, rp.position-1, rp.next)
	f.Add(rp.segment, rp.position+1, rp.next)
	f.Add(rp.segment, rp.position, rp.next-1)
	f.Add(rp.segment, int64(0), rp.segment)
	f.Add(int64(6), int64(100), int64(9))
	f.Add(int64(-1), int64(-1), int64(-1))
	f.Add(rp.segment, int64(1)<<62, int64(1)<<62)
	var golden []byte
	for _, base := range []int64{0, 6, 12} {
		golden = append(golden, readFileF(f, segPath(goldenDir, base, logSuffix))...)
	}
	f.Fuzz(func(t *testing.T, segment, position, next int64) {
		dir := t.TempDir()
		for _, name := range segmentFiles(t, goldenDir) {
			if name != markerFile {
				if err := os.WriteFile(filepath.Join(dir, name), readFile(t, filepath.Join(goldenDir, name)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		writeRP(t, dir, recoveryPoint{segment: segment, position: position, next: next}.encode())
		l, err := Open(Config{Dir: dir, Fsync: FsyncNever, SegmentBytes: 500, IndexIntervalBytes: 100, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		var got []byte
		for _, b := range readAll(t, l, 0) {
			got = append(got, b...)
		}
		if !bytes.Equal(got, golden) {
			t.Fatalf("recovered %d bytes of batches, want the %d golden ones (recovery %+v)", len(got), len(golden), l.Stats().Recovery)
		}
	})
}

func readFileF(f *testing.F, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzDecodeRecords feeds arbitrary bytes as a stored batch to the record
// decoder compaction and compacted-log appends use: it must never panic,
// fail only with ErrCorruptBatch, and when it succeeds the records must
// tile the decompressed bytes, and a batch rebuilt from them (recompressed
// with the same codec) must decode to the same records.
func FuzzDecodeRecords(f *testing.F) {
	for codec := codecNone; codec <= codecZstd; codec++ {
		b := keyedBatch(f, batchSpec{ts: 5, codec: codec, recs: []kv{rec("car-1", "lap"), tombstone("car-2"), {value: []byte("keyless")}}})
		f.Add(b)
		f.Add(b[:len(b)-3])
	}
	f.Add(buildBatch(1, []byte("speed=212"), []byte("rpm=11800")))
	f.Add(make([]byte, 61))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseBatchHeader(b)
		if err != nil || h.Size() != len(b) {
			if _, err := decodeRecords(b, int32(len(b)%9), 8, nil); err != nil && !errors.Is(err, ErrCorruptBatch) {
				t.Fatalf("error %v does not wrap ErrCorruptBatch", err)
			}
			return
		}
		keyedErr := checkKeyed(b, h)
		buf, recs, err := decodeBatchRecords(b, h, nil, nil)
		if err != nil {
			if !errors.Is(err, ErrCorruptBatch) || (keyedErr == nil && h.Attributes&attrControl == 0) {
				t.Fatalf("decode error %v (checkKeyed %v)", err, keyedErr)
			}
			return
		}
		if len(recs) != int(h.NumRecords) {
			t.Fatalf("%d records, header says %d", len(recs), h.NumRecords)
		}
		end := 0
		for _, r := range recs {
			if r.start != end || r.end <= r.start {
				t.Fatalf("record spans [%d,%d) after %d", r.start, r.end, end)
			}
			end = r.end
		}
		if end != len(buf) {
			t.Fatalf("records end at %d of %d bytes", end, len(buf))
		}
		nb, err := assembleBatch(nil, b, h, buf, h.NumRecords, h.MaxTimestamp)
		if err != nil {
			t.Fatal(err)
		}
		nh, err := ValidateBatch(nb)
		if err != nil {
			t.Fatalf("rebuilt batch invalid: %v", err)
		}
		_, again, err := decodeBatchRecords(nb, nh, nil, nil)
		if err != nil || len(again) != len(recs) {
			t.Fatalf("rebuilt batch decodes to %d records, %v", len(again), err)
		}
		for i := range recs {
			a, b := recs[i], again[i]
			if a.offsetDelta != b.offsetDelta || a.tsDelta != b.tsDelta || !bytes.Equal(a.key, b.key) ||
				(a.key == nil) != (b.key == nil) || a.nullValue != b.nullValue {
				t.Fatalf("record %d changed in the rebuild: %+v, %+v", i, a, b)
			}
		}
	})
}
