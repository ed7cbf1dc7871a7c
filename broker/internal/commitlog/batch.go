package commitlog

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Layout of a Kafka record batch v2 (see doc.go). Only the header is ever
// parsed here; records stay opaque bytes.
const (
	batchOverhead   = 12 // baseOffset int64 + length int32, not counted in length
	batchHeaderSize = 61 // bytes before the first record
	minBatchLength  = batchHeaderSize - batchOverhead

	offLength          = 8
	offLeaderEpoch     = 12
	offMagic           = 16
	offCRC             = 17
	offAttributes      = 21
	offLastOffsetDelta = 23
	offFirstTimestamp  = 27
	offMaxTimestamp    = 35
	offProducerID      = 43
	offProducerEpoch   = 51
	offBaseSequence    = 53
	offNumRecords      = 57

	batchMagic = 2
	// maxCodec is the highest compression codec Kafka defines (zstd).
	maxCodec = 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// BatchHeader is the fixed 61-byte header of a record batch v2.
type BatchHeader struct {
	BaseOffset      int64
	Length          int32 // bytes after the Length field; the batch is Length+12 bytes
	LeaderEpoch     int32
	Magic           int8
	CRC             uint32
	Attributes      int16
	LastOffsetDelta int32
	FirstTimestamp  int64
	MaxTimestamp    int64
	ProducerID      int64
	ProducerEpoch   int16
	BaseSequence    int32
	NumRecords      int32
}

// Size is the whole batch size in bytes, log overhead included.
func (h BatchHeader) Size() int { return int(h.Length) + batchOverhead }

// LastOffset is the offset of the batch's last record.
func (h BatchHeader) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// ParseBatchHeader decodes the header at the start of b without checking the
// CRC or that b holds the whole batch. It fails with ErrCorruptBatch when b is
// shorter than a header, the magic is not 2 or the length cannot hold a header.
func ParseBatchHeader(b []byte) (BatchHeader, error) {
	if len(b) < batchHeaderSize {
		return BatchHeader{}, fmt.Errorf("%w: %d bytes, shorter than a %d-byte header", ErrCorruptBatch, len(b), batchHeaderSize)
	}
	be := binary.BigEndian
	h := BatchHeader{
		BaseOffset:      int64(be.Uint64(b[0:])),
		Length:          int32(be.Uint32(b[offLength:])),
		LeaderEpoch:     int32(be.Uint32(b[offLeaderEpoch:])),
		Magic:           int8(b[offMagic]),
		CRC:             be.Uint32(b[offCRC:]),
		Attributes:      int16(be.Uint16(b[offAttributes:])),
		LastOffsetDelta: int32(be.Uint32(b[offLastOffsetDelta:])),
		FirstTimestamp:  int64(be.Uint64(b[offFirstTimestamp:])),
		MaxTimestamp:    int64(be.Uint64(b[offMaxTimestamp:])),
		ProducerID:      int64(be.Uint64(b[offProducerID:])),
		ProducerEpoch:   int16(be.Uint16(b[offProducerEpoch:])),
		BaseSequence:    int32(be.Uint32(b[offBaseSequence:])),
		NumRecords:      int32(be.Uint32(b[offNumRecords:])),
	}
	if h.Magic != batchMagic {
		return h, fmt.Errorf("%w: magic %d, want %d", ErrCorruptBatch, h.Magic, batchMagic)
	}
	if h.Length < minBatchLength {
		return h, fmt.Errorf("%w: length %d below the minimum %d", ErrCorruptBatch, h.Length, minBatchLength)
	}
	return h, nil
}

// ValidateBatch checks that b is exactly one well-formed record batch v2:
// header, length field equal to len(b)-12, magic 2, CRC-32C over bytes 21..end,
// a known compression codec, a record count >= 0 and lastOffsetDelta >= 0.
// Every failure wraps ErrCorruptBatch.
func ValidateBatch(b []byte) (BatchHeader, error) {
	h, err := ParseBatchHeader(b)
	if err != nil {
		return h, err
	}
	if int(h.Length) != len(b)-batchOverhead {
		return h, fmt.Errorf("%w: length field %d, but %d bytes follow it", ErrCorruptBatch, h.Length, len(b)-batchOverhead)
	}
	if err := checkHeaderFields(h); err != nil {
		return h, err
	}
	if sum := crc32.Checksum(b[offAttributes:], castagnoli); sum != h.CRC {
		return h, fmt.Errorf("%w: crc %08x, computed %08x", ErrCorruptBatch, h.CRC, sum)
	}
	return h, nil
}

// checkHeaderFields holds the checks that need neither the records nor the CRC.
func checkHeaderFields(h BatchHeader) error {
	if h.NumRecords < 0 {
		return fmt.Errorf("%w: record count %d", ErrCorruptBatch, h.NumRecords)
	}
	if h.LastOffsetDelta < 0 {
		return fmt.Errorf("%w: lastOffsetDelta %d", ErrCorruptBatch, h.LastOffsetDelta)
	}
	if codec := h.Attributes & 0x7; codec > maxCodec {
		return fmt.Errorf("%w: unknown compression codec %d", ErrCorruptBatch, codec)
	}
	return nil
}

// stamp sets the broker-owned fields, which lie outside the CRC.
func stamp(b []byte, base int64, leaderEpoch int32) {
	binary.BigEndian.PutUint64(b[0:], uint64(base))
	binary.BigEndian.PutUint32(b[offLeaderEpoch:], uint32(leaderEpoch))
}

// batchBase and batchSize read the two leading fields of a stored batch; the
// caller guarantees at least batchOverhead bytes.
func batchBase(b []byte) int64 { return int64(binary.BigEndian.Uint64(b)) }
func batchSize(b []byte) int64 {
	return int64(int32(binary.BigEndian.Uint32(b[offLength:]))) + batchOverhead
}
