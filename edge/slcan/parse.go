package slcan

import (
	"errors"
	"fmt"

	"github.com/pitwall/pitwall/edge/can"
)

// ErrBadFrame is wrapped by every error of ParseFrame.
var ErrBadFrame = errors.New("slcan: malformed frame")

// maxStamp is the largest Z1 timestamp: 0xEA5F = 59999 ms.
const maxStamp = 59999

// ParseFrame parses one frame record without its "\r":
//
//	tIIIL<data>[TTTT]      standard data frame: 3 hex digits of id, length digit, 2L hex digits
//	TIIIIIIIIL<data>[TTTT] extended data frame: 8 hex digits of id
//	rIIIL[TTTT]            standard remote frame
//	RIIIIIIIIL[TTTT]       extended remote frame
//
// TTTT is the Z1 timestamp (4 hex digits of milliseconds). Whether it is
// there follows from the length. Hex digits may be upper or lower case.
func ParseFrame(b []byte) (can.Frame, error) {
	f := can.Frame{Stamp: -1}
	if len(b) == 0 {
		return f, fmt.Errorf("%w: empty", ErrBadFrame)
	}
	idLen := 3
	switch b[0] {
	case 't':
	case 'r':
		f.Remote = true
	case 'T':
		f.Extended, idLen = true, 8
	case 'R':
		f.Extended, f.Remote, idLen = true, true, 8
	default:
		return f, fmt.Errorf("%w: unknown frame type %q", ErrBadFrame, b[0])
	}
	if len(b) < 2+idLen {
		return f, fmt.Errorf("%w: %d bytes, too short", ErrBadFrame, len(b))
	}
	id, ok := hexValue(b[1 : 1+idLen])
	if !ok {
		return f, fmt.Errorf("%w: bad id %q", ErrBadFrame, b[1:1+idLen])
	}
	if (!f.Extended && id > can.MaxStandardID) || id > can.MaxExtendedID {
		return f, fmt.Errorf("%w: id %X out of range", ErrBadFrame, id)
	}
	f.ID = id
	l := b[1+idLen]
	if l < '0' || l > '8' {
		return f, fmt.Errorf("%w: length %q", ErrBadFrame, l)
	}
	f.Len = l - '0'
	rest := b[2+idLen:]
	dataLen := 2 * int(f.Len)
	if f.Remote {
		dataLen = 0
	}
	switch len(rest) {
	case dataLen:
	case dataLen + 4:
		st, ok := hexValue(rest[dataLen:])
		if !ok || st > maxStamp {
			return f, fmt.Errorf("%w: bad timestamp %q", ErrBadFrame, rest[dataLen:])
		}
		f.Stamp = int32(st)
	default:
		return f, fmt.Errorf("%w: %d characters after the length, want %d or %d", ErrBadFrame, len(rest), dataLen, dataLen+4)
	}
	for i := 0; i < dataLen/2; i++ {
		v, ok := hexValue(rest[2*i : 2*i+2])
		if !ok {
			return f, fmt.Errorf("%w: bad data byte %q", ErrBadFrame, rest[2*i:2*i+2])
		}
		f.Data[i] = byte(v)
	}
	return f, nil
}

// AppendFrame appends f as an SLCAN record, "\r" included; the timestamp
// only when Stamp >= 0.
func AppendFrame(dst []byte, f *can.Frame) []byte {
	const hex = "0123456789ABCDEF"
	kind := byte('t')
	switch {
	case f.Extended && f.Remote:
		kind = 'R'
	case f.Extended:
		kind = 'T'
	case f.Remote:
		kind = 'r'
	}
	dst = append(dst, kind)
	idLen := 3
	if f.Extended {
		idLen = 8
	}
	for i := idLen - 1; i >= 0; i-- {
		dst = append(dst, hex[f.ID>>(4*i)&15])
	}
	dst = append(dst, '0'+min(f.Len, 8))
	if !f.Remote {
		for _, c := range f.Data[:min(f.Len, 8)] {
			dst = append(dst, hex[c>>4], hex[c&15])
		}
	}
	if f.Stamp >= 0 {
		s := f.Stamp
		dst = append(dst, hex[s>>12&15], hex[s>>8&15], hex[s>>4&15], hex[s&15])
	}
	return append(dst, '\r')
}

// hexValue parses up to 8 hex digits.
func hexValue(b []byte) (uint32, bool) {
	if len(b) == 0 || len(b) > 8 {
		return 0, false
	}
	var v uint32
	for _, c := range b {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint32(d)
	}
	return v, true
}
