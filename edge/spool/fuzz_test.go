package spool

import (
	"bytes"
	"testing"
)

// FuzzDecodePayload: any bytes decode without panicking; what decodes
// encodes back to the same bytes.
func FuzzDecodePayload(f *testing.F) {
	for i := range 4 {
		r := rec(i, i*7)
		b, _ := appendRecord(nil, &r)
		f.Add(b[frameHeaderLen:])
	}
	f.Add([]byte{recordVersion})
	f.Add([]byte{recordVersion, 0, 0, 0, 0, 200, 1})
	f.Fuzz(func(t *testing.T, payload []byte) {
		var r Record
		if err := DecodePayload(payload, &r); err != nil {
			return
		}
		b, err := appendRecord(nil, &r)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		var r2 Record
		if err := DecodePayload(b[frameHeaderLen:], &r2); err != nil {
			t.Fatalf("decode of re-encoded record: %v", err)
		}
		if r2.Topic != r.Topic || !bytes.Equal(r2.Key, r.Key) || !bytes.Equal(r2.Value, r.Value) ||
			r2.TimeNs != r.TimeNs || r2.Count != r.Count || len(r2.Headers) != len(r.Headers) {
			t.Fatalf("round trip changed the record: %+v -> %+v", r, r2)
		}
	})
}

// FuzzRecover: a spool whose segment holds arbitrary bytes after a valid
// header opens, reads and accepts appends without panicking, and the
// records it hands out decode.
func FuzzRecover(f *testing.F) {
	var b Batch
	for i := range 3 {
		r := rec(i, 20)
		b.Add(&r)
	}
	f.Add(b.buf)
	f.Add(b.buf[:len(b.buf)-3])
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, body []byte) {
		dir := t.TempDir()
		seg, err := createSegment(dir, 0, quietLogger())
		if err != nil {
			t.Fatal(err)
		}
		seg.f.Write(body)
		seg.close()
		s, err := Open(Config{Dir: dir, SegmentBytes: 4096, Logger: quietLogger()})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer s.Close()
		var n int
		for {
			recs, err := s.Read(1 << 16)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if len(recs) == 0 {
				break
			}
			n += len(recs)
		}
		if st := s.Stats(); uint64(n) != st.Next {
			t.Fatalf("read %d records of %d", n, st.Next)
		}
		appendN(t, s, n, 2, 10)
		if got := readAll(t, s, n); len(got) != 2 {
			t.Fatalf("after recovery, read back %d of 2 appended", len(got))
		}
	})
}
