package importer

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progress shows how many frames are acknowledged: a bar redrawn in
// place on a terminal (at most every 100 ms), a line every 10% otherwise.
type progress struct {
	w        io.Writer
	terminal bool
	total    int
	start    time.Time
	first    int // frames done before this run
	last     time.Time
	lastTen  int // the last tenth a line was printed for
	done     int
}

func newProgress(w io.Writer, terminal bool, total, done int) *progress {
	p := &progress{w: w, terminal: terminal, total: total, start: time.Now(), first: done, done: done, lastTen: done * 10 / max(total, 1)}
	return p
}

func (p *progress) update(done int) {
	p.done = done
	if p.w == nil {
		return
	}
	if p.terminal {
		if time.Since(p.last) >= 100*time.Millisecond || done == p.total {
			p.last = time.Now()
			fmt.Fprintf(p.w, "\r%s", p.line())
		}
		return
	}
	if ten := done * 10 / max(p.total, 1); ten > p.lastTen {
		p.lastTen = ten
		fmt.Fprintln(p.w, p.line())
	}
}

// line is "[#####.....]  52%  1300/2500 frames  812 frames/s".
func (p *progress) line() string {
	frac := float64(p.done) / float64(max(p.total, 1))
	n := int(frac * 30)
	rate := float64(p.done-p.first) / max(time.Since(p.start).Seconds(), 1e-3)
	bar := ""
	if p.terminal {
		bar = "[" + strings.Repeat("#", n) + strings.Repeat(".", 30-n) + "] "
	}
	return fmt.Sprintf("%s%3.0f%%  %d/%d frames  %.0f frames/s", bar, 100*frac, p.done, p.total, rate)
}

// finish ends the bar's line.
func (p *progress) finish() {
	if p.w != nil && p.terminal {
		fmt.Fprintf(p.w, "\r%s\n", p.line())
	}
}
