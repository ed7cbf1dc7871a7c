package up

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// The board's first line fits 80 columns whatever the track and the
// broker's address; the Ctrl-C hint goes first.
func TestBoardHeaderFits(t *testing.T) {
	if h := boardHeader("brands-indy", 4, "real time", "127.0.0.1:9092"); !strings.HasSuffix(h, "(Ctrl-C to stop)") || len(h) > 80 {
		t.Errorf("short header %q (%d columns)", h, len(h))
	}
	for _, c := range []struct{ track, broker string }{
		{"brands-indy", "127.0.0.1:45678"},
		{"nurburgring-nordschleife-24h", "[::1]:45678"},
	} {
		if h := boardHeader(c.track, 12, "max", c.broker); utf8.RuneCountInString(h) > 80 || !strings.HasPrefix(h, "Pitwall  "+c.track) {
			t.Errorf("%q: %d columns", h, utf8.RuneCountInString(h))
		}
	}
}
