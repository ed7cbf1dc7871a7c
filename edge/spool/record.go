package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Record is one Kafka record waiting in the spool.
type Record struct {
	// Topic is the Kafka topic the record goes to.
	Topic string
	// Key is the record key (a car id, or a source name).
	Key []byte
	// TimeNs is the record timestamp, nanoseconds since the Unix epoch:
	// when the edge received the data.
	TimeNs int64
	// Headers are the record headers.
	Headers []Header
	// Value is the record value.
	Value []byte
	// Count is what the record stands for in metrics (a frame's samples).
	// It is kept in the spool and never sent.
	Count uint32

	// Index is the record's position in the spool: every record appended
	// gets the next index, across segments and restarts. Set by Read;
	// ignored by Batch.Add.
	Index uint64
}

// Header is one record header.
type Header struct {
	Key   string
	Value []byte
}

// Limits of the record format.
const (
	// frameHeaderLen is the length and CRC before every record payload.
	frameHeaderLen = 8
	// MaxRecordBytes is the largest encoded record payload. Kafka's
	// default max.message.bytes is 1 MiB; the spool allows more so a record
	// the broker refuses can still be spooled and dead-lettered.
	MaxRecordBytes = 16 << 20
	// recordVersion is the first byte of every payload.
	recordVersion = 1
)

// Errors of the record format.
var (
	// ErrCorrupt: bytes that are not a record (bad length, CRC mismatch,
	// malformed payload).
	ErrCorrupt = errors.New("spool: corrupt record")
	// ErrTooLarge: a record larger than MaxRecordBytes.
	ErrTooLarge = errors.New("spool: record too large")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendRecord appends r framed: length, CRC-32C, payload.
func appendRecord(dst []byte, r *Record) ([]byte, error) {
	start := len(dst)
	dst = append(dst, make([]byte, frameHeaderLen)...)
	dst = append(dst, recordVersion)
	dst = binary.AppendUvarint(dst, uint64(r.Count))
	dst = binary.AppendVarint(dst, r.TimeNs)
	dst = appendBytes(dst, []byte(r.Topic))
	dst = appendBytes(dst, r.Key)
	dst = binary.AppendUvarint(dst, uint64(len(r.Headers)))
	for _, h := range r.Headers {
		dst = appendBytes(dst, []byte(h.Key))
		dst = appendBytes(dst, h.Value)
	}
	dst = append(dst, r.Value...)
	payload := dst[start+frameHeaderLen:]
	if len(payload) > MaxRecordBytes {
		return dst[:start], fmt.Errorf("%w: %d bytes", ErrTooLarge, len(payload))
	}
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.Checksum(payload, castagnoli))
	return dst, nil
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// frameLen reads a record's framing at the start of b: the payload length.
// ok is false when b is shorter than the framing; err is set when the
// length is impossible.
func frameLen(b []byte) (n int, ok bool, err error) {
	if len(b) < frameHeaderLen {
		return 0, false, nil
	}
	l := binary.LittleEndian.Uint32(b)
	if l == 0 || l > MaxRecordBytes {
		return 0, true, fmt.Errorf("%w: length %d", ErrCorrupt, l)
	}
	return int(l), true, nil
}

// decodeFramed decodes the record at the start of b, whose framing says
// the payload is n bytes and which holds at least frameHeaderLen+n bytes.
// The record's slices alias b.
func decodeFramed(b []byte, n int, r *Record) error {
	payload := b[frameHeaderLen : frameHeaderLen+n]
	if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return fmt.Errorf("%w: CRC mismatch", ErrCorrupt)
	}
	return DecodePayload(payload, r)
}

// DecodePayload decodes one record payload (what follows the length and
// CRC) into r, strictly: every field present, nothing left over but the
// value. r's slices alias payload. Index is left alone.
func DecodePayload(payload []byte, r *Record) error {
	d := decoder{b: payload}
	if v := d.byte(); d.err == nil && v != recordVersion {
		return fmt.Errorf("%w: version %d", ErrCorrupt, v)
	}
	count := d.uvarint()
	if count > 1<<32-1 {
		d.fail("count out of range")
	}
	timeNs := d.varint()
	topic := d.bytes()
	key := d.bytes()
	nh := d.uvarint()
	if nh > uint64(len(d.b)-d.off)/2 { // each header takes at least 2 bytes
		d.fail("header count")
	}
	var headers []Header
	if d.err == nil && nh > 0 {
		headers = make([]Header, 0, nh)
		for range nh {
			k := d.bytes()
			v := d.bytes()
			headers = append(headers, Header{Key: string(k), Value: v})
		}
	}
	if d.err != nil {
		return d.err
	}
	r.Count, r.TimeNs, r.Topic, r.Key, r.Headers, r.Value = uint32(count), timeNs, string(topic), key, headers, payload[d.off:]
	return nil
}

// decoder reads payload fields; the first error sticks.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: bad %s at byte %d", ErrCorrupt, what, d.off)
	}
	d.off = len(d.b)
}

func (d *decoder) byte() byte {
	if d.off >= len(d.b) {
		d.fail("length")
		return 0
	}
	d.off++
	return d.b[d.off-1]
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail("varint")
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail("varint")
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)-d.off) {
		d.fail("field length")
		return nil
	}
	b := d.b[d.off : d.off+int(n) : d.off+int(n)]
	d.off += int(n)
	return b
}

// Batch is records encoded for one Append: one write to the spool file.
// The zero Batch is empty and ready.
type Batch struct {
	buf []byte
	n   int
}

// Add encodes r into the batch.
func (b *Batch) Add(r *Record) error {
	var err error
	if b.buf, err = appendRecord(b.buf, r); err != nil {
		return err
	}
	b.n++
	return nil
}

// Len returns the number of records in the batch.
func (b *Batch) Len() int { return b.n }

// Size returns the batch's encoded size in bytes.
func (b *Batch) Size() int { return len(b.buf) }

// Reset empties the batch, keeping its memory.
func (b *Batch) Reset() { b.buf, b.n = b.buf[:0], 0 }
