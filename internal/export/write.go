package export

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pitwall/pitwall/telemetry"
)

// crossingSlack is how far after the last frame a crossing still belongs
// to the export (a lap's end comes between its last frame and the next).
const crossingSlack = int64(2 * time.Second)

// DefaultMoTeCRate is the sample rate of a MoTeC export: every channel is
// held at its newest value on this grid.
const DefaultMoTeCRate = 100

// Write writes s in format (FormatMoTeC or FormatRaceChrono); rateHz is
// the MoTeC grid (0: DefaultMoTeCRate).
func Write(w io.Writer, s *Session, format string, rateHz int) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	switch format {
	case FormatMoTeC:
		if rateHz <= 0 {
			rateHz = DefaultMoTeCRate
		}
		writeMoTeC(bw, s, rateHz)
	case FormatRaceChrono:
		writeRaceChrono(bw, s)
	default:
		return fmt.Errorf("export: format %q: want %s or %s", format, FormatMoTeC, FormatRaceChrono)
	}
	return bw.Flush()
}

func q(s string) string { return `"` + strings.ReplaceAll(s, `"`, `'`) + `"` }

func num(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// writeMoTeC writes i2's CSV: the header block i2 exports (and imports),
// two blank lines, channel names, units, two blank lines, then one row per
// 1/rate s from the first frame, each channel at its newest value (its
// first one before that), every cell quoted. The crossings are the beacon
// markers, in seconds from the start.
func writeMoTeC(w *bufio.Writer, s *Session, rate int) {
	start, end := s.Frames[0].TimeNs, s.Frames[len(s.Frames)-1].TimeNs
	for _, c := range s.Crossings { // the lap's end, just after its last frame
		if c > end && c-end <= crossingSlack {
			end = c
		}
	}
	t0 := time.Unix(0, start).UTC()
	step := int64(time.Second) / int64(rate)
	n := int((end-start)/step) + 1
	dur := float64(end-start) / 1e9
	var beacons []string
	for _, c := range s.Crossings {
		if c > start && c <= end {
			beacons = append(beacons, fmt.Sprintf("%.3f", float64(c-start)/1e9))
		}
	}
	fmt.Fprintf(w, "%s,%s,,,%s,%s\n", q("Format"), q("MoTeC CSV File"), q("Workbook"), q(""))
	fmt.Fprintf(w, "%s,%s,,,%s,%s\n", q("Venue"), q(s.Venue), q("Worksheet"), q(""))
	fmt.Fprintf(w, "%s,%s,,,%s,%s\n", q("Vehicle"), q(s.Car), q("Vehicle Desc"), q(""))
	fmt.Fprintf(w, "%s,%s,,,%s,%s\n", q("Driver"), q(s.Driver), q("Engine ID"), q(""))
	fmt.Fprintf(w, "%s,%s\n", q("Device"), q("Pitwall"))
	fmt.Fprintf(w, "%s,%s,,,%s,%s\n", q("Comment"), q("exported by pitwall export"), q("Session"), q(s.Session))
	fmt.Fprintf(w, "%s,%s,,,%s,%s,%s\n", q("Log Date"), q(t0.Format("02/01/2006")), q("Origin Time"), q("0.000"), q("s"))
	fmt.Fprintf(w, "%s,%s,,,%s,%s,%s\n", q("Log Time"), q(t0.Format("15:04:05")), q("Start Time"), q("0.000"), q("s"))
	fmt.Fprintf(w, "%s,%s,%s,,%s,%s,%s\n", q("Sample Rate"), q(strconv.Itoa(rate)), q("Hz"), q("End Time"), q(fmt.Sprintf("%.3f", dur)), q("s"))
	fmt.Fprintf(w, "%s,%s,%s,,%s,%s,%s\n", q("Duration"), q(fmt.Sprintf("%.3f", dur)), q("s"), q("Start Distance"), q("0"), q("m"))
	fmt.Fprintf(w, "%s,%s,,,%s,%s,%s\n", q("Range"), q("entire outing"), q("End Distance"), q("0"), q("m"))
	fmt.Fprintf(w, "%s,%s\n\n\n", q("Beacon Markers"), q(strings.Join(beacons, " ")))

	chans := s.Catalog.Channels
	col := make(map[int32]int, len(chans))
	names, units := []string{q("Time")}, []string{q("s")}
	for i, c := range chans {
		col[c.ID] = i
		names = append(names, q(c.Name))
		units = append(units, q(c.Unit))
	}
	fmt.Fprintf(w, "%s\n%s\n\n\n", strings.Join(names, ","), strings.Join(units, ","))

	vals := make([]float64, len(chans))
	have := make([]bool, len(chans))
	for _, f := range s.Frames { // each channel's first value, held back to the start
		for _, sm := range f.Samples {
			if i, ok := col[sm.ID]; ok && !have[i] {
				vals[i], have[i] = sm.Value, true
			}
		}
	}
	fi := 0
	row := make([]string, len(chans)+1)
	for k := range n {
		t := start + int64(k)*step
		for ; fi < len(s.Frames) && s.Frames[fi].TimeNs <= t; fi++ {
			for _, sm := range s.Frames[fi].Samples {
				if i, ok := col[sm.ID]; ok {
					vals[i] = sm.Value
				}
			}
		}
		row[0] = q(fmt.Sprintf("%.3f", float64(t-start)/1e9))
		for i, v := range vals {
			row[i+1] = q(num(v))
		}
		w.WriteString(strings.Join(row, ","))
		w.WriteByte('\n')
	}
}

// raceChronoName maps Pitwall's channels to RaceChrono's column names,
// units (speeds in m/s) and sources.
var raceChronoName = map[string]struct {
	name, unit, source string
	scale              float64
}{
	telemetry.ChanGPSLat:     {"latitude", "deg", "100: gps", 1},
	telemetry.ChanGPSLon:     {"longitude", "deg", "100: gps", 1},
	telemetry.ChanGPSSpeed:   {"speed", "m/s", "100: gps", 1 / 3.6},
	telemetry.ChanGPSHeading: {"bearing", "deg", "100: gps", 1},
	telemetry.ChanSpeed:      {"speed", "m/s", "200: obd", 1 / 3.6},
	telemetry.ChanRPM:        {"rpm", "rpm", "200: obd", 1},
	telemetry.ChanThrottle:   {"throttle_position", "%", "200: obd", 1},
	telemetry.ChanGLat:       {"lateral_acc", "G", "calc", 1},
	telemetry.ChanGLong:      {"longitudinal_acc", "G", "calc", 1},
}

// writeRaceChrono writes RaceChrono's CSV export, format 3: the preamble,
// names, units and sources rows, then a row per frame (values of the
// channels sampled then, others empty), lap_number counting from each
// crossing, and a row of its own at each crossing.
func writeRaceChrono(w *bufio.Writer, s *Session) {
	start := s.Frames[0].TimeNs
	t0 := time.Unix(0, start).UTC()
	fmt.Fprintf(w, "This file is created using Pitwall, in the RaceChrono CSV export format.\n")
	fmt.Fprintf(w, "Format,3\nSession title,%s\nSession type,Lap timing\nTrack name,%s\nDriver name,%s\n", q(s.Session), q(s.Venue), q(s.Driver))
	fmt.Fprintf(w, "Created,%s\nNote,%s\n\n", t0.Format("02/01/2006,15:04"), q("car "+s.Car))
	chans := s.Catalog.Channels
	col := make(map[int32]int, len(chans))
	scale := make([]float64, len(chans))
	names := []string{"timestamp", "fragment_id", "lap_number", "elapsed_time"}
	units := []string{"unix time", "", "", "s"}
	sources := []string{"", "", "", ""}
	for i, c := range chans {
		col[c.ID] = i
		if m, ok := raceChronoName[c.Name]; ok {
			names, units, sources, scale[i] = append(names, m.name), append(units, m.unit), append(sources, m.source), m.scale
			continue
		}
		names, units, sources, scale[i] = append(names, c.Name), append(units, c.Unit), append(sources, "300: can"), 1
	}
	fmt.Fprintf(w, "%s\n%s\n%s\n", strings.Join(names, ","), strings.Join(units, ","), strings.Join(sources, ","))
	cross := append([]int64(nil), s.Crossings...)
	sort.Slice(cross, func(i, j int) bool { return cross[i] < cross[j] })
	lapAt := func(ns int64) string {
		i := sort.Search(len(cross), func(i int) bool { return cross[i] > ns })
		if i == 0 {
			return ""
		}
		return strconv.Itoa(int(s.FirstLap) + i - 1)
	}
	secs := func(ns int64) string { return fmt.Sprintf("%d.%03d", ns/1e9, ns%1e9/1e6) }
	cells := make([]string, len(chans))
	empty := strings.Repeat(",", len(chans))
	crossing := func(x int64) {
		fmt.Fprintf(w, "%s,0,%s,%.3f%s\n", secs(x), lapAt(x), float64(x-start)/1e9, empty)
	}
	c := 0
	for i, f := range s.Frames {
		for ; c < len(cross) && cross[c] <= f.TimeNs; c++ {
			if cross[c] < start-crossingSlack {
				continue
			}
			if i == 0 && c == 0 { // a reader sees a lap start where lap_number changes: give it a row before
				fmt.Fprintf(w, "%s,0,%s,%.3f%s\n", secs(cross[c]-int64(time.Millisecond)), lapAt(cross[c]-1), float64(cross[c]-start)/1e9-0.001, empty)
			}
			crossing(cross[c])
		}
		clear(cells)
		for _, sm := range f.Samples {
			if i, ok := col[sm.ID]; ok {
				cells[i] = num(sm.Value * scale[i])
			}
		}
		fmt.Fprintf(w, "%s,0,%s,%.3f,%s\n", secs(f.TimeNs), lapAt(f.TimeNs), float64(f.TimeNs-start)/1e9, strings.Join(cells, ","))
	}
	last := s.Frames[len(s.Frames)-1].TimeNs
	for ; c < len(cross) && cross[c]-last <= crossingSlack; c++ {
		crossing(cross[c])
	}
}
