package telemetry

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unsafe"
)

// The serial line format; doc.go specifies it.

// MaxLineLen is the longest line, terminator included.
const MaxLineLen = 65536

// Errors of the line format. Every decode error wraps exactly one of them,
// so a reader can count bad lines by kind.
var (
	// ErrChecksum: the line's CRC does not match its content.
	ErrChecksum = errors.New("telemetry: line checksum mismatch")
	// ErrBadLine: the line breaks the grammar (framing, fields, numbers).
	ErrBadLine = errors.New("telemetry: malformed line")
)

// LineKind says what a line carried.
type LineKind byte

// Line kinds: the letter after "$PW".
const (
	LineFrame   LineKind = 'F'
	LineChannel LineKind = 'C'
)

// ChannelLine is one channel announcement ($PWC): channel Index of Count of
// the car's catalog, with the session the car's frames belong to.
type ChannelLine struct {
	Car     string
	Session string
	Index   int // 1..Count
	Count   int // 1..MaxChannels
	Channel Channel
}

// AppendFrameLine appends f, validated, as a $PWF line ending in "\r\n".
// The session is not part of a frame line: readers take it from the car's
// channel lines.
func AppendFrameLine(dst []byte, f *Frame) ([]byte, error) {
	if err := f.Validate(); err != nil {
		return dst, err
	}
	if len(f.Samples) == 0 {
		return dst, fmt.Errorf("%w: frame without samples", ErrInvalid)
	}
	start := len(dst)
	dst = append(dst, "$PWF,"...)
	dst = append(dst, f.Car...)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, f.Seq, 10)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, f.TimeNs, 10)
	for _, s := range f.Samples {
		dst = append(dst, ',')
		dst = strconv.AppendInt(dst, int64(s.ID), 10)
		dst = append(dst, '=')
		dst = appendValue(dst, s.Value)
	}
	return finishLine(dst, start)
}

// AppendChannelLine appends c, validated, as a $PWC line ending in "\r\n".
func AppendChannelLine(dst []byte, c *ChannelLine) ([]byte, error) {
	if err := validIDs(c.Car, c.Session); err != nil {
		return dst, err
	}
	if err := c.Channel.Validate(); err != nil {
		return dst, err
	}
	if c.Count < 1 || c.Count > MaxChannels || c.Index < 1 || c.Index > c.Count {
		return dst, fmt.Errorf("%w: channel line %d of %d", ErrInvalid, c.Index, c.Count)
	}
	start := len(dst)
	dst = append(dst, "$PWC,"...)
	dst = append(dst, c.Car...)
	dst = append(dst, ',')
	dst = append(dst, c.Session...)
	for _, n := range []int64{int64(c.Index), int64(c.Count), int64(c.Channel.ID)} {
		dst = append(dst, ',')
		dst = strconv.AppendInt(dst, n, 10)
	}
	dst = append(dst, ',')
	dst = append(dst, c.Channel.Name...)
	dst = append(dst, ',')
	dst = append(dst, c.Channel.Unit...)
	for _, v := range []float64{c.Channel.RateHz, c.Channel.Min, c.Channel.Max} {
		dst = append(dst, ',')
		dst = appendValue(dst, v)
	}
	return finishLine(dst, start)
}

// finishLine appends "*HHHH\r\n", the CRC of dst[start+1:].
func finishLine(dst []byte, start int) ([]byte, error) {
	crc := CRC16(dst[start+1:])
	dst = append(dst, '*', hexDigits[crc>>12], hexDigits[crc>>8&15], hexDigits[crc>>4&15], hexDigits[crc&15], '\r', '\n')
	if len(dst)-start > MaxLineLen {
		return dst[:start], fmt.Errorf("%w: line of %d bytes is longer than %d", ErrInvalid, len(dst)-start, MaxLineLen)
	}
	return dst, nil
}

const hexDigits = "0123456789ABCDEF"

// appendValue appends v in a form that parses back to exactly v. Sensor
// values have a resolution of a few decimals, so the common case is a
// fixed-point number found without strconv's shortest-float search.
func appendValue(dst []byte, v float64) []byte {
	if v != 0 || !math.Signbit(v) {
		for d := range len(pow10) {
			x := v * pow10[d]
			if x > 1e15 || x < -1e15 {
				break
			}
			// n/10^d is correctly rounded, as is parsing "n with d
			// decimals": equal means the text reads back as v.
			if n := math.Round(x); n/pow10[d] == v {
				return appendFixed(dst, int64(n), d)
			}
		}
	}
	return strconv.AppendFloat(dst, v, 'g', -1, 64)
}

// pow10 holds the powers of ten that are exact float64s and small enough
// for the fixed-point paths.
var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

// appendFixed appends n / 10^d with exactly d decimals.
func appendFixed(dst []byte, n int64, d int) []byte {
	if n < 0 {
		dst = append(dst, '-')
		n = -n
	}
	var buf [24]byte
	i := len(buf)
	for range d {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	if d > 0 {
		i--
		buf[i] = '.'
	}
	for {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return append(dst, buf[i:]...)
}

// ParseLine decodes one line, with or without its "\r\n" or "\n". A frame
// line fills f (Session is cleared; the samples reuse f.Samples' array), a
// channel line fills c. Errors wrap ErrChecksum or ErrBadLine.
func ParseLine(line []byte, f *Frame, c *ChannelLine) (LineKind, error) {
	line = bytes.TrimSuffix(line, []byte{'\n'})
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if len(line) > MaxLineLen {
		return 0, fmt.Errorf("%w: longer than %d bytes", ErrBadLine, MaxLineLen)
	}
	n := len(line)
	if n < 11 || line[0] != '$' || line[1] != 'P' || line[2] != 'W' || line[4] != ',' || line[n-5] != '*' {
		return 0, fmt.Errorf("%w: not a $PW line", ErrBadLine)
	}
	want, ok := parseHex16(line[n-4:])
	if !ok {
		return 0, fmt.Errorf("%w: bad checksum digits", ErrBadLine)
	}
	body := line[1 : n-5]
	if got := CRC16(body); got != want {
		return 0, fmt.Errorf("%w: computed %04X, line says %04X", ErrChecksum, got, want)
	}
	p := fieldParser{rest: body[4:]}
	switch kind := LineKind(line[3]); kind {
	case LineFrame:
		return kind, p.frame(f)
	case LineChannel:
		return kind, p.channel(c)
	default:
		return 0, fmt.Errorf("%w: unknown line kind %q", ErrBadLine, line[3])
	}
}

// fieldParser walks the comma-separated fields of a line body; the first
// error sticks.
type fieldParser struct {
	rest []byte
	done bool
	err  error
}

func (p *fieldParser) next() []byte {
	if p.done {
		p.fail("missing field")
		return nil
	}
	i := bytes.IndexByte(p.rest, ',')
	if i < 0 {
		field := p.rest
		p.rest, p.done = nil, true
		return field
	}
	field := p.rest[:i]
	p.rest = p.rest[i+1:]
	return field
}

func (p *fieldParser) fail(format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("%w: "+format, append([]any{ErrBadLine}, args...)...)
	}
}

func (p *fieldParser) frame(f *Frame) error {
	car := p.next()
	seq := p.uint(p.next(), math.MaxInt64)
	t := p.uint(p.next(), math.MaxInt64)
	samples := f.Samples[:0]
	prev := int64(-1)
	for !p.done && p.err == nil {
		id, v, ok := p.quickSample()
		if !ok {
			pair := p.next()
			eq := bytes.IndexByte(pair, '=')
			if eq < 0 {
				p.fail("sample %q is not id=value", pair)
				break
			}
			id = p.uint(pair[:eq], math.MaxInt32)
			v = p.value(pair[eq+1:])
		}
		if p.err == nil && id <= prev {
			p.fail("channel %d after %d (ids must ascend)", id, prev)
		}
		if len(samples) == MaxSamples {
			p.fail("more than %d samples", MaxSamples)
		}
		samples = append(samples, Sample{ID: int32(id), Value: v})
		prev = id
	}
	if p.err == nil && len(samples) == 0 {
		p.fail("frame without samples")
	}
	if p.err == nil && !ValidCar(unsafeString(car)) {
		p.fail("bad car id %q", car)
	}
	if p.err != nil {
		return p.err
	}
	if f.Car != string(car) {
		f.Car = string(car)
	}
	f.Session, f.Seq, f.TimeNs, f.Samples = "", seq, t, samples
	return nil
}

// quickSample parses the next field in one pass when it is the common
// "id=value": an id without leading zeros up to MaxInt32 and a value with
// at most 15 digits, up to 9 of them decimals, and no exponent, which
// value's fast path would read to the same float. Anything else leaves
// the field to the general path (ok false, nothing consumed). One pass
// instead of finding the comma, the '=', then scanning both parts again:
// the samples are most of what a frame line costs to parse.
func (p *fieldParser) quickSample() (id int64, v float64, ok bool) {
	b := p.rest
	i := 0
	var n uint64
	for ; i < len(b) && i < 11 && b[i]-'0' <= 9; i++ {
		n = n*10 + uint64(b[i]-'0')
	}
	if i == 0 || i == 11 || (i > 1 && b[0] == '0') || i == len(b) || b[i] != '=' || n > math.MaxInt32 {
		return 0, 0, false
	}
	j := i + 1
	neg := j < len(b) && b[j] == '-'
	if neg {
		j++
	}
	start := j
	var mant uint64
	for ; j < len(b) && j-start < 16 && b[j]-'0' <= 9; j++ {
		mant = mant*10 + uint64(b[j]-'0')
	}
	digits := j - start
	if digits == 0 || (digits > 1 && b[start] == '0') {
		return 0, 0, false
	}
	decimals := 0
	if j < len(b) && b[j] == '.' {
		j++
		fs := j
		for ; j < len(b) && j-fs < 10 && b[j]-'0' <= 9; j++ {
			mant = mant*10 + uint64(b[j]-'0')
		}
		decimals = j - fs
		digits += decimals
		if decimals == 0 {
			return 0, 0, false
		}
	}
	if digits > 15 || decimals >= len(pow10) || (j < len(b) && b[j] != ',') {
		return 0, 0, false
	}
	v = float64(mant) / pow10[decimals]
	if neg {
		v = -v
	}
	if j == len(b) {
		p.rest, p.done = nil, true
	} else {
		p.rest = b[j+1:]
	}
	return int64(n), v, true
}

func (p *fieldParser) channel(c *ChannelLine) error {
	car, session := p.next(), p.next()
	index := p.uint(p.next(), MaxChannels)
	count := p.uint(p.next(), MaxChannels)
	id := p.uint(p.next(), math.MaxInt32)
	name, unit := p.next(), p.next()
	rate, lo, hi := p.value(p.next()), p.value(p.next()), p.value(p.next())
	if p.err == nil && !p.done {
		p.fail("extra fields")
	}
	if p.err != nil {
		return p.err
	}
	out := ChannelLine{
		Car: string(car), Session: string(session), Index: int(index), Count: int(count),
		Channel: Channel{ID: int32(id), Name: string(name), Unit: string(unit), RateHz: rate, Min: lo, Max: hi},
	}
	if err := validIDs(out.Car, out.Session); err != nil {
		return fmt.Errorf("%w: %v", ErrBadLine, err)
	}
	if err := out.Channel.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrBadLine, err)
	}
	if out.Index < 1 || out.Index > out.Count {
		return fmt.Errorf("%w: channel %d of %d", ErrBadLine, out.Index, out.Count)
	}
	*c = out
	return nil
}

// uint parses a decimal without sign or leading zeros, at most max.
func (p *fieldParser) uint(b []byte, max int64) int64 {
	if p.err != nil {
		return 0
	}
	if len(b) == 0 || len(b) > 19 || (b[0] == '0' && len(b) > 1) {
		p.fail("bad number %q", b)
		return 0
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			p.fail("bad number %q", b)
			return 0
		}
		v = v*10 + uint64(c-'0')
	}
	if v > uint64(max) {
		p.fail("number %s out of range", b)
		return 0
	}
	return int64(v)
}

// value parses -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?, finite.
func (p *fieldParser) value(b []byte) float64 {
	if p.err != nil {
		return 0
	}
	mant, digits, decimals, exp, ok := scanNumber(b)
	if !ok {
		p.fail("bad value %q", b)
		return 0
	}
	// Clinger's fast path, exact like strconv: an integer mantissa below
	// 2^53 divided by an exact power of ten is correctly rounded.
	if !exp && digits <= 15 && decimals < len(pow10) {
		v := float64(mant) / pow10[decimals]
		if b[0] == '-' {
			v = -v
		}
		return v
	}
	v, err := strconv.ParseFloat(unsafeString(b), 64)
	if err != nil || math.IsInf(v, 0) {
		p.fail("value %q out of range", b)
		return 0
	}
	return v
}

// scanNumber checks the value grammar and, for the fast path, collects the
// digits (as long as they fit) and the count of decimals.
func scanNumber(b []byte) (mant uint64, digits, decimals int, exp, ok bool) {
	if len(b) == 0 || len(b) > 32 {
		return 0, 0, 0, false, false
	}
	i := 0
	if b[0] == '-' {
		i++
	}
	start := i
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		mant = mant*10 + uint64(b[i]-'0')
	}
	intDigits := i - start
	if intDigits == 0 || (intDigits > 1 && b[start] == '0') {
		return 0, 0, 0, false, false
	}
	digits = intDigits
	if i < len(b) && b[i] == '.' {
		i++
		fs := i
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			mant = mant*10 + uint64(b[i]-'0')
		}
		decimals = i - fs
		if decimals == 0 {
			return 0, 0, 0, false, false
		}
		digits += decimals
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		exp = true
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		es := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == es {
			return 0, 0, 0, false, false
		}
	}
	return mant, digits, decimals, exp, i == len(b)
}

func parseHex16(b []byte) (uint16, bool) {
	var v uint16
	for _, c := range b {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint16(d)
	}
	return v, true
}

// unsafeString views b as a string without copying; only for reads that do
// not outlive b.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// CRC16 is CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no
// reflection, no final XOR ("123456789" gives 0x29B1). It works on 8 bytes
// at a time (slicing-by-8), since every line of the format goes through it.
func CRC16(b []byte) uint16 {
	crc := uint16(0xFFFF)
	t := &crc16Tables
	for len(b) >= 8 {
		crc = t[7][byte(crc>>8)^b[0]] ^ t[6][byte(crc)^b[1]] ^ t[5][b[2]] ^ t[4][b[3]] ^
			t[3][b[4]] ^ t[2][b[5]] ^ t[1][b[6]] ^ t[0][b[7]]
		b = b[8:]
	}
	for _, c := range b {
		crc = crc<<8 ^ t[0][byte(crc>>8)^c]
	}
	return crc
}

// crc16Tables[k][i] is the CRC register after byte i followed by k zero
// bytes, from a zero register.
var crc16Tables = func() (t [8][256]uint16) {
	for i := range t[0] {
		crc := uint16(i) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
		t[0][i] = crc
	}
	for k := 1; k < 8; k++ {
		for i := range t[k] {
			prev := t[k-1][i]
			t[k][i] = prev<<8 ^ t[0][prev>>8]
		}
	}
	return t
}()
