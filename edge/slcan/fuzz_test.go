package slcan

import (
	"bytes"
	"testing"
	"time"

	"github.com/pitwall/pitwall/edge/source/sourcetest"
)

// FuzzParseFrame: no panic; a frame that parses prints back to the same
// record (modulo hex case).
func FuzzParseFrame(f *testing.F) {
	for _, s := range []string{"t1230", "t12320102", "t7FF8DEADBEEF01020304EA5F", "T1FFFFFFF3AABBCC", "r1238", "R0000010000001", "t1", "T"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := ParseFrame(b)
		if err != nil {
			return
		}
		back := AppendFrame(nil, &fr)
		if !bytes.EqualFold(back, append(bytes.Clone(b), '\r')) {
			t.Fatalf("ParseFrame(%q) = %+v prints as %q", b, fr, back)
		}
	})
}

// FuzzStream: whatever an adapter sends, the stream neither panics nor
// hands on an invalid frame.
func FuzzStream(f *testing.F) {
	f.Add([]byte("\r\r\a\rt10080100000000000000\rt1004000000007531\rgarbage\rF04\r"), 5)
	f.Add([]byte("0203\rt1308E803E803E803E8037531\r\a\a\rV1013\rN1234\rz\r"), 3)
	f.Fuzz(func(t *testing.T, input []byte, step int) {
		sk := sourcetest.New()
		st := newTestStream(t, sk)
		step = 1 + abs(step)%64
		recv := time.Unix(1714564830, 0)
		for i := 0; i < len(input); i += step {
			st.feed(input[i:min(i+step, len(input))], recv)
		}
		st.idle(recv)
		for _, fr := range sk.Frames {
			if err := fr.Validate(); err != nil {
				t.Fatalf("invalid frame handed on: %v", err)
			}
		}
	})
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
