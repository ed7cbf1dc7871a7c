package up

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pitwall/pitwall/processors/lap"
	"github.com/pitwall/pitwall/telemetry"
)

// Board is the timing board: every car's laps as they complete. It is
// not safe for concurrent use.
type Board struct {
	cars map[string]*carState
}

// carState is what the board keeps of one car.
type carState struct {
	car      string
	laps     int32
	last     *telemetry.Lap
	best     time.Duration
	topSpeed float64
	ends     map[int32]int64 // lap number → end crossing (ns), for gaps
}

// Row is one line of the board, in position order.
type Row struct {
	// Pos is the position, from 1: most laps, then earliest over the line.
	Pos int
	// Car is the car id.
	Car string
	// Laps is how many laps the car completed.
	Laps int
	// Last and Best are the last and the best lap times (0: none yet).
	Last, Best time.Duration
	// Sectors are the last lap's sector times.
	Sectors []time.Duration
	// Gap is behind the leader: "" for the leader, "+1.234" on the same
	// lap, "+2 laps" when lapped.
	Gap string
	// TopSpeed is the highest top_speed of any lap, km/h (0: unknown).
	TopSpeed float64
	// Pit is true when the last lap went through the pit lane.
	Pit bool
}

// NewBoard returns a board that knows cars (more join as their laps
// arrive), so cars without a lap yet are listed too.
func NewBoard(cars []string) *Board {
	b := &Board{cars: map[string]*carState{}}
	for _, c := range cars {
		b.car(c)
	}
	return b
}

func (b *Board) car(id string) *carState {
	c := b.cars[id]
	if c == nil {
		c = &carState{car: id, ends: map[int32]int64{}}
		b.cars[id] = c
	}
	return c
}

// Add records a completed lap and reports whether it was new (a lap seen
// before, e.g. redelivered, is ignored).
func (b *Board) Add(l *telemetry.Lap) bool {
	c := b.car(l.Car)
	if _, seen := c.ends[l.Lap]; seen {
		return false
	}
	c.ends[l.Lap] = l.EndNs
	if l.Lap >= c.laps {
		c.laps = l.Lap
		cp := *l
		cp.SectorsNs = slices.Clone(l.SectorsNs)
		c.last = &cp
	}
	if t := l.LapTime(); c.best == 0 || t < c.best {
		c.best = t
	}
	for _, m := range l.Metrics {
		if m.Name == lap.MTopSpeed && m.Value > c.topSpeed {
			c.topSpeed = m.Value
		}
	}
	return true
}

// Laps returns how many laps car completed.
func (b *Board) Laps(car string) int {
	if c := b.cars[car]; c != nil {
		return int(c.laps)
	}
	return 0
}

// Rows returns the board in position order.
func (b *Board) Rows() []Row {
	cs := make([]*carState, 0, len(b.cars))
	for _, c := range b.cars {
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(x, y *carState) int {
		if x.laps != y.laps {
			return int(y.laps - x.laps)
		}
		if x.laps > 0 && x.ends[x.laps] != y.ends[y.laps] {
			if x.ends[x.laps] < y.ends[y.laps] {
				return -1
			}
			return 1
		}
		return strings.Compare(x.car, y.car)
	})
	rows := make([]Row, len(cs))
	for i, c := range cs {
		r := Row{Pos: i + 1, Car: c.car, Laps: int(c.laps), Best: c.best, TopSpeed: c.topSpeed}
		if c.last != nil {
			r.Last, r.Pit = c.last.LapTime(), c.last.PitLane
			for _, s := range c.last.SectorsNs {
				r.Sectors = append(r.Sectors, time.Duration(s))
			}
		}
		if i > 0 {
			r.Gap = gap(cs[0], c)
		}
		rows[i] = r
	}
	return rows
}

// gap is how far c is behind leader.
func gap(leader, c *carState) string {
	if c.laps == 0 {
		return ""
	}
	if down := leader.laps - c.laps; down > 0 {
		if down == 1 {
			return "+1 lap"
		}
		return fmt.Sprintf("+%d laps", down)
	}
	le, ok := leader.ends[c.laps]
	if !ok {
		return ""
	}
	return "+" + seconds(time.Duration(c.ends[c.laps]-le))
}

// Render writes the board as a table.
func (b *Board) Render(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "POS\tCAR\tLAPS\tLAST\tBEST\tS1\tS2\tS3\tGAP\tTOP SPEED\t")
	for _, r := range b.Rows() {
		sec := []string{"-", "-", "-"}
		for i, s := range r.Sectors {
			if i < len(sec) {
				sec[i] = seconds(s)
			} else {
				sec = append(sec, seconds(s))
			}
		}
		top := "-"
		if r.TopSpeed > 0 {
			top = fmt.Sprintf("%.1f km/h", r.TopSpeed)
		}
		gap := r.Gap
		if r.Pos == 1 && r.Laps > 0 {
			gap = "leader"
		}
		last := lapTime(r.Last)
		if r.Pit {
			last += " pit"
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Pos, r.Car, r.Laps, last, lapTime(r.Best),
			sec[0], sec[1], strings.Join(sec[2:], " "), dash(gap), top)
	}
	return tw.Flush()
}

// LapLine is the one-line form of a completed lap, for output that is
// not a terminal: "car01 lap 1 1:47.728 s1 35.120 s2 40.001 s3 32.607",
// with " pit" appended for a lap through the pit lane.
func LapLine(l *telemetry.Lap) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s lap %d %s", l.Car, l.Lap, lapTime(l.LapTime()))
	for i, s := range l.SectorsNs {
		fmt.Fprintf(&sb, " s%d %s", i+1, seconds(time.Duration(s)))
	}
	if l.PitLane {
		sb.WriteString(" pit")
	}
	return sb.String()
}

// lapTime formats d as m:ss.mmm ("-" for none).
func lapTime(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	ms := d.Round(time.Millisecond).Milliseconds()
	return fmt.Sprintf("%d:%02d.%03d", ms/60000, ms/1000%60, ms%1000)
}

// seconds formats d as s.mmm.
func seconds(d time.Duration) string {
	ms := d.Round(time.Millisecond).Milliseconds()
	sign := ""
	if ms < 0 {
		sign, ms = "-", -ms
	}
	return fmt.Sprintf("%s%d.%03d", sign, ms/1000, ms%1000)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
