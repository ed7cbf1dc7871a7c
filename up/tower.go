package up

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/dashboards/web"
	"github.com/pitwall/pitwall/telemetry"
)

// ANSI colours of the terminal tower, as the page paints them.
const (
	ansiReset  = "\x1b[0m"
	ansiPurple = "\x1b[1;35m"
	ansiGreen  = "\x1b[1;32m"
	ansiYellow = "\x1b[33m"
	ansiPit    = "\x1b[30;43m" // black on amber
	ansiDim    = "\x1b[2m"
)

func ansiOf(colour string) string {
	switch colour {
	case web.Purple:
		return ansiPurple
	case web.Green:
		return ansiGreen
	case web.Yellow:
		return ansiYellow
	}
	return ""
}

// RenderTower writes the timing tower in 78 columns: position, car
// (number and driver), laps, last and best lap, the last lap's sectors,
// interval to the car ahead, gap to the leader, and live pit status, and
// a "!" in column 80 for a car with a raised alarm (web.Row.Alarm). With
// colour, times are purple (session best), green (the car's best) or
// yellow, a car in the pit lane is marked IN PIT on amber, and the alarm
// mark is red (critical) or amber.
func RenderTower(w io.Writer, rows []web.Row, colour bool) error {
	var sb strings.Builder
	paint := func(text, code string, width int, left bool) {
		pad := strings.Repeat(" ", max(0, width-len([]rune(text))))
		if !left {
			sb.WriteString(pad)
		}
		if colour && code != "" {
			sb.WriteString(code + text + ansiReset)
		} else {
			sb.WriteString(text)
		}
		if left {
			sb.WriteString(pad)
		}
		sb.WriteByte(' ')
	}
	head := func(text string, width int, left bool) { paint(text, "", width, left) }
	head("P", 2, false)
	head("CAR", 8, true)
	head("LAP", 3, false)
	head("LAST", 8, false)
	head("BEST", 8, false)
	head("S1", 6, false)
	head("S2", 6, false)
	head("S3", 6, false)
	head("INT", 7, false)
	head("GAP", 7, false)
	head("PIT", 7, true)
	line := strings.TrimRight(sb.String(), " ")
	sb.Reset()
	if _, err := fmt.Fprintln(w, line); err != nil {
		return err
	}
	for _, r := range rows {
		paint(fmt.Sprint(r.Pos), "", 2, false)
		paint(carName(r), "", 8, true)
		paint(fmt.Sprint(r.Laps), "", 3, false)
		paint(lapTime(time.Duration(r.LastMs)*time.Millisecond), ansiOf(r.LastColour), 8, false)
		paint(lapTime(time.Duration(r.BestMs)*time.Millisecond), ansiOf(r.BestColour), 8, false)
		for i := range 3 {
			if i < len(r.Sectors) {
				s := r.Sectors[i]
				paint(seconds(time.Duration(s.Ms)*time.Millisecond), ansiOf(s.Colour), 6, false)
			} else {
				paint("-", "", 6, false)
			}
		}
		interval, gap := dash(r.Interval), dash(r.Gap)
		if r.Pos == 1 {
			interval, gap = "", ""
			if r.Laps > 0 {
				interval = "leader"
			}
		}
		paint(clip(interval, 7), "", 7, false)
		paint(clip(gap, 7), "", 7, false)
		switch {
		case r.InPit:
			paint("IN PIT", ansiPit, 7, true)
		case r.PitStops > 0:
			paint(fmt.Sprintf("%d stop%s", r.PitStops, map[bool]string{true: "s"}[r.PitStops > 1]), ansiDim, 7, true)
		default:
			paint("", "", 7, true)
		}
		if r.Alarm != "" { // column 80: the car has a raised alarm (RenderAlarms lists them)
			paint("!", ansiAlarm(r.Alarm), 1, true)
		}
		line := strings.TrimRight(sb.String(), " ")
		sb.Reset()
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}

// carName is the number and the driver's name (or the car id), in 8.
func carName(r web.Row) string {
	name := r.Driver
	if name == r.Car || name == "" {
		return clip(r.Car, 8)
	}
	if f := strings.Fields(name); len(f) > 1 {
		name = f[len(f)-1] // the surname, as timing screens show it
	}
	return clip(r.Number+" "+name, 8)
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// liveTail follows telemetry.live from its end and hands on the records
// of this run's session.
func (a *assembly) liveTail(ctx context.Context, out chan<- telemetry.Live) error {
	codec := telemetry.MustNewCodec()
	return a.follow(ctx, "pitwall-up-board-live", telemetry.TopicLive, func(m *sarama.ConsumerMessage) {
		var l telemetry.Live
		if codec.DecodeLive(m.Value, &l) != nil || l.Session != a.session {
			return
		}
		select {
		case out <- l:
		case <-ctx.Done():
		}
	})
}
