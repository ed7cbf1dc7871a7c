package commitlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Records are decoded only where keys matter: compaction, and Append on a
// compacted log (every record needs a key). Everything else keeps batches
// opaque.

// Batch attribute bits (Kafka's RecordBatch).
const (
	attrCodecMask     = 0x07
	attrLogAppendTime = 0x08
	attrTransactional = 0x10
	attrControl       = 0x20

	codecNone   = 0
	codecGzip   = 1
	codecSnappy = 2
	codecLz4    = 3
	codecZstd   = 4

	// maxRecordsBytes bounds a batch's records once decompressed, so a
	// small hostile batch cannot make the broker allocate gigabytes. A
	// 1 MiB batch of telemetry decompresses to a few MiB.
	maxRecordsBytes = 64 << 20
	// minRecordSize is the smallest encoded record: seven one-byte fields.
	minRecordSize = 7
)

// record is one decoded record of a batch. Its bytes are kept as they are:
// compaction copies surviving records verbatim, so their offset and
// timestamp deltas stay relative to the batch's unchanged baseOffset and
// firstTimestamp.
type record struct {
	offsetDelta int32
	tsDelta     int64
	key         []byte // nil for a null key; aliases the records buffer
	nullValue   bool   // a tombstone
	start, end  int    // the record's bytes (length prefix included) in the records buffer
}

// decodeBatchRecords decompresses the records of batch (one whole stored
// batch with header h) into buf and decodes them. Every failure wraps
// ErrCorruptBatch; it never panics on any input.
func decodeBatchRecords(batch []byte, h BatchHeader, buf []byte, recs []record) ([]byte, []record, error) {
	if h.Size() != len(batch) || len(batch) < batchHeaderSize {
		return buf, recs, fmt.Errorf("%w: batch of %d bytes says %d", ErrCorruptBatch, len(batch), h.Size())
	}
	raw := batch[batchHeaderSize:]
	var err error
	switch codec := h.Attributes & attrCodecMask; codec {
	case codecNone:
		buf = append(buf[:0], raw...)
	default:
		if buf, err = decompress(int(codec), raw, buf[:0]); err != nil {
			return buf, recs, fmt.Errorf("%w: records: %w", ErrCorruptBatch, err)
		}
	}
	recs, err = decodeRecords(buf, h.NumRecords, h.LastOffsetDelta, recs[:0])
	return buf, recs, err
}

// decodeRecords parses exactly n records filling b. Offset deltas must
// increase strictly and stay within lastDelta.
func decodeRecords(b []byte, n, lastDelta int32, recs []record) ([]record, error) {
	if n < 0 || int64(n)*minRecordSize > int64(len(b)) {
		return recs, fmt.Errorf("%w: %d records cannot fit in %d bytes", ErrCorruptBatch, n, len(b))
	}
	recs = recs[:0]
	prev := int32(-1)
	for p := 0; p < len(b) || len(recs) < int(n); {
		if len(recs) == int(n) {
			return recs, fmt.Errorf("%w: %d bytes after the last of %d records", ErrCorruptBatch, len(b)-p, n)
		}
		r, next, err := decodeRecord(b, p)
		if err != nil {
			return recs, fmt.Errorf("%w: record %d: %w", ErrCorruptBatch, len(recs), err)
		}
		if r.offsetDelta <= prev || r.offsetDelta > lastDelta {
			return recs, fmt.Errorf("%w: record %d has offset delta %d after %d (last %d)", ErrCorruptBatch, len(recs), r.offsetDelta, prev, lastDelta)
		}
		prev = r.offsetDelta
		recs = append(recs, r)
		p = next
	}
	return recs, nil
}

var errShortRecord = errors.New("truncated record")

// decodeRecord parses the record at b[p:] and returns where it ends.
func decodeRecord(b []byte, p int) (record, int, error) {
	length, n := binary.Varint(b[p:])
	if n <= 0 || length < minRecordSize-1 || length > int64(len(b)-p-n) {
		return record{}, 0, errShortRecord
	}
	r := record{start: p}
	end := p + n + int(length)
	d := recordDecoder{b: b[:end], p: p + n}
	d.p++ // attributes: unused, kept verbatim
	r.tsDelta = d.varint()
	delta := d.varint()
	r.key = d.bytes(true)
	r.nullValue = d.bytes(true) == nil
	headers := d.varint()
	if headers < 0 || headers > int64(end-d.p) {
		d.bad = true
	}
	for i := int64(0); i < headers && !d.bad; i++ {
		d.bytes(false) // header keys are never null
		d.bytes(true)
	}
	if d.bad || d.p != end || delta < 0 || delta > 1<<31-1 {
		return record{}, 0, fmt.Errorf("malformed record at %d", p)
	}
	r.offsetDelta, r.end = int32(delta), end
	return r, end, nil
}

// recordDecoder reads varints and length-prefixed bytes from one record;
// bad sticks once anything does not fit.
type recordDecoder struct {
	b   []byte
	p   int
	bad bool
}

func (d *recordDecoder) varint() int64 {
	if d.bad || d.p >= len(d.b) {
		d.bad = true
		return 0
	}
	v, n := binary.Varint(d.b[d.p:])
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.p += n
	return v
}

// bytes reads a length-prefixed field: nil for length -1 if nullable,
// otherwise a non-nil slice (empty for length 0).
func (d *recordDecoder) bytes(nullable bool) []byte {
	l := d.varint()
	switch {
	case d.bad:
		return nil
	case l == -1 && nullable:
		return nil
	case l < 0 || l > int64(len(d.b)-d.p):
		d.bad = true
		return nil
	}
	v := d.b[d.p : d.p+int(l) : d.p+int(l)]
	d.p += int(l)
	return v
}

// checkKeyed is Append's check for a compacted log: every record of a
// non-control batch must decode and carry a key (Kafka refuses keyless
// records for compacted topics with CORRUPT_MESSAGE).
func checkKeyed(batch []byte, h BatchHeader) error {
	if h.Attributes&attrControl != 0 {
		return nil
	}
	_, recs, err := decodeBatchRecords(batch, h, nil, nil)
	if err != nil {
		return err
	}
	for i, r := range recs {
		if r.key == nil {
			return fmt.Errorf("%w: record %d has no key, and a compacted log needs one", ErrCorruptBatch, i)
		}
	}
	return nil
}

// Codecs. zstd's decoder and encoder are safe for concurrent use and
// costly to build, so one of each serves the process; the others are made
// per call.
var (
	zstdDecoder = sync.OnceValues(func() (*zstd.Decoder, error) {
		return zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxRecordsBytes))
	})
	zstdEncoder = sync.OnceValues(func() (*zstd.Encoder, error) {
		return zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	})
)

// xerialHeader starts snappy data framed as the Java client (snappy-java)
// frames it: magic, version 1, minimum compatible version 1.
var xerialHeader = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1}

const xerialBlockSize = 32 << 10

// decompress appends the decompressed src to dst, refusing more than
// maxRecordsBytes.
func decompress(codec int, src, dst []byte) ([]byte, error) {
	switch codec {
	case codecGzip:
		zr, err := gzip.NewReader(bytes.NewReader(src))
		if err != nil {
			return dst, err
		}
		return readBounded(dst, zr)
	case codecSnappy:
		return decompressSnappy(src, dst)
	case codecLz4:
		return readBounded(dst, lz4.NewReader(bytes.NewReader(src)))
	case codecZstd:
		dec, err := zstdDecoder()
		if err != nil {
			return dst, err
		}
		return dec.DecodeAll(src, dst)
	}
	return dst, fmt.Errorf("unknown compression codec %d", codec)
}

func readBounded(dst []byte, r io.Reader) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	n, err := buf.ReadFrom(io.LimitReader(r, maxRecordsBytes+1))
	if err == nil && n > maxRecordsBytes {
		err = fmt.Errorf("records larger than %d bytes decompressed", maxRecordsBytes)
	}
	return buf.Bytes(), err
}

// decompressSnappy reads xerial-framed snappy (Java clients, franz-go) or
// a raw snappy block (some Go clients).
func decompressSnappy(src, dst []byte) ([]byte, error) {
	if !bytes.HasPrefix(src, xerialHeader[:8]) || len(src) < len(xerialHeader) {
		return snappyBlock(src, dst)
	}
	for src = src[len(xerialHeader):]; len(src) > 0; {
		if len(src) < 4 {
			return dst, errors.New("snappy: truncated xerial chunk length")
		}
		n := binary.BigEndian.Uint32(src)
		if uint64(n) > uint64(len(src)-4) {
			return dst, errors.New("snappy: xerial chunk beyond the data")
		}
		var err error
		if dst, err = snappyBlock(src[4:4+n], dst); err != nil {
			return dst, err
		}
		src = src[4+n:]
	}
	return dst, nil
}

// snappyBlock appends one decoded raw snappy block to dst.
func snappyBlock(src, dst []byte) ([]byte, error) {
	n, err := s2.DecodedLen(src)
	if err != nil {
		return dst, err
	}
	if n > maxRecordsBytes-len(dst) {
		return dst, fmt.Errorf("records larger than %d bytes decompressed", maxRecordsBytes)
	}
	start := len(dst)
	dst = append(dst, make([]byte, n)...)
	out, err := s2.Decode(dst[start:], src)
	if err != nil || len(out) != n {
		return dst[:start], fmt.Errorf("snappy: %w", errors.Join(err, errors.New("bad block")))
	}
	return dst, nil
}

// compress appends src compressed with codec to dst, in the framing Kafka's
// Java producer writes: gzip, xerial-framed snappy, lz4 frames, zstd frames.
func compress(codec int, src, dst []byte) ([]byte, error) {
	out := bytes.NewBuffer(dst)
	var w io.WriteCloser
	switch codec {
	case codecGzip:
		w = gzip.NewWriter(out)
	case codecSnappy:
		dst = append(dst, xerialHeader...)
		for len(src) > 0 {
			n := min(len(src), xerialBlockSize)
			block := s2.EncodeSnappy(nil, src[:n])
			dst = binary.BigEndian.AppendUint32(dst, uint32(len(block)))
			dst = append(dst, block...)
			src = src[n:]
		}
		return dst, nil
	case codecLz4:
		lw := lz4.NewWriter(out)
		if err := lw.Apply(lz4.BlockSizeOption(lz4.Block64Kb)); err != nil { // Java's block size
			return dst, err
		}
		w = lw
	case codecZstd:
		enc, err := zstdEncoder()
		if err != nil {
			return dst, err
		}
		return enc.EncodeAll(src, dst), nil
	default:
		return dst, fmt.Errorf("commitlog: unknown compression codec %d", codec)
	}
	if _, err := w.Write(src); err != nil {
		return dst, err
	}
	if err := w.Close(); err != nil {
		return dst, err
	}
	return out.Bytes(), nil
}

// assembleBatch appends to dst a batch with orig's header (baseOffset,
// lastOffsetDelta, leader epoch, attributes, firstTimestamp, producer id,
// epoch and base sequence unchanged) holding the given raw records,
// compressed with orig's codec, with the record count, maxTimestamp,
// length and CRC-32C set to match. With no records it writes an empty
// uncompressed batch, as Kafka does to keep a producer's last sequence.
func assembleBatch(dst, orig []byte, h BatchHeader, recs []byte, n int32, maxTs int64) ([]byte, error) {
	start := len(dst)
	dst = append(dst, orig[:batchHeaderSize]...)
	hdr := dst[start:]
	codec := int(h.Attributes & attrCodecMask)
	if n == 0 {
		maxTs = h.MaxTimestamp
		attrs := uint16(h.Attributes) &^ attrCodecMask
		binary.BigEndian.PutUint16(hdr[offAttributes:], attrs)
		binary.BigEndian.PutUint64(hdr[offFirstTimestamp:], uint64(h.MaxTimestamp))
		codec = codecNone
	}
	var err error
	if codec == codecNone {
		dst = append(dst, recs...)
	} else if dst, err = compress(codec, recs, dst); err != nil {
		return dst[:start], err
	}
	b := dst[start:]
	binary.BigEndian.PutUint32(b[offLength:], uint32(len(b)-batchOverhead))
	binary.BigEndian.PutUint64(b[offMaxTimestamp:], uint64(maxTs))
	binary.BigEndian.PutUint32(b[offNumRecords:], uint32(n))
	binary.BigEndian.PutUint32(b[offCRC:], crc32.Checksum(b[offAttributes:], castagnoli))
	return dst, nil
}
