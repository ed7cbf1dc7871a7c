package simulator

import (
	"fmt"
	"io"
	"strings"

	"github.com/pitwall/pitwall/telemetry"
)

// The truth CSV: one row per completed lap, in the order laps end.
//
//	car,lap,start_ns,end_ns,lap_time_s,s1_s,s2_s,s3_s,pit_lane
//	car01,1,1704067210482913000,1704067318211004000,107.728091000,35.120004000,...,false
//
// start_ns and end_ns are the interpolated start/finish crossings (ns since
// the Unix epoch); times in seconds carry all nine decimals, so the sector
// times sum exactly to the lap time. Every built-in track has three
// sectors.

// WriteTruthHeader writes the CSV header line.
func WriteTruthHeader(w io.Writer, sectors int) error {
	cols := []string{"car", "lap", "start_ns", "end_ns", "lap_time_s"}
	for i := range sectors {
		cols = append(cols, fmt.Sprintf("s%d_s", i+1))
	}
	cols = append(cols, "pit_lane")
	_, err := fmt.Fprintln(w, strings.Join(cols, ","))
	return err
}

// WriteTruthRow writes one lap.
func WriteTruthRow(w io.Writer, lap *telemetry.Lap) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s,%d,%d,%d,%s", lap.Car, lap.Lap, lap.StartNs, lap.EndNs, seconds(lap.EndNs-lap.StartNs))
	for _, s := range lap.SectorsNs {
		b.WriteString(",")
		b.WriteString(seconds(s))
	}
	fmt.Fprintf(&b, ",%t\n", lap.PitLane)
	_, err := io.WriteString(w, b.String())
	return err
}

// seconds formats ns as seconds with nine decimals, exactly.
func seconds(ns int64) string {
	sign := ""
	if ns < 0 {
		sign, ns = "-", -ns
	}
	return fmt.Sprintf("%s%d.%09d", sign, ns/1e9, ns%1e9)
}
