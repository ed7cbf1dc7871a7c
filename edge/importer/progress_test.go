package importer

import (
	"bytes"
	"strings"
	"testing"
)

// On a terminal the progress is one bar redrawn in place, ended by a
// newline; elsewhere a line per 10%, from where a resumed import starts.
func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, true, 200, 0)
	for i := 1; i <= 200; i++ {
		p.update(i)
	}
	p.finish()
	out := buf.String()
	if !strings.HasPrefix(out, "\r[") || !strings.HasSuffix(out, "\n") || strings.Count(out, "\n") != 1 ||
		!strings.Contains(out, "[##############################] 100%  200/200 frames") {
		t.Errorf("terminal progress %q", out)
	}

	buf.Reset()
	p = newProgress(&buf, false, 1000, 500) // resumed half way
	for i := 501; i <= 1000; i++ {
		p.update(i)
	}
	p.finish()
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], " 60%  600/1000 frames") || !strings.HasPrefix(lines[4], "100%  1000/1000 frames") ||
		strings.Contains(buf.String(), "\r") {
		t.Errorf("plain progress:\n%s", buf.String())
	}
	newProgress(nil, true, 10, 0).update(10) // no writer: nothing, no panic
}
