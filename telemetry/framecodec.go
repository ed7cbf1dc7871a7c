package telemetry

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Frames are the hot path (1 M+ samples/s end to end), so the current Frame
// schema has a hand-written Avro binary codec: no reflection, no allocation
// per sample, and strict about truncation and trailing bytes. Its output is
// plain Avro binary that any Avro library decodes (the tests decode it with
// hamba/avro and decode hamba's output with it). Records from other
// registered Frame writer schemas go through hamba's schema resolution.

// AppendFrame appends f, validated, as a single-object record.
func (c *Codec) AppendFrame(dst []byte, f *Frame) ([]byte, error) {
	if err := f.Validate(); err != nil {
		return dst, err
	}
	dst = AppendHeader(dst, c.current[NameFrame])
	return appendFrameBody(dst, f), nil
}

// DecodeFrame decodes a single-object Frame into f and validates it. It
// reuses f.Samples' backing array and f's strings when they are unchanged,
// so decoding a stream of one car's frames allocates nothing.
func (c *Codec) DecodeFrame(data []byte, f *Frame) error {
	fp, body, err := SplitHeader(data)
	if err != nil {
		return err
	}
	if fp == c.current[NameFrame] {
		err = decodeFrameBody(body, f)
	} else {
		err = c.decodeFrameResolved(data, f)
	}
	if err != nil {
		return err
	}
	return f.Validate()
}

func (c *Codec) decodeFrameResolved(data []byte, f *Frame) error {
	samples := f.Samples[:0]
	*f = Frame{Samples: samples}
	return c.decodeGeneric(data, NameFrame, f)
}

func appendFrameBody(dst []byte, f *Frame) []byte {
	dst = appendString(dst, f.Car)
	dst = appendString(dst, f.Session)
	dst = appendLong(dst, f.Seq)
	dst = appendLong(dst, f.TimeNs)
	if n := len(f.Samples); n > 0 {
		dst = appendLong(dst, int64(n))
		for _, s := range f.Samples {
			dst = appendLong(dst, int64(s.ID))
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(s.Value))
		}
	}
	return append(dst, 0) // end of array
}

func decodeFrameBody(b []byte, f *Frame) error {
	r := binReader{b: b}
	car := r.bytes()
	session := r.bytes()
	seq := r.long()
	t := r.long()
	samples := f.Samples[:0]
	for r.err == nil {
		n := r.long()
		if n == 0 {
			break
		}
		if n < 0 { // a block with its byte size, which we do not need
			n = -n
			r.long()
			if n < 0 {
				return fmt.Errorf("%w: Frame: bad array block count", ErrCorrupt)
			}
		}
		// Each sample takes at least 9 bytes: refuse counts the input
		// cannot hold before allocating for them.
		if n > int64(len(r.b)-r.off)/9 || int64(len(samples))+n > MaxSamples {
			return fmt.Errorf("%w: Frame: array block of %d samples", ErrCorrupt, n)
		}
		for range n {
			id := r.int()
			v := r.double()
			samples = append(samples, Sample{ID: id, Value: v})
		}
	}
	if r.err == nil && r.off != len(r.b) {
		r.err = fmt.Errorf("%d bytes left over", len(r.b)-r.off)
	}
	if r.err != nil {
		return fmt.Errorf("%w: Frame: %v", ErrCorrupt, r.err)
	}
	if f.Car != string(car) { // compiles to a comparison without allocating
		f.Car = string(car)
	}
	if f.Session != string(session) {
		f.Session = string(session)
	}
	f.Seq, f.TimeNs, f.Samples = seq, t, samples
	return nil
}

// binReader reads Avro binary primitives; the first error sticks.
type binReader struct {
	b   []byte
	off int
	err error
}

func (r *binReader) long() int64 {
	var u uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if r.off >= len(r.b) {
			r.fail("truncated varint")
			return 0
		}
		c := r.b[r.off]
		r.off++
		if shift == 63 && c > 1 {
			r.fail("varint overflows 64 bits")
			return 0
		}
		u |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return int64(u>>1) ^ -int64(u&1)
		}
	}
	r.fail("varint overflows 64 bits")
	return 0
}

func (r *binReader) int() int32 {
	v := r.long()
	if v < math.MinInt32 || v > math.MaxInt32 {
		r.fail("int out of range")
		return 0
	}
	return int32(v)
}

func (r *binReader) double() float64 {
	if r.err != nil || len(r.b)-r.off < 8 {
		r.fail("truncated double")
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.b[r.off:]))
	r.off += 8
	return v
}

func (r *binReader) bytes() []byte {
	n := r.long()
	if r.err != nil {
		return nil
	}
	if n < 0 || n > int64(len(r.b)-r.off) {
		r.fail("bad string length")
		return nil
	}
	s := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return s
}

func (r *binReader) fail(msg string) {
	if r.err == nil {
		r.err = fmt.Errorf("%s at byte %d", msg, r.off)
	}
	r.off = len(r.b)
}

func appendLong(dst []byte, v int64) []byte {
	u := uint64(v<<1) ^ uint64(v>>63)
	for u >= 0x80 {
		dst = append(dst, byte(u)|0x80)
		u >>= 7
	}
	return append(dst, byte(u))
}

func appendString(dst []byte, s string) []byte {
	dst = appendLong(dst, int64(len(s)))
	return append(dst, s...)
}
